package isoswitch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Action is something only some operators may do.
type Action string

// The actions an Authoriser is asked about.
const (
	ActionSale     Action = "sale"     // also payment-code sale, QR order, balance inquiry
	ActionVoid     Action = "void"     // void a transaction of the current batch
	ActionRefund   Action = "refund"   // refund a transaction of an earlier batch
	ActionCancel   Action = "cancel"   // cancel a pre-authorisation or QR order
	ActionSettle   Action = "settle"   // close the batch
	ActionOverride Action = "override" // give up a stuck reversal
	ActionAdmin    Action = "admin"    // manage operators
)

// Role groups the actions an operator may take.
type Role string

// The roles of a CUP terminal. Codes are not tied to roles: "00" and "99" are
// conventions the application may follow, not rules enforced here.
const (
	RoleCashier    Role = "cashier"    // sale only
	RoleSupervisor Role = "supervisor" // every counter action, and admin of cashiers and itself
	RoleAdmin      Role = "admin"      // admin of every operator, no money actions
)

// roleActions is the permission table, fixed on purpose so that what a role
// means cannot drift between terminals:
//
//   - cashier: sale only. Undoing money (void, refund, cancel), closing the
//     day and abandoning a reversal need a second person; that is the control
//     CUP's supervisor password exists for.
//   - supervisor: every counter action and admin. The supervisor is who the
//     shop calls when something must be undone or a cashier is locked out,
//     but it may administer only cashiers and itself (see SetPassword, Remove),
//     so it cannot take over the administrator's account.
//   - admin: admin only, over every operator, including resetting a forgotten
//     supervisor password. The system administrator sets the terminal up; it
//     is kept away from money, settle included, to separate the duties of
//     configuring the terminal and handling the till.
var roleActions = map[Role]map[Action]bool{
	RoleCashier: {ActionSale: true},
	RoleSupervisor: {ActionSale: true, ActionVoid: true, ActionRefund: true, ActionCancel: true,
		ActionSettle: true, ActionOverride: true, ActionAdmin: true},
	RoleAdmin: {ActionAdmin: true},
}

// Allows reports whether role r may take action a, for example to grey out
// menu entries before asking for a password.
func (r Role) Allows(a Action) bool { return roleActions[r][a] }

// Credentials is what the operator types at the terminal. Every way of
// printing it (fmt verbs, slog, encoding/json) masks the password, so that
// logging a request by accident cannot leak it.
type Credentials struct {
	Operator string
	Password string `json:"-"`
}

const mask = "****" // fixed length, so the mask does not reveal the password's length

// String returns "Credentials{Operator:01 Password:****}".
func (c Credentials) String() string {
	return "Credentials{Operator:" + c.Operator + " Password:" + mask + "}"
}

// Format prints the masked String for every verb, %#v and %+v included.
func (c Credentials) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue makes slog log the operator and a masked password.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("operator", c.Operator), slog.String("password", mask))
}

var (
	// ErrUnauthorised is matched (errors.Is) by every *AuthError.
	ErrUnauthorised = errors.New("isoswitch: operator not authorised")
	// ErrNoSuchOperator: SetPassword or Remove named a code that does not exist.
	ErrNoSuchOperator = errors.New("isoswitch: no such operator")
)

// AuthError says why an operator was refused. It never holds the password.
// Operator is empty when the code typed was not a well-formed code, because
// then it may well be a password typed into the wrong field.
type AuthError struct {
	Operator string
	Action   Action
	Reason   string // "unknown operator", "wrong password", "locked until 10:31:00", "role cashier may not void"
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("isoswitch: operator %q may not %s: %s", e.Operator, e.Action, e.Reason)
}

// Is makes errors.Is(err, ErrUnauthorised) true.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthorised }

// Authoriser decides whether an operator may take an action and returns the
// operator code to record on the journal. Implementations must be safe for
// concurrent use.
type Authoriser interface {
	Authorise(ctx context.Context, c Credentials, a Action) (Operator string, err error)
}

// Operators is the built-in Authoriser: operators with roles and bcrypt
// password hashes, locked for a while after repeated failures. The zero value
// is usable and has the defaults of NewOperators.
type Operators struct {
	mu       sync.Mutex // guards accounts
	accounts map[string]*account

	maxFailures int
	lockFor     time.Duration
	now         func() time.Time
	cost        int

	dummyOnce sync.Once
	dummy     []byte // hash checked for unknown codes so timing does not reveal which codes exist
}

// account is one operator. Its mutex is held across the bcrypt check, so
// concurrent guesses at one operator are taken one at a time and cannot get
// past the lockout; other operators are not held up. role never changes.
type account struct {
	mu          sync.Mutex
	role        Role
	hash        []byte
	failures    int
	lockedUntil time.Time
	removed     bool
}

// OperatorsOption configures NewOperators.
type OperatorsOption func(*Operators)

// WithLockout locks an operator for lockFor after maxFailures wrong passwords
// in a row (default 3 and 15 minutes). Non-positive values keep the default,
// so a zero cannot switch the lockout off by accident.
func WithLockout(maxFailures int, lockFor time.Duration) OperatorsOption {
	return func(o *Operators) { o.maxFailures, o.lockFor = maxFailures, lockFor }
}

// WithClock sets the clock used for lockouts (default time.Now).
func WithClock(now func() time.Time) OperatorsOption { return func(o *Operators) { o.now = now } }

// WithBcryptCost sets the cost of new hashes (default bcrypt.DefaultCost);
// costs outside bcrypt's range keep the default.
func WithBcryptCost(cost int) OperatorsOption { return func(o *Operators) { o.cost = cost } }

// NewOperators returns an empty operator list.
func NewOperators(opts ...OperatorsOption) *Operators {
	o := &Operators{}
	for _, opt := range opts {
		opt(o)
	}
	o.dummyHash() // pay for it now rather than on the first unknown code
	return o
}

func (o *Operators) lockout() (int, time.Duration) {
	return cmp.Or(max(o.maxFailures, 0), 3), cmp.Or(max(o.lockFor, 0), 15*time.Minute)
}

func (o *Operators) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

func (o *Operators) hash(password string) ([]byte, error) {
	cost := o.cost
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, fmt.Errorf("isoswitch: hashing password: %w", err)
	}
	return h, nil
}

func (o *Operators) dummyHash() []byte {
	o.dummyOnce.Do(func() { o.dummy, _ = o.hash("no operator has this password") })
	return o.dummy
}

func (o *Operators) lookup(code string) *account {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accounts[code] // nil if unknown, also on a zero Operators
}

// validCode reports whether code is 1-3 printable ASCII characters. Spaces
// and non-ASCII are refused because the code is printed in fixed-width
// journal and receipt fields.
func validCode(code string) bool {
	if len(code) < 1 || len(code) > 3 {
		return false
	}
	for i := range len(code) {
		if code[i] < '!' || code[i] > '~' {
			return false
		}
	}
	return true
}

// checkPassword enforces at least 4 characters (CUP cashier passwords are 4
// digits) and, for supervisor and admin, refuses the well-known factory
// defaults "0000" and "123456": CUP ships the supervisor password as 123456,
// and it must be changed before the terminal is used.
func checkPassword(role Role, password string) error {
	if utf8.RuneCountInString(password) < 4 {
		return errors.New("isoswitch: password must be at least 4 characters")
	}
	if role != RoleCashier && (password == "0000" || password == "123456") {
		return fmt.Errorf("isoswitch: a factory default password is not allowed for role %s", role)
	}
	return nil
}

// Add adds an operator, keeping only the bcrypt hash of its password. It asks
// for no credentials because it is how a terminal is first provisioned; an
// application offering "add operator" at the terminal should first call
// Authorise with ActionAdmin.
func (o *Operators) Add(code string, role Role, password string) error {
	if !validCode(code) {
		return errors.New("isoswitch: operator code must be 1-3 printable ASCII characters")
	}
	if roleActions[role] == nil {
		return fmt.Errorf("isoswitch: unknown role %q", role)
	}
	if err := checkPassword(role, password); err != nil {
		return err
	}
	h, err := o.hash(password)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.accounts[code] != nil {
		return fmt.Errorf("isoswitch: operator %q already exists", code)
	}
	if o.accounts == nil {
		o.accounts = make(map[string]*account)
	}
	o.accounts[code] = &account{role: role, hash: h}
	return nil
}

// Authorise checks c's password and that its role allows a, and returns the
// operator code to record on the journal. A wrong password counts towards the
// lockout; a right one clears the count. While locked, even the right
// password is refused, and the attempt neither counts nor extends the lock.
// Unknown codes cost one bcrypt comparison like known ones.
func (o *Operators) Authorise(ctx context.Context, c Credentials, a Action) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	deny := func(reason string) error {
		code := c.Operator
		if !validCode(code) {
			code = ""
		}
		return &AuthError{Operator: code, Action: a, Reason: reason}
	}
	acc := o.lookup(c.Operator)
	if acc == nil {
		_ = bcrypt.CompareHashAndPassword(o.dummyHash(), []byte(c.Password))
		return "", deny("unknown operator")
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if acc.removed {
		return "", deny("unknown operator")
	}
	if until := acc.lockedUntil; o.clock().Before(until) {
		return "", deny("locked until " + until.Format(time.TimeOnly))
	}
	if bcrypt.CompareHashAndPassword(acc.hash, []byte(c.Password)) != nil {
		acc.failures++
		if limit, lockFor := o.lockout(); acc.failures >= limit {
			acc.failures, acc.lockedUntil = 0, o.clock().Add(lockFor)
		}
		return "", deny("wrong password")
	}
	acc.failures, acc.lockedUntil = 0, time.Time{}
	if !acc.role.Allows(a) {
		return "", deny(fmt.Sprintf("role %s may not %s", acc.role, a))
	}
	return c.Operator, nil
}

// administer authorises admin for ActionAdmin over target. A supervisor may
// administer only cashiers and itself; an admin may administer anyone.
func (o *Operators) administer(ctx context.Context, admin Credentials, target string) (*account, string, error) {
	who, err := o.Authorise(ctx, admin, ActionAdmin)
	if err != nil {
		return nil, "", err
	}
	actor, acc := o.lookup(who), o.lookup(target)
	if acc == nil {
		return nil, "", fmt.Errorf("%w: %q", ErrNoSuchOperator, target)
	}
	if actor == nil { // removed since Authorise
		return nil, "", &AuthError{Operator: who, Action: ActionAdmin, Reason: "unknown operator"}
	}
	if actor.role != RoleAdmin && target != who && acc.role != RoleCashier {
		return nil, "", &AuthError{Operator: who, Action: ActionAdmin,
			Reason: fmt.Sprintf("role %s may not administer %s %s", actor.role, acc.role, target)}
	}
	return acc, who, nil
}

// SetPassword sets code's password, on the authority of admin (ActionAdmin).
// It also clears code's failures and lock: this is how a supervisor unlocks a
// cashier who has forgotten their password.
func (o *Operators) SetPassword(ctx context.Context, admin Credentials, code, newPassword string) error {
	acc, _, err := o.administer(ctx, admin, code)
	if err != nil {
		return err
	}
	if err := checkPassword(acc.role, newPassword); err != nil {
		return err
	}
	h, err := o.hash(newPassword)
	if err != nil {
		return err
	}
	acc.mu.Lock()
	defer acc.mu.Unlock()
	if acc.removed {
		return fmt.Errorf("%w: %q", ErrNoSuchOperator, code)
	}
	acc.hash, acc.failures, acc.lockedUntil = h, 0, time.Time{}
	return nil
}

// Remove removes code, on the authority of admin (ActionAdmin). An operator
// may not remove itself, so the terminal always keeps someone able to
// administer it.
func (o *Operators) Remove(ctx context.Context, admin Credentials, code string) error {
	acc, who, err := o.administer(ctx, admin, code)
	if err != nil {
		return err
	}
	if code == who {
		return errors.New("isoswitch: an operator may not remove itself")
	}
	o.mu.Lock()
	if o.accounts[code] == acc {
		delete(o.accounts, code)
	}
	o.mu.Unlock()
	acc.mu.Lock()
	acc.removed = true
	acc.mu.Unlock()
	return nil
}

package isoswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Passwords used by the tests; every output is scanned for them.
const (
	cashierPW    = "4711"
	cashier2PW   = "8642"
	supervisorPW = "s3cret-sup"
	adminPW      = "adm1n-pass"
)

var allPasswords = []string{cashierPW, cashier2PW, supervisorPW, adminPW}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestOperators returns the CUP layout: cashiers 01 and 02, supervisor 00
// and admin 99, at bcrypt.MinCost with a fake clock at 10:16:00 UTC.
func newTestOperators(t *testing.T, opts ...OperatorsOption) (*Operators, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2024, 5, 6, 10, 16, 0, 0, time.UTC)}
	o := NewOperators(append([]OperatorsOption{WithBcryptCost(bcrypt.MinCost), WithClock(clk.Now)}, opts...)...)
	for _, op := range []struct {
		code string
		role Role
		pw   string
	}{{"01", RoleCashier, cashierPW}, {"02", RoleCashier, cashier2PW}, {"00", RoleSupervisor, supervisorPW}, {"99", RoleAdmin, adminPW}} {
		if err := o.Add(op.code, op.role, op.pw); err != nil {
			t.Fatalf("Add(%q): %v", op.code, err)
		}
	}
	return o, clk
}

var (
	cashier    = Credentials{Operator: "01", Password: cashierPW}
	cashier2   = Credentials{Operator: "02", Password: cashier2PW}
	supervisor = Credentials{Operator: "00", Password: supervisorPW}
	admin      = Credentials{Operator: "99", Password: adminPW}
)

// wantAuthError checks err is an *AuthError with the reason, matching
// ErrUnauthorised, and that its message holds no password.
func wantAuthError(t *testing.T, err error, operator string, action Action, reason string) {
	t.Helper()
	if !errors.Is(err, ErrUnauthorised) {
		t.Fatalf("err = %v, want ErrUnauthorised", err)
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T, want *AuthError", err)
	}
	if ae.Operator != operator || ae.Action != action || ae.Reason != reason {
		t.Fatalf("AuthError = %+v, want {%s %s %s}", *ae, operator, action, reason)
	}
	noPasswords(t, "Error()", err.Error())
}

func noPasswords(t *testing.T, what, s string, extra ...string) {
	t.Helper()
	for _, pw := range append(allPasswords, extra...) {
		if strings.Contains(s, pw) {
			t.Fatalf("%s contains password %q: %s", what, pw, s)
		}
	}
}

func TestRoleActionTable(t *testing.T) {
	o, _ := newTestOperators(t)
	all := []Action{ActionSale, ActionVoid, ActionRefund, ActionCancel, ActionSettle, ActionOverride, ActionAdmin, Action("reboot")}
	// Written out by hand rather than read from roleActions, so a change to
	// the table has to be made twice.
	allowed := map[Role][]Action{
		RoleCashier:    {ActionSale},
		RoleSupervisor: {ActionSale, ActionVoid, ActionRefund, ActionCancel, ActionSettle, ActionOverride, ActionAdmin},
		RoleAdmin:      {ActionAdmin},
	}
	creds := map[Role]Credentials{RoleCashier: cashier, RoleSupervisor: supervisor, RoleAdmin: admin}
	for role, c := range creds {
		for _, a := range all {
			t.Run(string(role)+"/"+string(a), func(t *testing.T) {
				want := false
				for _, x := range allowed[role] {
					want = want || x == a
				}
				if got := role.Allows(a); got != want {
					t.Errorf("%s.Allows(%s) = %v, want %v", role, a, got, want)
				}
				got, err := o.Authorise(context.Background(), c, a)
				if want {
					if err != nil || got != c.Operator {
						t.Fatalf("Authorise = %q, %v; want %q, nil", got, err, c.Operator)
					}
					return
				}
				if got != "" {
					t.Errorf("refused Authorise returned operator %q", got)
				}
				wantAuthError(t, err, c.Operator, a, fmt.Sprintf("role %s may not %s", role, a))
			})
		}
	}
	if Role("nobody").Allows(ActionSale) {
		t.Error("unknown role allows sale")
	}
}

func TestWrongPassword(t *testing.T) {
	o, _ := newTestOperators(t)
	got, err := o.Authorise(context.Background(), Credentials{Operator: "00", Password: cashierPW}, ActionVoid)
	if got != "" {
		t.Errorf("operator = %q, want empty", got)
	}
	wantAuthError(t, err, "00", ActionVoid, "wrong password")
}

func TestUnknownOperator(t *testing.T) {
	o, _ := newTestOperators(t)
	_, err := o.Authorise(context.Background(), Credentials{Operator: "42", Password: cashierPW}, ActionSale)
	wantAuthError(t, err, "42", ActionSale, "unknown operator")
	// A password typed into the operator field is not a well-formed code and
	// must not be echoed.
	_, err = o.Authorise(context.Background(), Credentials{Operator: supervisorPW}, ActionVoid)
	wantAuthError(t, err, "", ActionVoid, "unknown operator")
	_, err = o.Authorise(context.Background(), Credentials{}, ActionSale)
	wantAuthError(t, err, "", ActionSale, "unknown operator")
}

func TestUnknownOperatorSpendsBcryptWork(t *testing.T) {
	o := NewOperators(WithBcryptCost(bcrypt.MinCost))
	if cost, err := bcrypt.Cost(o.dummyHash()); err != nil || cost != bcrypt.MinCost {
		t.Fatalf("dummy hash cost = %d, %v; want %d", cost, err, bcrypt.MinCost)
	}
}

func TestLockout(t *testing.T) {
	o, clk := newTestOperators(t)
	ctx := context.Background()
	bad := Credentials{Operator: "01", Password: "0000"}
	for range 3 {
		_, err := o.Authorise(ctx, bad, ActionSale)
		wantAuthError(t, err, "01", ActionSale, "wrong password")
	}
	// Locked at 10:16:00 for 15 minutes: even the right password is refused.
	_, err := o.Authorise(ctx, cashier, ActionSale)
	wantAuthError(t, err, "01", ActionSale, "locked until 10:31:00")
	// Attempts while locked do not extend the lock.
	clk.Advance(10 * time.Minute)
	_, err = o.Authorise(ctx, bad, ActionSale)
	wantAuthError(t, err, "01", ActionSale, "locked until 10:31:00")
	// Other operators are not affected.
	if _, err := o.Authorise(ctx, cashier2, ActionSale); err != nil {
		t.Fatalf("other cashier: %v", err)
	}
	clk.Advance(5*time.Minute - time.Second)
	_, err = o.Authorise(ctx, cashier, ActionSale)
	wantAuthError(t, err, "01", ActionSale, "locked until 10:31:00")
	clk.Advance(time.Second) // 10:31:00: the lock has expired
	if got, err := o.Authorise(ctx, cashier, ActionSale); err != nil || got != "01" {
		t.Fatalf("after lock expiry: %q, %v", got, err)
	}
}

func TestLockoutAfterExpiryStartsAfresh(t *testing.T) {
	o, clk := newTestOperators(t)
	ctx := context.Background()
	bad := Credentials{Operator: "01", Password: "9999"}
	for range 3 {
		o.Authorise(ctx, bad, ActionSale)
	}
	clk.Advance(15 * time.Minute)
	for range 2 {
		_, err := o.Authorise(ctx, bad, ActionSale)
		wantAuthError(t, err, "01", ActionSale, "wrong password")
	}
	_, err := o.Authorise(ctx, bad, ActionSale)
	wantAuthError(t, err, "01", ActionSale, "wrong password")
	_, err = o.Authorise(ctx, cashier, ActionSale)
	wantAuthError(t, err, "01", ActionSale, "locked until 10:46:00")
}

func TestWithLockout(t *testing.T) {
	o, _ := newTestOperators(t, WithLockout(5, time.Hour))
	ctx := context.Background()
	bad := Credentials{Operator: "00", Password: "nope"}
	for range 4 {
		o.Authorise(ctx, bad, ActionVoid)
	}
	if _, err := o.Authorise(ctx, supervisor, ActionVoid); err != nil {
		t.Fatalf("after 4 of 5 failures: %v", err)
	}
	for range 5 {
		o.Authorise(ctx, bad, ActionVoid)
	}
	_, err := o.Authorise(ctx, supervisor, ActionVoid)
	wantAuthError(t, err, "00", ActionVoid, "locked until 11:16:00")

	// Non-positive values keep the defaults rather than disabling the lockout.
	o, _ = newTestOperators(t, WithLockout(0, 0))
	for range 3 {
		o.Authorise(ctx, bad, ActionVoid)
	}
	_, err = o.Authorise(ctx, supervisor, ActionVoid)
	wantAuthError(t, err, "00", ActionVoid, "locked until 10:31:00")
}

func TestSuccessResetsFailures(t *testing.T) {
	o, _ := newTestOperators(t)
	ctx := context.Background()
	bad := Credentials{Operator: "01", Password: "1111"}
	for round := range 3 {
		for range 2 {
			o.Authorise(ctx, bad, ActionSale)
		}
		if _, err := o.Authorise(ctx, cashier, ActionSale); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// A right password for an action the role may not take still proves the
	// password, so it resets the count too.
	for range 2 {
		o.Authorise(ctx, bad, ActionSale)
	}
	_, err := o.Authorise(ctx, cashier, ActionVoid)
	wantAuthError(t, err, "01", ActionVoid, "role cashier may not void")
	for range 2 {
		o.Authorise(ctx, bad, ActionSale)
	}
	if _, err := o.Authorise(ctx, cashier, ActionSale); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentAuthorise(t *testing.T) {
	o, _ := newTestOperators(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, a := []Credentials{cashier, cashier2, supervisor, admin}[i%4], []Action{ActionSale, ActionSale, ActionVoid, ActionAdmin}[i%4]
			for range 5 {
				if got, err := o.Authorise(ctx, c, a); err != nil || got != c.Operator {
					errs <- fmt.Errorf("%s: %q, %v", c, got, err)
					return
				}
			}
			if i%10 == 0 {
				if _, err := json.Marshal(o); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Concurrent guesses at one operator are checked one at a time, so exactly
// maxFailures of them get a password check and the rest meet the lock.
func TestConcurrentGuessesCannotBeatLockout(t *testing.T) {
	o, _ := newTestOperators(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	reasons := map[string]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := o.Authorise(ctx, Credentials{Operator: "00", Password: fmt.Sprintf("guess%d", i)}, ActionVoid)
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Errorf("err = %v", err)
				return
			}
			mu.Lock()
			reasons[ae.Reason]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if reasons["wrong password"] != 3 || reasons["locked until 10:31:00"] != 47 {
		t.Errorf("reasons = %v, want 3 wrong passwords and 47 locked", reasons)
	}
}

func TestConcurrentAdministration(t *testing.T) {
	o, _ := newTestOperators(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		code := fmt.Sprintf("c%d", i)
		if err := o.Add(code, RoleCashier, "1234"); err != nil {
			t.Fatal(err)
		}
		wg.Add(3)
		go func() { defer wg.Done(); o.Authorise(ctx, Credentials{Operator: code, Password: "1234"}, ActionSale) }()
		go func() { defer wg.Done(); o.SetPassword(ctx, supervisor, code, "5678") }()
		go func() { defer wg.Done(); o.Remove(ctx, admin, code) }()
	}
	wg.Wait()
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"c1`) {
		t.Errorf("removed operators still exported: %s", data)
	}
}

func TestAuthErrorIsAndAs(t *testing.T) {
	err := error(&AuthError{Operator: "01", Action: ActionRefund, Reason: "role cashier may not refund"})
	wrapped := fmt.Errorf("refund aborted: %w", err)
	if !errors.Is(wrapped, ErrUnauthorised) {
		t.Error("errors.Is(wrapped, ErrUnauthorised) = false")
	}
	var ae *AuthError
	if !errors.As(wrapped, &ae) || ae.Action != ActionRefund {
		t.Errorf("errors.As: %v", ae)
	}
	if errors.Is(wrapped, ErrNoSuchOperator) {
		t.Error("AuthError matches ErrNoSuchOperator")
	}
	if got, want := err.Error(), `isoswitch: operator "01" may not refund: role cashier may not refund`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestCancelledContext(t *testing.T) {
	o, _ := newTestOperators(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Authorise(ctx, supervisor, ActionVoid); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// A cancelled attempt is not a failure.
	for range 3 {
		o.Authorise(ctx, Credentials{Operator: "00", Password: "bad"}, ActionVoid)
	}
	if _, err := o.Authorise(context.Background(), supervisor, ActionVoid); err != nil {
		t.Fatal(err)
	}
}

func TestZeroOperators(t *testing.T) {
	var o Operators
	ctx := context.Background()
	if _, err := o.Authorise(ctx, cashier, ActionSale); !errors.Is(err, ErrUnauthorised) {
		t.Fatalf("empty: %v", err)
	}
	if err := o.Add("01", RoleCashier, cashierPW); err != nil {
		t.Fatal(err)
	}
	if got, err := o.Authorise(ctx, cashier, ActionSale); err != nil || got != "01" {
		t.Fatalf("%q, %v", got, err)
	}
	data, _ := json.Marshal(&o)
	if !strings.Contains(string(data), `"$2a$10$`) {
		t.Errorf("zero value did not hash at the default cost: %s", data)
	}
}

func TestOperatorsIsAuthoriser(t *testing.T) {
	var _ Authoriser = (*Operators)(nil)
}

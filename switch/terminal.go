package isoswitch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// Config is what a Terminal cannot do without.
type Config struct {
	Dialect   iso.Dialect
	Addr      string // host:port
	Terminal  iso.TerminalID
	Merchant  iso.MerchantID
	MasterKey []byte // terminal master key (TMK): working keys arrive under it
	Journal   *reversal.Journal
}

// Option configures a Terminal.
type Option func(*Terminal)

// WithTimeout sets the reply deadline of every request (default 30 s, the
// CUP reference parameter).
func WithTimeout(d time.Duration) Option { return func(t *Terminal) { t.timeout = d } }

// WithPersistentConnection keeps one connection open, sends an echo when it
// has been idle for keepAlive, reconnects with backoff when it drops and
// signs on again on every new connection. This is the default, with a
// keep-alive of 60 s.
func WithPersistentConnection(keepAlive time.Duration) Option {
	return func(t *Terminal) { t.perTransaction, t.keepAlive = false, keepAlive }
}

// WithDialPerTransaction opens a connection for each request and closes it
// after the reply, as dial-up and some GPRS hosts expect.
func WithDialPerTransaction() Option { return func(t *Terminal) { t.perTransaction = true } }

// WithTLS dials the host over TLS.
func WithTLS(cfg *tls.Config) Option { return func(t *Terminal) { t.tls = cfg } }

// WithLogger sets the logger; values it logs are masked.
func WithLogger(l *slog.Logger) Option { return func(t *Terminal) { t.log = l } }

// WithTrace calls trace with every message sent ("send") and received
// ("recv"), for debugging; iso.Message prints masked.
func WithTrace(trace func(direction string, m *iso.Message)) Option {
	return func(t *Terminal) { t.trace = trace }
}

// WithReversalPolicy sets how hard the engine tries (reversal.Policy);
// its Timeout defaults to the terminal's, its unset limits to the
// dialect's (iso.Rules.Recovery).
func WithReversalPolicy(p reversal.Policy) Option { return func(t *Terminal) { t.policy = p } }

// WithKeyScheme chooses the working keys sign-on asks for (default
// double-length DES).
func WithKeyScheme(s iso.KeyScheme) Option { return func(t *Terminal) { t.scheme = s } }

// WithCurrency sets the currency an empty batch settles in (default CNY);
// a batch with transactions settles in theirs.
func WithCurrency(c iso.Currency) Option { return func(t *Terminal) { t.currency = c } }

// WithAuthoriser sets who may void, refund, cancel, settle and override.
func WithAuthoriser(a Authoriser) Option { return func(t *Terminal) { t.auth = a } }

// Terminal is a POS terminal's session with its acquirer host. It is safe
// for concurrent use.
type Terminal struct {
	cfg            Config
	timeout        time.Duration
	perTransaction bool
	keepAlive      time.Duration
	tls            *tls.Config
	log            *slog.Logger
	trace          func(string, *iso.Message)
	policy         reversal.Policy
	scheme         iso.KeyScheme
	auth           Authoriser
	currency       iso.Currency
	notices        func(iso.HostRequirement)
	clock          func() time.Time
	engine         *reversal.Engine
	stats          counters

	mu        sync.Mutex
	conn      *hostConn
	lastDial  time.Time
	dialFails int
	keys      *iso.WorkingKeys
	mac       iso.MAC
	operator  iso.OperatorCode // who signed on
	clockSkew time.Duration    // host time minus local time, from the last sign-on
	resignOn  bool             // the host asked for a new sign-on
	// batchMismatch is what the last sign-on found of the host's batch
	// number, when it differs from an open batch with transactions.
	batchMismatch *BatchMismatch
	closed        bool
	// unreported are records a background drain left unconfirmed; the
	// next call that drains reports them.
	unreported []reversal.Record

	undoMu sync.Mutex // voids, refunds and cancels check and act one at a time
	echoMu sync.Mutex // one echo outstanding: a CUP echo has no STAN to tell two apart
	// drainMu makes a drain and the report of what it left unconfirmed one
	// step, so a call cannot slip between a background drain and its note.
	drainMu sync.Mutex

	// Recoveries started in the background after an unknown outcome; Close
	// stops and waits for them.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
}

// WithHostNotices calls notice with every processing requirement a CUP
// host puts in a reply header other than RequireSignOn, which the terminal
// acts on itself (it signs on again before its next request). The others
// (download parameters, CA public keys, IC parameters or the blacklist,
// upload the terminal status, TMS download, and unassigned values) are
// tasks for the application; posswitch has no message for them. A
// requirement never changes the outcome of the transaction whose reply
// carried it. notice runs on its own goroutine, once per reply, and must
// be safe for concurrent use. Without this option they are logged.
func WithHostNotices(notice func(iso.HostRequirement)) Option {
	return func(t *Terminal) { t.notices = notice }
}

// onRequirement is called by the connection's read loop; it must not block.
func (t *Terminal) onRequirement(r iso.HostRequirement) {
	if r == iso.RequireSignOn {
		t.mu.Lock()
		t.resignOn = true
		t.mu.Unlock()
		return
	}
	t.log.Info("host processing requirement", "requirement", r.String())
	if t.notices != nil {
		go t.notices(r)
	}
}

// New checks the configuration and returns a terminal. It does not
// connect: call Start. A dialect whose messages carry the PAN after the
// fact (iso.Rules.StoredPAN: CUP) needs a journal opened with a data key;
// without one New fails with ErrDataKeyRequired.
func New(cfg Config, opts ...Option) (*Terminal, error) {
	switch {
	case cfg.Dialect == nil:
		return nil, &iso.FieldError{Field: "Config.Dialect", Reason: "required"}
	case cfg.Journal == nil:
		return nil, &iso.FieldError{Field: "Config.Journal", Reason: "required"}
	case cfg.Addr == "":
		return nil, &iso.FieldError{Field: "Config.Addr", Reason: "required"}
	}
	if err := cfg.Terminal.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Merchant.Validate(); err != nil {
		return nil, err
	}
	if n := len(cfg.MasterKey); n != 8 && n != 16 && n != 24 {
		return nil, &iso.FieldError{Field: "Config.MasterKey", Reason: "must be 8, 16 or 24 bytes"}
	}
	if cfg.Dialect.Rules().StoredPAN && !cfg.Journal.HasDataKey() {
		return nil, fmt.Errorf("%w (dialect %s)", ErrDataKeyRequired, cfg.Dialect.Name())
	}
	t := &Terminal{cfg: cfg, timeout: 30 * time.Second, keepAlive: 60 * time.Second, scheme: iso.KeysDoubleDES, currency: iso.CNY,
		log: slog.New(slog.DiscardHandler), clock: time.Now}
	for _, o := range opts {
		o(t)
	}
	if t.policy.Timeout == 0 {
		t.policy.Timeout = t.timeout
	}
	t.engine = reversal.NewEngine(cfg.Journal, cfg.Dialect, engineSender{t}, t.policy)
	t.bgCtx, t.bgCancel = context.WithCancel(context.Background())
	return t, nil
}

// Start recovers what a crash left unknown (every record still prepared is
// reversed), signs on and drains pending reversals. A terminal that cannot
// reach its host can still Start later; the error says why. Recoveries
// that end unconfirmed come back as a *reversal.UnconfirmedError; the
// terminal is started and usable.
func (t *Terminal) Start(ctx context.Context, op iso.OperatorCode) error {
	if _, err := t.cfg.Journal.RecoverPrepared(); err != nil {
		return err
	}
	if err := t.SignOn(ctx, op); err != nil {
		return err
	}
	return t.drain(ctx)
}

// Close signs off nothing, stops the recoveries it started in the
// background (waiting for them), and closes the connection; pending
// requests end with ErrConnectionLost and their records are recovered by
// the next Start. The journal is the caller's to close, after Close.
func (t *Terminal) Close() error {
	t.mu.Lock()
	c := t.conn
	t.conn, t.closed = nil, true
	t.mu.Unlock()
	t.bgCancel()
	if c != nil {
		c.close()
	}
	t.bg.Wait()
	return nil
}

// now is the terminal's idea of the host's local time.
func (t *Terminal) now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clock().Add(t.clockSkew)
}

// envelope is what a request carries besides its content: the IDs, the
// trace, the time, and the session's key scheme and track encrypter (the
// working keys of the last sign-on, when it delivered a track-data key).
func (t *Terminal) envelope(stan iso.STAN, batch iso.BatchNumber, op iso.OperatorCode) iso.Envelope {
	t.mu.Lock()
	keys, skew := t.keys, t.clockSkew
	t.mu.Unlock()
	env := iso.Envelope{Terminal: t.cfg.Terminal, Merchant: t.cfg.Merchant, STAN: stan, Batch: batch,
		Time: time.Now().Add(skew), Operator: op, KeyScheme: t.scheme}
	if keys != nil && len(keys.TDK) != 0 {
		env.Tracks = keys
	}
	return env
}

// connection returns a live connection, dialling one if needed (with
// backoff after failures) and signing on again on a new persistent one.
func (t *Terminal) connection(ctx context.Context) (*hostConn, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("%w: the terminal is closed", ErrUnreachable)
	}
	if c := t.conn; c != nil && c.alive() && !t.perTransaction {
		t.mu.Unlock()
		return c, nil
	}
	if wait := backoff(t.dialFails) - time.Since(t.lastDial); t.dialFails > 0 && wait > 0 {
		t.mu.Unlock()
		return nil, fmt.Errorf("%w: last dial failed %s ago; retrying in %s", ErrUnreachable, time.Since(t.lastDial).Round(time.Millisecond), wait.Round(time.Millisecond))
	}
	t.lastDial = time.Now()
	t.mu.Unlock()

	o := dialOptions{addr: t.cfg.Addr, tls: t.tls, connectTimeout: t.timeout, late: t.onLate,
		requirement: t.onRequirement}
	if !t.perTransaction {
		o.idle, o.ping = t.keepAlive, t.keepAliveEcho
		o.closed = func(h *hostConn) { t.dropConnection(h) }
	}
	c, err := dialHost(ctx, t.cfg.Dialect, o)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.dialFails++
		return nil, err
	}
	if !t.perTransaction && t.keys != nil {
		// A new persistent connection: hosts tie keys to the session, so
		// the next call signs on again first.
		t.stats.reconnects.Add(1)
		t.resignOn = true
	}
	t.dialFails = 0
	if !t.perTransaction {
		t.conn = c
	}
	return c, nil
}

func backoff(fails int) time.Duration {
	return min(100*time.Millisecond<<min(fails, 8), 30*time.Second)
}

func (t *Terminal) dropConnection(h *hostConn) {
	t.mu.Lock()
	if t.conn == h {
		t.conn = nil
	}
	t.mu.Unlock()
}

// release closes a dial-per-transaction connection after its exchange.
func (t *Terminal) release(c *hostConn) {
	if t.perTransaction {
		c.close()
	}
}

// exchange encodes req (signing it when it carries a MAC field), sends it,
// and returns the checked reply. Errors: ErrUnreachable (nothing sent),
// ErrTimeout or ErrConnectionLost (outcome unknown), iso.ErrBadReply
// (outcome unknown; ErrMACMismatch inside when the MAC failed).
func (t *Terminal) exchange(ctx context.Context, req *iso.Message) (*iso.Message, error) {
	reply, err := t.exchangeKeep(ctx, req)
	if err != nil {
		return nil, err
	}
	return reply, nil
}

// exchangeKeep is exchange, except that a reply which arrived but failed
// iso.CheckReply comes back with the error: the caller may keep what the
// host said (its F38) for the reversal.
func (t *Terminal) exchangeKeep(ctx context.Context, req *iso.Message) (*iso.Message, error) {
	t.mu.Lock()
	mac := t.mac
	t.mu.Unlock()
	body, err := t.cfg.Dialect.Encode(req, mac)
	if err != nil {
		if errors.Is(err, iso.ErrNoMACKey) {
			return nil, fmt.Errorf("%w: %v", ErrNotSignedOn, err)
		}
		return nil, err
	}
	c, err := t.connection(ctx)
	if err != nil {
		return nil, err
	}
	defer t.release(c)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	t.traceMsg("send", req)
	t.stats.sent.Add(1)
	reply, err := c.send(ctx, req, body)
	if err != nil {
		if errors.Is(err, ErrTimeout) {
			t.stats.timeouts.Add(1)
		}
		return nil, err
	}
	t.traceMsg("recv", reply)
	if err := iso.CheckReply(req, reply, mac); err != nil {
		return reply, err
	}
	if a := iso.ResponseCode(reply.Value(39)).Action(); a == iso.ActionResignOn {
		t.mu.Lock()
		t.resignOn = true
		t.mu.Unlock()
	}
	return reply, nil
}

func (t *Terminal) traceMsg(dir string, m *iso.Message) {
	if t.trace != nil {
		t.trace(dir, m)
	}
}

// engineSender lets the reversal engine send through the terminal's
// connection.
type engineSender struct{ t *Terminal }

func (s engineSender) Send(ctx context.Context, req *iso.Message, deadline time.Time) (*iso.Message, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	s.t.stats.reversalsSent.Add(1)
	reply, err := s.t.exchange(ctx, req)
	if err != nil && (errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotSignedOn)) {
		return nil, fmt.Errorf("%w: %w", reversal.ErrNotSent, err) // nothing left: the attempt does not count
	}
	return reply, err
}

// onLate keeps a reply that came after its request's deadline: the
// journal records it on the transaction, which it never changes.
func (t *Terminal) onLate(m *iso.Message) {
	t.stats.lateReplies.Add(1)
	t.traceMsg("late", m)
	stan, err := parseSTAN(m.Value(11))
	if err != nil {
		return
	}
	rec, err := t.cfg.Journal.BySTAN(0, stan)
	if err != nil {
		t.log.Warn("late reply for no known transaction", "stan", m.Value(11), "mti", m.MTI)
		return
	}
	_, err = t.cfg.Journal.RecordLateReply(rec.ID, reversal.LateReply{Code: iso.ResponseCode(m.Value(39)),
		RRN: iso.RRN(m.Value(37)), AuthCode: iso.AuthCode(m.Value(38))})
	if err != nil {
		t.log.Error("recording a late reply", "record", rec.ID, "err", err)
	}
	t.log.Info("late reply kept for audit", "record", rec.ID, "code", m.Value(39))
}

func parseSTAN(s string) (iso.STAN, error) {
	var n uint32
	if _, err := fmt.Sscanf(s, "%06d", &n); err != nil || len(s) != 6 {
		return 0, fmt.Errorf("bad STAN")
	}
	return iso.STAN(n), nil
}

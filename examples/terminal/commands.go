package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// session is what a command runs with: a started terminal, its journal and
// the operator logged in.
type session struct {
	cfg  config
	term *isoswitch.Terminal
	j    *reversal.Journal
	who  isoswitch.Credentials
	out  io.Writer
}

func (s *session) op() iso.OperatorCode { return iso.OperatorCode(s.who.Operator) }

// step is a command with its arguments already parsed: bad input is
// refused before the journal is opened or a byte is sent.
type step func(ctx context.Context, s *session) error

// command is one online command: the action its operator must be allowed
// to take, and its argument parser.
type command struct {
	action isoswitch.Action
	usage  string
	parse  func(cfg config, args []string) (step, error)
}

var commandOrder = []string{"sign-on", "sale", "payment-code", "balance", "void", "refund", "cancel", "settle"}

var commands = map[string]command{
	// Signing on is part of every online command's Start; the command
	// exists to check keys and reachability, so any till operator may.
	"sign-on":      {isoswitch.ActionSale, "sign-on", parseSignOn},
	"sale":         {isoswitch.ActionSale, "sale AMOUNT PAN [EXPIRY]", parseSale},
	"payment-code": {isoswitch.ActionSale, "payment-code AMOUNT CODE", parsePaymentCode},
	"balance":      {isoswitch.ActionSale, "balance PAN", parseBalance},
	"void":         {isoswitch.ActionVoid, "void STAN", parseVoid},
	"refund":       {isoswitch.ActionRefund, "refund RRN YYYY-MM-DD AMOUNT PAN", parseRefund},
	"cancel":       {isoswitch.ActionCancel, "cancel RECORD-ID [PAN]", parseCancel},
	"settle":       {isoswitch.ActionSettle, "settle", parseSettle},
}

func nargs(args []string, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		return fmt.Errorf("%d arguments", len(args))
	}
	return nil
}

// card is a keyed-in card. Its errors name the field, never the number.
func card(pan, expiry string) (iso.Card, error) {
	c := iso.Card{PAN: iso.PAN(pan), Expiry: iso.Expiry(expiry), Entry: iso.EntryMode{Method: iso.EntryManual}}
	return c, c.Validate()
}

func parseSignOn(_ config, args []string) (step, error) {
	if err := nargs(args, 0, 0); err != nil {
		return nil, err
	}
	return func(_ context.Context, s *session) error {
		batch, err := s.j.OpenBatch()
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "signed on to %s as operator %s: working keys verified; open batch %s\n", s.cfg.host, s.who.Operator, batch)
		return nil
	}, nil
}

func parseSale(cfg config, args []string) (step, error) {
	if err := nargs(args, 2, 3); err != nil {
		return nil, err
	}
	amount, err := parseAmount(args[0], cfg.currency)
	if err != nil {
		return nil, err
	}
	expiry := ""
	if len(args) == 3 {
		expiry = args[2]
	}
	c, err := card(args[1], expiry)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		r, err := s.term.Sale(ctx, s.op(), amount, c)
		return s.receipt("SALE", r, err)
	}, nil
}

func parsePaymentCode(cfg config, args []string) (step, error) {
	if err := nargs(args, 2, 2); err != nil {
		return nil, err
	}
	amount, err := parseAmount(args[0], cfg.currency)
	if err != nil {
		return nil, err
	}
	code := iso.PaymentCode(args[1])
	if err := code.Validate(); err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		r, err := s.term.PaymentCodeSale(ctx, s.op(), amount, code)
		return s.receipt("PAYMENT CODE SALE", r, err)
	}, nil
}

func parseBalance(_ config, args []string) (step, error) {
	if err := nargs(args, 1, 1); err != nil {
		return nil, err
	}
	c, err := card(args[0], "")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		r, err := s.term.BalanceInquiry(ctx, s.op(), c, s.cfg.currency)
		return s.receipt("BALANCE", r, err)
	}, nil
}

func parseVoid(_ config, args []string) (step, error) {
	if err := nargs(args, 1, 1); err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	stan := iso.STAN(n)
	if err == nil {
		err = stan.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("STAN %q: want the trace number on the sale's receipt, 1 to 999999", args[0])
	}
	return func(ctx context.Context, s *session) error {
		r, err := s.term.Void(ctx, s.who, isoswitch.Original{STAN: stan})
		return s.receipt("VOID", r, err)
	}, nil
}

func parseRefund(cfg config, args []string) (step, error) {
	if err := nargs(args, 4, 4); err != nil {
		return nil, err
	}
	rrn := iso.RRN(args[0])
	if err := rrn.Validate(); err != nil {
		return nil, err
	}
	// The journal files sales by their local date, as printed on receipts.
	date, err := time.ParseInLocation(time.DateOnly, args[1], time.Local)
	if err != nil {
		return nil, fmt.Errorf("date %q: want YYYY-MM-DD", args[1])
	}
	amount, err := parseAmount(args[2], cfg.currency)
	if err != nil {
		return nil, err
	}
	c, err := card(args[3], "")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		r, err := s.term.Refund(ctx, s.who, isoswitch.Original{RRN: rrn, Date: date}, amount, c)
		return s.receipt("REFUND", r, err)
	}, nil
}

func parseCancel(_ config, args []string) (step, error) {
	if err := nargs(args, 1, 2); err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil || id == 0 {
		return nil, fmt.Errorf("record %q: want a record id from `journal list`", args[0])
	}
	var c *iso.Card
	if len(args) == 2 {
		k, err := card(args[1], "")
		if err != nil {
			return nil, err
		}
		c = &k
	}
	return func(ctx context.Context, s *session) error {
		res, err := s.term.Cancel(ctx, s.who, id, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.out, "record %d: %s — %s\n", id, res.Action, res.Why)
		if res.Result != nil {
			printReceipt(s.out, s.cfg, "CANCEL: "+string(res.Action), *res.Result)
		}
		return nil
	}, nil
}

func parseSettle(_ config, args []string) (step, error) {
	if err := nargs(args, 0, 0); err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		res, err := s.term.Settle(ctx, s.who, func(done, total int) {
			fmt.Fprintf(s.out, "uploading batch: %d of %d\n", done, total)
		})
		if err != nil {
			return err
		}
		printSettlement(s.out, s.cfg, res)
		return nil
	}, nil
}

// receipt prints an approval, or a decline's code and meaning, and passes
// the error on so the exit status says it did not go through.
func (s *session) receipt(title string, r isoswitch.Result, err error) error {
	var declined *isoswitch.DeclinedError
	if errors.As(err, &declined) {
		printReceipt(s.out, s.cfg, title+" DECLINED", declined.Result)
	} else if err == nil {
		printReceipt(s.out, s.cfg, title, r)
	}
	return err
}

// online logs the operator in, starts the terminal and runs do. Start
// recovers what an earlier run left prepared and signs on; reversals that
// still cannot clear are reported, and the command then meets them.
func online(ctx context.Context, cfg config, action isoswitch.Action, do step, stdout, stderr io.Writer) (err error) {
	if cfg.tmk == nil {
		return usagef("-tmk is required to reach the host")
	}
	who, err := cfg.credentials()
	if err != nil {
		return err
	}
	ops, exists, err := loadOperators(cfg.operators)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("no operators file %s: create it with `operators add 00 supervisor PASSWORD`", cfg.operators)
	}
	defer func() { err = errors.Join(err, saveOperators(cfg.operators, ops)) }()
	if _, err := ops.Authorise(ctx, who, action); err != nil {
		return err
	}
	j, err := openJournal(cfg)
	if err != nil {
		return err
	}
	defer j.Close()
	logs := &gate{w: stderr}
	level := slog.LevelWarn
	opts := []isoswitch.Option{isoswitch.WithTimeout(cfg.timeout), isoswitch.WithAuthoriser(ops),
		isoswitch.WithCurrency(cfg.currency)}
	if cfg.trace {
		level = slog.LevelInfo
		trace := slog.New(slog.NewTextHandler(logs, nil))
		opts = append(opts, isoswitch.WithTrace(func(dir string, m *iso.Message) { trace.Info(dir, "iso", m) }))
	}
	opts = append(opts, isoswitch.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))))
	term, err := isoswitch.New(isoswitch.Config{Dialect: cfg.dialect, Addr: cfg.host, Terminal: cfg.tid, Merchant: cfg.mid,
		MasterKey: cfg.tmk, Journal: j}, opts...)
	if err != nil {
		return err
	}
	defer term.Close() // before the journal's Close (deferred earlier)
	defer logs.close() // first of all: see gate
	if err := term.Start(ctx, iso.OperatorCode(who.Operator)); err != nil {
		if !errors.Is(err, reversal.ErrRecoveryPending) {
			return fmt.Errorf("start: %w", err)
		}
		fmt.Fprintf(stderr, "warning: %v\n", err)
	}
	noteBatchMismatch(cfg, term, stderr)
	s := &session{cfg: cfg, term: term, j: j, who: who, out: stdout}
	err = do(ctx, s)
	var unknown *isoswitch.OutcomeUnknownError
	if errors.As(err, &unknown) {
		s.awaitRecovery(ctx, unknown)
	}
	return err
}

// awaitRecovery waits for the reversal (or repeat) of a transaction whose
// reply never came, instead of leaving it to a goroutine this process is
// about to end, and says how it ended. If it cannot clear now, the journal
// keeps it and the next run's Start sends it first.
func (s *session) awaitRecovery(ctx context.Context, u *isoswitch.OutcomeUnknownError) {
	what := "reversal"
	if u.Recovery == iso.RecoveryRepeat {
		what = "repeat"
	}
	fmt.Fprintf(s.out, "trace %s (record %d): outcome unknown (%s); sending its %s now\n", u.STAN, u.RecordID, u.Reason, what)
	derr := s.term.Drain(ctx)
	rec, err := s.j.Get(u.RecordID)
	switch {
	case err != nil:
		fmt.Fprintf(s.out, "record %d: %v\n", u.RecordID, err)
	case rec.State == reversal.StateReversed:
		fmt.Fprintf(s.out, "record %d reversed: nothing was charged\n", rec.ID)
	case rec.State == reversal.StateApproved:
		fmt.Fprintf(s.out, "record %d: the host acknowledged the repeat; it stands\n", rec.ID)
	default:
		fmt.Fprintf(s.out, "record %d is still %s (%v); it is sent again before the next transaction\n", rec.ID, rec.State, derr)
	}
}

// gate passes the terminal's log to stderr until online returns, and drops
// it after. After an unknown outcome, isoswitch starts a recovery goroutine
// that Terminal.Close does not wait for; awaitRecovery has already done and
// reported its work, but the goroutine may still run later against the
// closed journal and log a misleading "recovery not done yet: database not
// open" — or write to a caller's writer after run has returned.
type gate struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return len(p), nil
	}
	return g.w.Write(p)
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

// noteBatchMismatch says, once, that the host announced another batch than
// the terminal's open one (a simulator restarted, say) and what to do.
// Each command is a new process and signs on again, so "once" is kept in a
// file beside the journal: the note comes back only when the numbers change,
// and the file goes when the mismatch does.
func noteBatchMismatch(cfg config, term *isoswitch.Terminal, stderr io.Writer) {
	path := cfg.journal + ".batch-note"
	m, ok := term.BatchMismatch()
	if !ok {
		os.Remove(path)
		return
	}
	note := m.String()
	if !m.HostBatchUsed {
		note += " (`terminal settle` as a supervisor)"
	}
	if said, err := os.ReadFile(path); err == nil && string(said) == note {
		return
	}
	fmt.Fprintf(stderr, "note: %s\n", note)
	if err := os.WriteFile(path, []byte(note), 0o600); err != nil {
		fmt.Fprintf(stderr, "note: cannot remember having said so: %v\n", err)
	}
}

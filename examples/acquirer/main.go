// Command acquirer is a standalone acquirer host simulator: switchtest's
// host — working keys under a master key, MACs, approval rules, 94 for
// repeats, idempotent reversals, reconciliation, batch close — on a TCP
// address, so a terminal in another process (examples/terminal, or a POS
// application under test) has a host to talk to that misbehaves on demand.
//
//	go run ./examples/acquirer -listen 127.0.0.1:8583 -dialect cup
//	go run ./examples/acquirer -dialect iso87 -fault drop:sale -fault garble:reversal:0.2 -seed 7
//
// Each -fault is action[=param]:kind[:probability]: actions delay=DURATION,
// drop, close-before, close-after, garble, twice, wrong-stan, break-mac;
// kinds sale, payment-code, balance, void, refund, reversal, settlement,
// batch-upload, batch-upload-end, sign-on, sign-off, echo, qr-create,
// qr-query, qr-close, or any. -terminal ID (repeatable) registers the
// terminals the host knows; without it every terminal is. Like a real host
// it refuses a missing mandatory field (30), an unregistered terminal (CUP
// 97, ISO87 03), and a terminal that has not signed on or a financial
// request without a valid MAC (CUP A0, ISO87 63). Every request and reply is logged to stderr
// with log/slog, masked (card data never appears in clear); to see them,
// terminals connect through a relay in this process (see relay.go), and
// -trace=false lets the host listen on the address itself instead. SIGINT
// or SIGTERM stops it: connections close and it exits 0.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/switch/switchtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "acquirer:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "acquirer:", err)
		os.Exit(1)
	}
}

// errUsage marks a bad command line (exit status 2, as flag's own errors).
var errUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// config is the command line, checked.
type config struct {
	listen  string
	dialect iso.Dialect
	faults  []switchtest.Fault
	seed    uint64
	tmk     []byte
	trace   bool
	known   []iso.TerminalID // registered terminals; none: every terminal is known
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("acquirer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8583", "`host:port` to listen on (a host is required; 0.0.0.0 must be asked for)")
	dialect := fs.String("dialect", "cup", "message dialect: `cup` or iso87")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the fault probabilities, so a run can be replayed")
	tmk := fs.String("tmk", hex.EncodeToString(switchtest.DefaultTMK), "terminal master key, `hex` (8, 16 or 24 bytes)")
	fs.BoolVar(&cfg.trace, "trace", true, "log every request and reply (masked) to stderr")
	fs.Func("fault", "inject a fault, `action[=param]:kind[:probability]` (repeatable), e.g. drop:sale, delay=45s:sale",
		func(s string) error {
			f, err := parseFault(s)
			if err == nil {
				cfg.faults = append(cfg.faults, f)
			}
			return err
		})
	fs.Func("terminal", "register a terminal `ID` (repeatable); others are refused (CUP 97, ISO87 03). Default: every terminal",
		func(s string) error {
			tid := iso.TerminalID(s)
			if err := tid.Validate(); err != nil {
				return err
			}
			cfg.known = append(cfg.known, tid)
			return nil
		})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if cfg.dialect, err = dialectOf(*dialect); err != nil {
		return cfg, err
	}
	if cfg.tmk, err = hex.DecodeString(*tmk); err != nil || (len(cfg.tmk) != 8 && len(cfg.tmk) != 16 && len(cfg.tmk) != 24) {
		return cfg, usagef("-tmk must be 8, 16 or 24 bytes of hex")
	}
	host, _, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return cfg, usagef("-listen: %v", err)
	}
	if host == "" {
		// ":8583" would listen on every interface; a simulator should not
		// be reachable from the network unless someone meant it.
		return cfg, usagef("-listen %q has no host: give 127.0.0.1, or 0.0.0.0 to listen on every interface", cfg.listen)
	}
	return cfg, nil
}

func dialectOf(name string) (iso.Dialect, error) {
	switch name {
	case "cup":
		return cup.New()
	case "iso87":
		return iso87.New()
	}
	return nil, usagef("-dialect %q: want cup or iso87", name)
}

// run serves until ctx ends (the signal), then stops cleanly. It prints
// the address it listens on first, so a caller that asked for port 0 can
// find it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	opts := []switchtest.Option{switchtest.WithTMK(cfg.tmk), switchtest.WithFaults(cfg.seed, cfg.faults...),
		switchtest.WithLogger(logger)}
	if !cfg.trace {
		opts = append(opts, switchtest.WithAddr(cfg.listen)) // no relay: the host listens itself
	}
	if len(cfg.known) > 0 {
		opts = append(opts, switchtest.WithTerminals(cfg.known...))
	}
	host, err := switchtest.Start(cfg.dialect, opts...)
	if err != nil {
		return err
	}
	defer host.Close()
	addr, served := host.Addr, make(chan error, 1)
	if cfg.trace {
		ln, err := net.Listen("tcp", cfg.listen)
		if err != nil {
			return err
		}
		rl := newRelay(ln, host.Addr, cfg.dialect, logger)
		go func() { served <- rl.serve() }()
		defer rl.close() // before host.Close: terminals go first
		addr = ln.Addr().String()
	}
	fmt.Fprintf(stdout, "acquirer: %s host listening on %s\n", cfg.dialect.Name(), addr)
	for _, f := range cfg.faults {
		fmt.Fprintf(stdout, "acquirer: fault: %s\n", describeFault(f))
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "acquirer: stopping")
		return nil
	case err := <-served:
		return fmt.Errorf("listener failed: %w", err)
	}
}

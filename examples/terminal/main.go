// Command terminal is a POS terminal on the command line: each run opens
// the journal, starts an isoswitch.Terminal against a host (recovering
// whatever an earlier run left unknown and signing on), does one thing,
// prints a receipt-like result with card numbers masked, and exits
// non-zero if it did not succeed. It talks to any host that speaks the
// dialect — examples/acquirer, or a real acquirer's test host.
//
//	terminal -dev init                                NOT FOR PRODUCTION: provision a development terminal
//	terminal [flags] sign-on
//	terminal [flags] sale AMOUNT PAN [EXPIRY]        amount as typed: 25.99 (in -currency)
//	terminal [flags] payment-code AMOUNT CODE
//	terminal [flags] balance PAN
//	terminal [flags] void STAN
//	terminal [flags] refund RRN YYYY-MM-DD AMOUNT PAN
//	terminal [flags] cancel RECORD-ID [PAN]
//	terminal [flags] settle
//	terminal [flags] journal list | journal export csv|jsonl
//	terminal [flags] operators add CODE ROLE PASSWORD
//
// To try it against `go run ./examples/acquirer` in one step, development
// mode (NOT FOR PRODUCTION) provisions a supervisor 00 (password
// s3cret-sup) and a cashier 01 (password 4711), the simulator's test master
// key and a fresh data key, in operators.json and posswitch-dev.json; every
// command given -dev then uses them, and logs in a development operator
// without a password:
//
//	go run ./examples/terminal -dev init
//	go run ./examples/terminal -dev sign-on
//	go run ./examples/terminal -dev sale 25.99 4111111111111111 2812
//	go run ./examples/terminal -dev -operator 00 void 000002
//
// Provisioned by hand instead:
//
//	go run ./examples/terminal -operators ops.json operators add 00 supervisor s3cret-sup
//	export POSSWITCH_PASSWORD=s3cret-sup
//	go run ./examples/terminal -tmk 11221122112211221122112211221122 -data-key $(openssl rand -hex 32) -operators ops.json -operator 00 sale 25.99 4111111111111111
//
// Every command but journal and the first `operators add` logs an
// operator in: -operator, with -password or (better: it stays out of the
// process list) POSSWITCH_PASSWORD, checked against the -operators file,
// whose failure counts and lockouts are saved after every attempt. Journal
// commands never connect and need no login: they read the masked journal
// only, and the file's permissions guard it.
//
// Every connecting command, sign-on included, first signs on and then
// drains: it sends the reversals and advices an earlier run left
// unanswered before it prints anything, so `sign-on` can wait a while when
// the host does not answer them. The bound comes from the default
// reversal.Policy: each record gets at most 4 sends per run (both
// dialects), each waiting up to -timeout (default 30 s), with a backoff of
// 1 s doubling per send the record has had, capped at 30 s, between them
// (2 + 4 + 8 s for a record's first run). One unanswered record thus holds
// sign-on for at most 4 × -timeout + 14 s the first time (134 s with the
// defaults) and 4 × -timeout + 90 s in a later run, records one after
// another, after the sign-on's own -timeout. A record still pending after
// its sends of this run is printed as a warning and the command goes on;
// one whose sends ran out in all (CUP 4, so after one run; ISO87 12 or
// more with WithAdviceAfter, so after three or more) ends unconfirmed,
// and that run exits non-zero naming it, once, for the merchant to settle
// with the acquirer; later runs no longer send it. Interrupt (Ctrl-C)
// stops the wait; what was not confirmed is tried again next run.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "terminal:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "terminal:", err)
		os.Exit(1)
	}
}

// errUsage marks a bad command line (exit status 2, as flag's own errors).
var errUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// config is the command line's flags, checked.
type config struct {
	host      string
	dialect   iso.Dialect
	tid       iso.TerminalID
	mid       iso.MerchantID
	tmk       []byte // nil: not given (journal and operators commands need none)
	journal   string
	dataKey   []byte
	operator  string
	password  string
	operators string
	currency  iso.Currency
	timeout   time.Duration
	trace     bool
	dev       bool   // development settings from devFile (NOT FOR PRODUCTION)
	devFile   string // written by `-dev init`
}

// credentials is who is at the terminal. The password comes from the flag
// or the environment, never from a prompt: this is a scriptable tool.
func (c config) credentials() (isoswitch.Credentials, error) {
	pw := c.password
	if pw == "" {
		pw = os.Getenv("POSSWITCH_PASSWORD")
	}
	if pw == "" {
		return isoswitch.Credentials{}, usagef("no password: give -password or set POSSWITCH_PASSWORD")
	}
	return isoswitch.Credentials{Operator: c.operator, Password: pw}, nil
}

func parseFlags(args []string, stderr io.Writer) (config, []string, error) {
	cfg := config{}
	fs := flag.NewFlagSet("terminal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.host, "host", "127.0.0.1:8583", "acquirer host `host:port`")
	dialect := fs.String("dialect", "cup", "message dialect: `cup` or iso87")
	tid := fs.String("tid", "TERM0001", "terminal ID, 8 characters")
	mid := fs.String("mid", "898310048161234", "merchant ID, 15 characters")
	tmk := fs.String("tmk", "", "terminal master key, `hex` (8, 16 or 24 bytes); required to reach the host")
	fs.StringVar(&cfg.journal, "journal", "terminal.db", "journal `file`")
	dataKey := fs.String("data-key", "", "AES key, `hex` (16, 24 or 32 bytes), to keep full PANs encrypted for reversals, keyed voids and batch upload; required by -dialect cup, which sends them after the fact")
	fs.StringVar(&cfg.operator, "operator", "01", "operator `code`")
	fs.StringVar(&cfg.password, "password", "", "operator password (default $POSSWITCH_PASSWORD)")
	fs.StringVar(&cfg.operators, "operators", "operators.json", "operators `file` (codes, roles, bcrypt hashes, lockouts)")
	currency := fs.String("currency", "CNY", "ISO 4217 currency of amounts")
	fs.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "reply deadline of each request")
	fs.BoolVar(&cfg.trace, "trace", false, "log every message sent and received (masked) to stderr")
	fs.BoolVar(&cfg.dev, "dev", false, "NOT FOR PRODUCTION: use the development settings `-dev init` wrote (test master key, data key, known passwords)")
	fs.StringVar(&cfg.devFile, "dev-file", "posswitch-dev.json", "development settings `file` (-dev)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: terminal [flags] COMMAND [args]\n\ncommands:\n  -dev init   (NOT FOR PRODUCTION: a development terminal for examples/acquirer)")
		for _, c := range commandOrder {
			fmt.Fprintln(fs.Output(), "  "+commands[c].usage)
		}
		fmt.Fprintln(fs.Output(), "  journal list | journal export csv|jsonl\n  operators add CODE ROLE PASSWORD\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, nil, err
		}
		return cfg, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	var err error
	switch *dialect {
	case "cup":
		cfg.dialect, err = cup.New()
	case "iso87":
		cfg.dialect, err = iso87.New()
	default:
		return cfg, nil, usagef("-dialect %q: want cup or iso87", *dialect)
	}
	if err != nil {
		return cfg, nil, err
	}
	cfg.tid, cfg.mid = iso.TerminalID(*tid), iso.MerchantID(*mid)
	if err := cfg.tid.Validate(); err != nil {
		return cfg, nil, usagef("-tid: %v", err)
	}
	if err := cfg.mid.Validate(); err != nil {
		return cfg, nil, usagef("-mid: %v", err)
	}
	if *tmk != "" {
		if cfg.tmk, err = hex.DecodeString(*tmk); err != nil || (len(cfg.tmk) != 8 && len(cfg.tmk) != 16 && len(cfg.tmk) != 24) {
			return cfg, nil, usagef("-tmk must be 8, 16 or 24 bytes of hex")
		}
	}
	if *dataKey != "" {
		if cfg.dataKey, err = hex.DecodeString(*dataKey); err != nil || (len(cfg.dataKey) != 16 && len(cfg.dataKey) != 24 && len(cfg.dataKey) != 32) {
			return cfg, nil, usagef("-data-key must be 16, 24 or 32 bytes of hex")
		}
	}
	if cfg.currency, err = iso.CurrencyByCode(*currency); err != nil {
		return cfg, nil, usagef("-currency: %v", err)
	}
	if cfg.timeout <= 0 {
		return cfg, nil, usagef("-timeout must be positive")
	}
	if fs.NArg() == 0 {
		return cfg, nil, usagef("no command (try -h)")
	}
	return cfg, fs.Args(), nil
}

// run is the whole program, for main and for the tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	name, args := rest[0], rest[1:]
	if name == "init" {
		if len(args) == 1 && args[0] == "-dev" { // `init -dev` reads as well as `-dev init`
			cfg.dev, args = true, nil
		}
		if !cfg.dev || len(args) != 0 {
			return usagef("init provisions a development terminal only: -dev init (NOT FOR PRODUCTION); provision a real one with `operators add`, -tmk and -data-key")
		}
		return devInit(cfg, stdout)
	}
	if cfg.dev {
		if err := applyDev(&cfg, stderr); err != nil {
			return err
		}
	}
	switch name {
	case "operators":
		if len(args) == 0 || args[0] != "add" {
			return usagef("operators add CODE ROLE PASSWORD")
		}
		return addOperator(ctx, cfg, args[1:], stdout)
	case "journal":
		return journalCommand(cfg, args, stdout)
	default:
		c, ok := commands[name]
		if !ok {
			return usagef("unknown command %q (try -h)", name)
		}
		do, err := c.parse(cfg, args)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", errUsage, c.usage, err)
		}
		return online(ctx, cfg, c.action, do, stdout, stderr)
	}
}

// openJournal opens the journal file; the data key, if any, lets it keep
// full PANs encrypted for the batch upload.
func openJournal(cfg config) (*reversal.Journal, error) {
	var opts []reversal.Option
	if cfg.dataKey != nil {
		opts = append(opts, reversal.WithDataKey(cfg.dataKey))
	}
	return reversal.Open(cfg.journal, opts...)
}

// journalCommand lists or exports the journal without touching the
// network. A missing journal is reported, not created empty.
func journalCommand(cfg config, args []string, stdout io.Writer) error {
	var export func(*reversal.Journal) error
	switch {
	case len(args) == 1 && args[0] == "list":
		export = func(j *reversal.Journal) error { return listJournal(stdout, j) }
	case len(args) == 2 && args[0] == "export" && args[1] == "csv":
		export = func(j *reversal.Journal) error { return j.ExportCSV(stdout, nil) }
	case len(args) == 2 && args[0] == "export" && args[1] == "jsonl":
		export = func(j *reversal.Journal) error { return j.ExportJSONLines(stdout, nil) }
	default:
		return usagef("journal list | journal export csv|jsonl")
	}
	if _, err := os.Stat(cfg.journal); err != nil {
		return fmt.Errorf("no journal: %w", err)
	}
	j, err := openJournal(cfg)
	if err != nil {
		return err
	}
	defer j.Close()
	return export(j)
}

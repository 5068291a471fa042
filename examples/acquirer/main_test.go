package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// A published test card number only.
var visa = iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}

var supervisor = isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}

// syncBuffer is written by run's goroutines and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`listening on (\S+)`)

// acquirer runs the command with args until the test ends and returns the
// address it listens on and its stderr.
func acquirer(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the acquirer did not stop within 10 s of its signal")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], stderr
		}
		select {
		case err := <-done:
			t.Fatalf("run ended before listening: %v\n%s", err, stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no address printed; stdout: %q", stdout.String())
	return "", nil
}

// client starts an isoswitch terminal against addr, with short timeouts so
// fault tests end quickly.
func client(t *testing.T, addr, dialect string) (*isoswitch.Terminal, *reversal.Journal) {
	t.Helper()
	d, err := dialectOf(dialect)
	if err != nil {
		t.Fatal(err)
	}
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	if err := ops.Add("00", isoswitch.RoleSupervisor, supervisor.Password); err != nil {
		t.Fatal(err)
	}
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: addr, Terminal: "TERM0001", Merchant: "898310048161234",
		MasterKey: switchtest.DefaultTMK, Journal: j}, isoswitch.WithTimeout(500*time.Millisecond), isoswitch.WithAuthoriser(ops),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 10 * time.Millisecond }}))
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the acquirer's cleanup, so this runs first: the
	// terminal and its journal close before the host stops.
	t.Cleanup(func() { term.Close(); j.Close() })
	if err := term.Start(testCtx(t), "00"); err != nil {
		t.Fatal(err)
	}
	return term, j
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cny(minor int64) iso.Amount { return iso.Amount{Minor: minor, Currency: iso.CNY} }

func TestServesATerminal(t *testing.T) {
	for _, dialect := range []string{"cup", "iso87"} {
		t.Run(dialect, func(t *testing.T) {
			addr, stderr := acquirer(t, "-dialect", dialect)
			term, _ := client(t, addr, dialect)
			ctx := testCtx(t)
			sale, err := term.Sale(ctx, "01", cny(2599), visa)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := term.Void(ctx, supervisor, isoswitch.Original{STAN: sale.STAN}); err != nil {
				t.Fatal(err)
			}
			if _, err := term.Sale(ctx, "01", cny(1000), visa); err != nil {
				t.Fatal(err)
			}
			res, err := term.Settle(ctx, supervisor, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != iso.VerdictBalanced {
				t.Errorf("settlement: %v, want balanced", res.Verdict)
			}
			log := stderr.String()
			for _, want := range []string{"kind=sign-on", "kind=sale", "kind=void", "kind=settlement", "msg=reply conn=1 iso.mti=", "411111******1111"} {
				if !strings.Contains(log, want) {
					t.Errorf("the log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, string(visa.PAN)) {
				t.Errorf("the log shows the clear PAN:\n%s", log)
			}
		})
	}
}

// TestSaleFaults: with -fault drop:sale the host keeps the sale but never
// answers; with close-before it hangs up instead; with garble the reply
// does not decode. Each time, through the relay, the terminal's outcome is
// unknown, and its reversal (no fault on reversals) clears it.
func TestSaleFaults(t *testing.T) {
	for _, fault := range []string{"drop:sale", "close-before:sale", "garble:sale"} {
		t.Run(fault, func(t *testing.T) {
			addr, stderr := acquirer(t, "-dialect", "cup", "-fault", fault)
			term, j := client(t, addr, "cup")
			ctx := testCtx(t)
			_, err := term.Sale(ctx, "01", cny(3300), visa)
			var unknown *isoswitch.OutcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("sale: %v, want an unknown outcome", err)
			}
			if err := term.Drain(ctx); err != nil {
				t.Fatalf("drain: %v", err)
			}
			rec, err := j.Get(unknown.RecordID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.State != reversal.StateReversed {
				t.Errorf("the unanswered sale is %s, want reversed", rec.State)
			}
			if !strings.Contains(stderr.String(), "kind=reversal") {
				t.Errorf("no reversal in the log:\n%s", stderr)
			}
		})
	}
}

// TestWithoutTrace: -trace=false serves on the address without the relay
// (switchtest.WithAddr), and logs no exchanges.
func TestWithoutTrace(t *testing.T) {
	addr, stderr := acquirer(t, "-dialect", "iso87", "-trace=false")
	term, _ := client(t, addr, "iso87")
	if _, err := term.Sale(testCtx(t), "01", cny(500), visa); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "kind=sale") {
		t.Errorf("exchanges logged without -trace:\n%s", stderr)
	}
}

func TestStopsWhenSignalled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, stdout, &syncBuffer{}) }()
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listening.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("not listening")
	}
	conn, err := net.Dial("tcp", addr) // a terminal connected when the signal comes
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open after the stop")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("still accepting after the stop")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-dialect", "cup87"},
		{"-listen", ":8583"},
		{"-listen", "localhost"},
		{"-tmk", "11223344"},
		{"-tmk", "not hex"},
		{"-fault", "explode:sale"},
		{"-fault", "drop:purchase"},
		{"-fault", "drop"},
		{"-fault", "delay:sale"},
		{"-fault", "delay=soon:sale"},
		{"-fault", "drop=3:sale"},
		{"-fault", "garble:sale:1.5"},
		{"-fault", "garble:sale:0"},
		{"-seed", "-1"},
		{"-terminal", "T1"},
		{"extra"},
	} {
		stdout := &syncBuffer{}
		err := run(context.Background(), args, stdout, &syncBuffer{})
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
		if stdout.String() != "" {
			t.Errorf("%q: started anyway: %s", args, stdout)
		}
	}
}

func TestParseFault(t *testing.T) {
	for in, want := range map[string]switchtest.Fault{
		"drop:sale":               {Action: switchtest.Drop, Kind: iso.KindSale},
		"delay=45s:sale":          {Action: switchtest.Delay, Kind: iso.KindSale, Delay: 45 * time.Second},
		"close-before:reversal":   {Action: switchtest.CloseBefore, Kind: iso.KindReversal},
		"garble:sale:0.2":         {Action: switchtest.Garble, Kind: iso.KindSale, Probability: 0.2},
		"break-mac:any":           {Action: switchtest.BreakMAC},
		"wrong-stan:payment-code": {Action: switchtest.WrongSTAN, Kind: iso.KindPaymentCodeSale},
	} {
		got, err := parseFault(in)
		if err != nil || got != want {
			t.Errorf("parseFault(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

// TestRegisteredTerminals: with -terminal the host knows only those; any
// other terminal cannot even sign on (CUP 97 "terminal not registered").
func TestRegisteredTerminals(t *testing.T) {
	addr, _ := acquirer(t, "-dialect", "cup", "-terminal", "TERM0002")
	d, err := dialectOf("cup")
	if err != nil {
		t.Fatal(err)
	}
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: addr, Terminal: "TERM0001", Merchant: "898310048161234",
		MasterKey: switchtest.DefaultTMK, Journal: j}, isoswitch.WithTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close(); j.Close() })
	err = term.Start(testCtx(t), "00")
	var de *isoswitch.DeclinedError
	if !errors.As(err, &de) || de.Code != iso.CodeTerminalNotRegistered {
		t.Fatalf("start: %v, want declined 97", err)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

func TestMain(m *testing.M) {
	operatorsOptions = []isoswitch.OperatorsOption{isoswitch.WithBcryptCost(bcrypt.MinCost)}
	os.Exit(m.Run())
}

// A published test card number only.
const pan = "4111111111111111"

var (
	supervisor = []string{"-operator", "00", "-password", "s3cret-sup"}
	cashier    = []string{"-operator", "01", "-password", "4711"}
)

// shop is a host on 127.0.0.1 and the flags that point the command at it,
// with its journal and operators file in a temporary directory.
type shop struct {
	t     *testing.T
	host  *switchtest.Host
	dir   string
	flags []string
	all   strings.Builder // everything printed, to check for clear PANs
}

func newShop(t *testing.T, dialect string, opts ...switchtest.Option) *shop {
	t.Helper()
	d := map[string]func(...iso.Option) (iso.Dialect, error){"cup": cup.New, "iso87": iso87.New}[dialect]
	dl, err := d()
	if err != nil {
		t.Fatal(err)
	}
	host := switchtest.NewHost(t, dl, opts...)
	s := &shop{t: t, host: host, dir: t.TempDir()}
	writeOperators(t, filepath.Join(s.dir, "ops.json"))
	s.flags = []string{"-host", host.Addr, "-dialect", dialect, "-tmk", hex.EncodeToString(host.TMK),
		"-journal", filepath.Join(s.dir, "terminal.db"), "-operators", filepath.Join(s.dir, "ops.json"),
		"-data-key", strings.Repeat("44", 32), "-timeout", "500ms"}
	t.Cleanup(func() {
		if strings.Contains(s.all.String(), pan) {
			t.Errorf("a clear PAN was printed:\n%s", s.all.String())
		}
	})
	return s
}

// writeOperators provisions a supervisor and a cashier, with cheap hashes
// so the tests stay fast.
func writeOperators(t *testing.T, path string) {
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	if err := ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup"); err != nil {
		t.Fatal(err)
	}
	if err := ops.Add("01", isoswitch.RoleCashier, "4711"); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// run runs the command as who, returning what it printed and its error.
func (s *shop) run(who []string, args ...string) (string, error) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append(append(append([]string{}, s.flags...), who...), args...), &stdout, &stderr)
	s.all.WriteString(stdout.String() + stderr.String())
	if err != nil {
		s.all.WriteString(err.Error())
	}
	return stdout.String(), err
}

// ok runs a command that must succeed.
func (s *shop) ok(who []string, args ...string) string {
	s.t.Helper()
	out, err := s.run(who, args...)
	if err != nil {
		s.t.Fatalf("%q: %v\n%s", args, err, out)
	}
	return out
}

var (
	traceRE = regexp.MustCompile(`trace (\d{6})`)
	refRE   = regexp.MustCompile(`reference +(\d{12})`)
	recRE   = regexp.MustCompile(`record +(\d+)`)
)

func field(t *testing.T, re *regexp.Regexp, out string) string {
	t.Helper()
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, out)
	}
	return m[1]
}

// TestADay walks a day in both dialects: sign-on, sale, a void the cashier
// may not do and the supervisor may, settlement, the journal.
func TestADay(t *testing.T) {
	for _, dialect := range []string{"cup", "iso87"} {
		t.Run(dialect, func(t *testing.T) {
			s := newShop(t, dialect)
			if out := s.ok(cashier, "sign-on"); !strings.Contains(out, "signed on") {
				t.Errorf("sign-on printed %q", out)
			}
			sale := s.ok(cashier, "sale", "25.99", pan, "2812")
			for _, want := range []string{"SALE", "CNY 25.99", "411111******1111", "00 approved", "operator 01"} {
				if !strings.Contains(sale, want) {
					t.Errorf("the receipt lacks %q:\n%s", want, sale)
				}
			}
			stan := field(t, traceRE, sale)
			if _, err := s.run(cashier, "void", stan); !errors.Is(err, isoswitch.ErrUnauthorised) {
				t.Errorf("a cashier's void: %v, want refused", err)
			}
			if out := s.ok(supervisor, "void", stan); !strings.Contains(out, "VOID") || !strings.Contains(out, "CNY 25.99") {
				t.Errorf("void printed:\n%s", out)
			}
			if _, err := s.run(supervisor, "void", stan); !errors.Is(err, isoswitch.ErrNotAllowed) {
				t.Errorf("a second void: %v, want not allowed", err)
			}
			s.ok(cashier, "sale", "10.00", pan)
			settle := s.ok(supervisor, "settle")
			if !strings.Contains(settle, "000001 closed; next 000002") || !strings.Contains(settle, "balanced") {
				t.Errorf("settlement printed:\n%s", settle)
			}

			list := s.ok(nil, "journal", "list")
			lines := strings.Split(strings.TrimSpace(list), "\n")
			if len(lines) != 4 { // header, sale, void, sale
				t.Fatalf("journal list has %d lines:\n%s", len(lines), list)
			}
			for i, want := range []string{"sale.*approved.*CNY 25.99.*411111\\*{6}1111.*" + stan + ".*\\d{12} +01$",
				"void.*approved.*CNY 25.99.* 00$", "sale.*approved.*CNY 10.00"} {
				if !regexp.MustCompile(want).MatchString(lines[i+1]) {
					t.Errorf("journal line %d = %q, want %s", i+1, lines[i+1], want)
				}
			}
			csv := s.ok(nil, "journal", "export", "csv")
			if !strings.HasPrefix(csv, "id,time,kind,state,") || strings.Count(csv, "\n") != 4 {
				t.Errorf("csv export:\n%s", csv)
			}
			jsonl := s.ok(nil, "journal", "export", "jsonl")
			for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
				var row map[string]any
				if err := json.Unmarshal([]byte(line), &row); err != nil || row["masked_pan"] != "411111******1111" {
					t.Errorf("jsonl row %q: %v", line, err)
				}
			}
		})
	}
}

// TestSettlementUpload: the host holds a UnionPay-card transaction the
// terminal never saw, so it reports the domestic class out of balance and
// the terminal uploads that class (the wallet payment; the Visa sale is
// foreign and balanced, so it stays home), printing progress.
func TestSettlementUpload(t *testing.T) {
	s := newShop(t, "cup")
	s.ok(cashier, "sale", "1.00", pan)
	s.ok(cashier, "payment-code", "2.00", "134567890123456789")
	s.host.Record(switchtest.Txn{Terminal: "TERM0001", Batch: s.host.Batch("TERM0001"), STAN: 999999,
		Kind: iso.KindSale, Amount: iso.Amount{Minor: 1, Currency: iso.CNY}})
	out := s.ok(supervisor, "settle")
	for _, want := range []string{"uploading batch: 1 of 1", "out of balance; 1 uploaded", "next 000002"} {
		if !strings.Contains(out, want) {
			t.Errorf("settle lacks %q:\n%s", want, out)
		}
	}
}

// TestRefundAndCancel: once settled, a sale is refunded by RRN and date,
// and cancelling it refunds what is left.
func TestRefundAndCancel(t *testing.T) {
	s := newShop(t, "iso87")
	sale := s.ok(cashier, "sale", "30.00", pan)
	rrn, id := field(t, refRE, sale), field(t, recRE, sale)
	if _, err := s.run(supervisor, "refund", rrn, time.Now().Format(time.DateOnly), "5.00", pan); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("refund before settlement: %v, want not allowed (void it)", err)
	}
	s.ok(supervisor, "settle")
	if out := s.ok(supervisor, "refund", rrn, time.Now().Format(time.DateOnly), "5.00", pan); !strings.Contains(out, "REFUND") {
		t.Errorf("refund printed:\n%s", out)
	}
	if _, err := s.run(supervisor, "refund", rrn, time.Now().Format(time.DateOnly), "25.01", pan); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("refunding more than is left: %v", err)
	}
	if _, err := s.run(supervisor, "cancel", id); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("cancelling a settled sale without the card: %v", err)
	}
	if out := s.ok(supervisor, "cancel", id, pan); !strings.Contains(out, "refunded") || !strings.Contains(out, "CNY 25.00") {
		t.Errorf("cancel printed:\n%s", out)
	}
	if out := s.ok(supervisor, "cancel", id, pan); !strings.Contains(out, "nothing") {
		t.Errorf("a second cancel printed:\n%s", out)
	}
}

// TestDroppedSaleIsReversed: the host keeps the sale but its reply never
// comes; the command fails, the reversal it sends before exiting clears the
// sale, and the journal says so.
func TestDroppedSaleIsReversed(t *testing.T) {
	s := newShop(t, "cup", switchtest.WithFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindSale, Times: 1}))
	out, err := s.run(cashier, "sale", "33.00", pan)
	if !errors.Is(err, isoswitch.ErrOutcomeUnknown) {
		t.Fatalf("sale: %v, want an unknown outcome", err)
	}
	if !strings.Contains(out, "record 1 reversed: nothing was charged") {
		t.Errorf("the command did not report the reversal:\n%s", out)
	}
	if list := s.ok(nil, "journal", "list"); !regexp.MustCompile(`(?m)^1 .*sale +reversed +CNY 33.00`).MatchString(list) {
		t.Errorf("journal:\n%s", list)
	}
	for _, txn := range s.host.Transactions() {
		if txn.Kind == iso.KindSale && txn.State != switchtest.Reversed {
			t.Errorf("the host still holds the sale as %s", txn.State)
		}
	}
	s.ok(cashier, "sale", "12.00", pan) // nothing pending blocks the next one
}

func TestDeclineBalanceAndPaymentCode(t *testing.T) {
	s := newShop(t, "cup")
	out, err := s.run(cashier, "sale", "10.51", pan) // the host's rule: 51, insufficient funds
	if !errors.Is(err, isoswitch.ErrDeclined) || !strings.Contains(out, "SALE DECLINED") || !strings.Contains(out, "51 insufficient funds") {
		t.Errorf("declined sale: %v\n%s", err, out)
	}
	if out := s.ok(cashier, "balance", pan); !strings.Contains(out, "balance    CNY 10000.00") {
		t.Errorf("balance printed:\n%s", out)
	}
	out = s.ok(cashier, "payment-code", "15.50", "134567890123456789")
	if !strings.Contains(out, "134567********6789") || strings.Contains(out, "134567890123456789") {
		t.Errorf("payment code receipt:\n%s", out)
	}
}

// TestJournalDoesNotConnect: journal commands work with no host at all,
// and a missing journal is reported, not created.
func TestJournalDoesNotConnect(t *testing.T) {
	s := newShop(t, "cup")
	s.ok(cashier, "sale", "1.00", pan)
	s.flags = append(s.flags, "-host", refusedAddr(t)) // the last -host wins
	if out := s.ok(nil, "journal", "list"); !strings.Contains(out, "CNY 1.00") {
		t.Errorf("journal list:\n%s", out)
	}
	if _, err := s.run(cashier, "sale", "1.00", pan); err == nil {
		t.Error("a sale without a host succeeded")
	}
	missing := filepath.Join(t.TempDir(), "none.db")
	if err := run(context.Background(), []string{"-journal", missing, "journal", "list"}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("listing a missing journal succeeded")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("listing a missing journal created it")
	}
}

// refusedAddr is a 127.0.0.1 address nothing listens on. (Closing the test's
// Host instead would hang: its cleanup calls Close a second time.)
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCUPNeedsADataKey: without -data-key a CUP terminal cannot send the
// PANs its reversals, keyed voids and batch uploads carry, so the command
// refuses to start and says why; ISO87 runs without one.
func TestCUPNeedsADataKey(t *testing.T) {
	for _, dialect := range []string{"cup", "iso87"} {
		s := newShop(t, dialect)
		for i, f := range s.flags {
			if f == "-data-key" {
				s.flags = append(s.flags[:i:i], s.flags[i+2:]...)
				break
			}
		}
		_, err := s.run(cashier, "sign-on")
		if dialect == "cup" && (!errors.Is(err, isoswitch.ErrDataKeyRequired) || !strings.Contains(err.Error(), "WithDataKey")) {
			t.Errorf("cup without -data-key: %v", err)
		}
		if dialect == "iso87" && err != nil {
			t.Errorf("iso87 without -data-key: %v", err)
		}
	}
}

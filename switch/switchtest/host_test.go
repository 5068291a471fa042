package switchtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// Published test card numbers only.
var visa = iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}

var supervisor = isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}

func dialects(t *testing.T) map[string]iso.Dialect {
	cupD, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	i87, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	h2h, err := iso87.New(iso87.WithProfile(iso87.ProfileHostToHost))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]iso.Dialect{"cup": cupD, "iso87": i87, "iso87_h2h": h2h}
}

func cny(minor int64) iso.Amount { return iso.Amount{Minor: minor, Currency: iso.CNY} }

// terminal starts a terminal with its own journal against h.
func terminal(t *testing.T, h *switchtest.Host, d iso.Dialect, tid iso.TerminalID, opts ...isoswitch.Option) (*isoswitch.Terminal, *reversal.Journal) {
	t.Helper()
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	opts = append([]isoswitch.Option{isoswitch.WithTimeout(300 * time.Millisecond), isoswitch.WithAuthoriser(ops),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 0 }})}, opts...)
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: tid, Merchant: "898310048161234",
		MasterKey: h.TMK, Journal: j}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if err := term.Start(ctx(t), "01"); err != nil {
		t.Fatal(err)
	}
	return term, j
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// settledBalanced settles and requires the host to agree with the journal
// at the first try: the proof that both sides hold the same batch.
func settledBalanced(t *testing.T, term *isoswitch.Terminal) {
	t.Helper()
	if err := term.Drain(ctx(t)); err != nil {
		t.Fatalf("drain before settling: %v", err)
	}
	res, err := term.Settle(ctx(t), supervisor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != iso.VerdictBalanced || res.Uploaded != 0 {
		t.Errorf("host and journal disagree: %+v", res)
	}
}

// TestRulesAndLedger: approvals and declines by the default rule, recorded
// alike by host and terminal; settlement balances.
func TestRulesAndLedger(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, _ := terminal(t, h, d, "TERM0001")
			if _, err := term.Sale(ctx(t), "01", cny(1000), visa); err != nil {
				t.Fatal(err)
			}
			_, err := term.Sale(ctx(t), "01", cny(1051), visa)
			var de *isoswitch.DeclinedError
			if !errors.As(err, &de) || de.Code != iso.CodeInsufficientFunds {
				t.Fatalf("amount ending in 51: %v", err)
			}
			txns := h.Transactions()
			if len(txns) != 2 || txns[0].State != switchtest.Approved || txns[1].State != switchtest.Declined {
				t.Errorf("ledger %+v", txns)
			}
			settledBalanced(t, term)
			if h.Batch("TERM0001") != 2 {
				t.Errorf("host batch %s after the close", h.Batch("TERM0001"))
			}
		})
	}
}

// TestEveryFault: each fault on a sale ends in one known outcome, and the
// host's ledger and the terminal's journal agree at settlement.
func TestEveryFault(t *testing.T) {
	cases := []struct {
		fault    switchtest.Fault
		approved bool // the terminal ends with the sale approved (else reversed)
	}{
		{switchtest.Fault{Action: switchtest.Delay, Delay: time.Second}, false},
		{switchtest.Fault{Action: switchtest.Drop}, false},
		{switchtest.Fault{Action: switchtest.CloseBefore}, false},
		{switchtest.Fault{Action: switchtest.CloseAfter}, true},
		{switchtest.Fault{Action: switchtest.Garble}, false},
		{switchtest.Fault{Action: switchtest.Twice}, true},
		{switchtest.Fault{Action: switchtest.WrongSTAN}, false},
		{switchtest.Fault{Action: switchtest.BreakMAC}, false},
	}
	for name, d := range dialects(t) {
		for _, c := range cases {
			c.fault.Kind, c.fault.Times = iso.KindSale, 1
			t.Run(name+"/"+faultName(c.fault.Action), func(t *testing.T) {
				h := switchtest.NewHost(t, d, switchtest.WithFaults(7, c.fault))
				term, j := terminal(t, h, d, "TERM0001")
				res, err := term.Sale(ctx(t), "01", cny(1200), visa)
				if c.approved {
					if err != nil {
						t.Fatalf("sale: %v", err)
					}
				} else {
					var ou *isoswitch.OutcomeUnknownError
					if !errors.As(err, &ou) {
						t.Fatalf("sale: %v, want an unknown outcome", err)
					}
					res.RecordID = ou.RecordID
				}
				if err := term.Drain(ctx(t)); err != nil {
					t.Fatal(err)
				}
				rec, _ := j.Get(res.RecordID)
				want := map[bool]reversal.State{true: reversal.StateApproved, false: reversal.StateReversed}[c.approved]
				if rec.State != want {
					t.Errorf("journal: %s, want %s", rec.State, want)
				}
				host := h.Transactions()[0]
				hostWant := map[bool]switchtest.TxnState{true: switchtest.Approved, false: switchtest.Reversed}[c.approved]
				if host.State != hostWant {
					t.Errorf("ledger: %s, want %s", host.State, hostWant)
				}
				if _, err := term.Sale(ctx(t), "01", cny(300), visa); err != nil {
					t.Fatalf("the next sale: %v", err)
				}
				settledBalanced(t, term)
			})
		}
	}
}

func faultName(a switchtest.FaultAction) string {
	return map[switchtest.FaultAction]string{switchtest.Delay: "delay", switchtest.Drop: "drop", switchtest.CloseBefore: "close-before",
		switchtest.CloseAfter: "close-after", switchtest.Garble: "garble", switchtest.Twice: "twice",
		switchtest.WrongSTAN: "wrong-stan", switchtest.BreakMAC: "break-mac"}[a]
}

// TestRepeatedRequestGets94: a second terminal journal reusing the same
// terminal ID and STAN is a duplicate to the host.
func TestRepeatedRequestGets94(t *testing.T) {
	d := dialects(t)["iso87"]
	h := switchtest.NewHost(t, d)
	a, _ := terminal(t, h, d, "TERM0009")
	if _, err := a.Sale(ctx(t), "01", cny(100), visa); err != nil {
		t.Fatal(err)
	}
	b, _ := terminal(t, h, d, "TERM0009") // signs on again: the host's key for the ID is now b's
	_, err := b.Sale(ctx(t), "01", cny(100), visa)
	var de *isoswitch.DeclinedError
	if !errors.As(err, &de) || de.Code != iso.CodeDuplicate {
		t.Errorf("repeat: %v", err)
	}
}

// TestVoidRefundQRAndImbalance: voids and refunds as the host allows them,
// a QR order the customer pays, and a batch the host disagrees with,
// uploaded and closed.
func TestVoidRefundQRAndImbalance(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, _ := terminal(t, h, d, "TERM0002")
			s1, err := term.Sale(ctx(t), "01", cny(700), visa)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: s1.STAN}); err != nil {
				t.Fatalf("void: %v", err)
			}
			o, err := term.CreateQROrder(ctx(t), "01", cny(990), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.PayQR(o.Ref); err != nil {
				t.Fatal(err)
			}
			if paid, err := term.QueryQROrder(ctx(t), o.RecordID); err != nil || paid.Status != iso.QRPaid {
				t.Fatalf("query: %+v %v", paid, err)
			}
			settledBalanced(t, term)

			s2, _ := term.Sale(ctx(t), "01", cny(1500), visa)
			// A Visa sale the terminal never saw: the foreign class is out
			// of balance, and only it goes up.
			h.Record(switchtest.Txn{Terminal: "TERM0002", Batch: s2.Batch, STAN: 999, Kind: iso.KindSale, Amount: cny(1), CardOrg: iso.CardOrgVisa})
			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil || res.Verdict != iso.VerdictOutOfBalance || res.Uploaded != 1 {
				t.Fatalf("imbalance: %+v %v", res, err)
			}
			if h.Batch("TERM0002") != res.NextBatch {
				t.Errorf("host batch %s, terminal %s", h.Batch("TERM0002"), res.NextBatch)
			}
			refund, err := term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: s2.RRN, Date: time.Now()}, cny(500), visa)
			if err != nil {
				t.Fatalf("refund: %v", err)
			}
			if refund.Amount != cny(500) {
				t.Errorf("refund %+v", refund)
			}
		})
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// TestManyTerminalsAtOnce: eight terminals sell concurrently against one
// host; each one's batch then settles balanced against the host's ledger.
func TestManyTerminalsAtOnce(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			terms := make([]*isoswitch.Terminal, 8)
			for i := range terms {
				terms[i], _ = terminal(t, h, d, iso.TerminalID(fmt.Sprintf("TERM%04d", 100+i)))
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(terms)*10)
			for _, term := range terms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 10 {
						// No amount ending in 05 or 51: the default rule declines those.
						if _, err := term.Sale(ctx(t), "01", cny(int64(1000+10*i)), visa); err != nil {
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
			for _, term := range terms {
				settledBalanced(t, term)
			}
			if n := len(h.Transactions()); n != 80 {
				t.Errorf("host ledger has %d transactions, want 80", n)
			}
		})
	}
}

// TestReversalOfAnUnknownOriginal: a sale the host never received is
// reversed all the same (the terminal cannot know); the host answers 25,
// which ends the reversal, and its ledger stays empty.
func TestReversalOfAnUnknownOriginal(t *testing.T) {
	d := dialects(t)["cup"]
	h := switchtest.NewHost(t, d)
	term, j := terminal(t, h, d, "TERM0005")
	rec, _, err := j.Prepare(reversal.Intent{Kind: iso.KindSale, Amount: cny(100)}, func(stan iso.STAN, b iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		m, err := d.BuildRequest(iso.Envelope{Terminal: "TERM0005", Merchant: "898310048161234", STAN: stan, Batch: b, Time: time.Now()},
			iso.SaleRequest{Amount: cny(100), Card: visa})
		return m, iso.RecoveryReverse, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.MarkRecoveryPending(rec.ID, iso.ReasonTimeout); err != nil {
		t.Fatal(err)
	}
	if err := term.Drain(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got, _ := j.Get(rec.ID)
	if got.State != reversal.StateReversed || got.Events[len(got.Events)-1].Note != "25" {
		t.Errorf("record %s, last event %+v", got.State, got.Events[len(got.Events)-1])
	}
	if n := len(h.Transactions()); n != 0 {
		t.Errorf("host ledger has %d transactions", n)
	}
}

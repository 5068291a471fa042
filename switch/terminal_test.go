package isoswitch_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// Published test card numbers only.
var (
	visa  = iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	cny10 = iso.Amount{Minor: 1000, Currency: iso.CNY}
)

func dialectsUnderTest(t *testing.T) map[string]iso.Dialect {
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

// newTerminal starts a terminal against h with a fresh journal.
func openJournal(t *testing.T) *reversal.Journal {
	t.Helper()
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(testDataKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func newTerminal(t *testing.T, h *scriptedHost, opts ...isoswitch.Option) (*isoswitch.Terminal, *reversal.Journal) {
	t.Helper()
	j := openJournal(t)
	opts = append([]isoswitch.Option{isoswitch.WithTimeout(200 * time.Millisecond),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 0 }})}, opts...)
	term, err := isoswitch.New(isoswitch.Config{Dialect: h.d, Addr: h.addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: testTMK, Journal: j}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := term.Start(ctx, "01"); err != nil {
		t.Fatalf("start: %v", err)
	}
	return term, j
}

// silentFor is a host script that never answers the given kinds and
// approves everything else.
func silentFor(kinds ...iso.Kind) func(iso.Kind, *iso.Message) (move, iso.ResponseCode) {
	return moveFor(silence, kinds...)
}

// moveFor makes mv for the given kinds and approves everything else.
func moveFor(mv move, kinds ...iso.Kind) func(iso.Kind, *iso.Message) (move, iso.ResponseCode) {
	return func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
		for _, x := range kinds {
			if k == x {
				return mv, "00"
			}
		}
		return answer, "00"
	}
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitState polls the journal until record id reaches want (bounded).
func waitState(t *testing.T, j *reversal.Journal, id uint64, want reversal.State) reversal.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := j.Get(id)
		if err == nil && r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %d is %s, want %s", id, r.State, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSaleApprovedAndDeclined(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			res, err := term.Sale(ctx5(t), "01", cny10, visa)
			if err != nil {
				t.Fatal(err)
			}
			if res.Code != "00" || res.RRN == "" || res.AuthCode != "AP0001" || res.MaskedPAN != "411111******1111" || res.STAN == 0 {
				t.Errorf("result %+v", res)
			}
			if r, _ := j.Get(res.RecordID); r.State != reversal.StateApproved || r.Operator != "01" {
				t.Errorf("journal: %s by %q", r.State, r.Operator)
			}
			h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) { return answer, "51" })
			_, err = term.Sale(ctx5(t), "01", cny10, visa)
			var de *isoswitch.DeclinedError
			if !errors.As(err, &de) || !errors.Is(err, isoswitch.ErrDeclined) || de.Code != "51" {
				t.Fatalf("decline: %v", err)
			}
			if r, _ := j.Get(de.Result.RecordID); r.State != reversal.StateDeclined {
				t.Errorf("declined record is %s", r.State)
			}
			if s := term.Stats(); s.Approved != 1 || s.Declined != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestTimeoutIsReversed: no reply → the outcome is unknown, a reversal goes
// out at once and the journal says so; the next sale goes after it.
func TestTimeoutIsReversed(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			h.setScript(moveFor(silence, iso.KindSale))
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			var ou *isoswitch.OutcomeUnknownError
			if !errors.As(err, &ou) || !errors.Is(err, isoswitch.ErrTimeout) || ou.Reason != iso.ReasonTimeout {
				t.Fatalf("err = %v", err)
			}
			r := waitState(t, j, ou.RecordID, reversal.StateReversed)
			if r.Attempts != 1 {
				t.Errorf("reversed after %d attempts", r.Attempts)
			}
			got := h.requests()
			if got[len(got)-1] != "0400" {
				t.Errorf("host saw %v; want the sale's reversal last", got)
			}
		})
	}
}

// TestLateReplyIsKeptNotApplied: the approval comes after the deadline; the
// sale is reversed and the late approval kept for audit.
func TestLateReplyIsKeptNotApplied(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, j := newTerminal(t, h)
	h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
		if k == iso.KindSale {
			return late, "00"
		}
		return answer, "00"
	})
	_, err := term.Sale(ctx5(t), "01", cny10, visa)
	var ou *isoswitch.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("err = %v", err)
	}
	waitState(t, j, ou.RecordID, reversal.StateReversed)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, _ := j.Get(ou.RecordID)
		if len(r.LateReplies) == 1 {
			if r.State != reversal.StateReversed || r.LateReplies[0].Code != "00" {
				t.Errorf("late approval changed the record: %s %+v", r.State, r.LateReplies)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the late reply was not journaled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if term.Stats().LateReplies != 1 {
		t.Errorf("stats %+v", term.Stats())
	}
}

// TestBadMACIsReversed: an approval whose MAC does not verify is not trusted.
func TestBadMACIsReversed(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			h.setScript(moveFor(badMAC, iso.KindSale))
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			var ou *isoswitch.OutcomeUnknownError
			if !errors.As(err, &ou) || ou.Reason != iso.ReasonBadMAC || !errors.Is(err, iso.ErrMACMismatch) {
				t.Fatalf("err = %v", err)
			}
			waitState(t, j, ou.RecordID, reversal.StateReversed)
		})
	}
}

// TestDisconnectMidCall: the host hangs up after reading the sale; the
// terminal reconnects, signs on again and reverses it.
func TestDisconnectMidCall(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			var once sync.Once
			h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
				mv := answer
				if k == iso.KindSale {
					once.Do(func() { mv = hangUp })
				}
				return mv, "00"
			})
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			var ou *isoswitch.OutcomeUnknownError
			if !errors.As(err, &ou) || !errors.Is(err, isoswitch.ErrConnectionLost) {
				t.Fatalf("err = %v", err)
			}
			waitState(t, j, ou.RecordID, reversal.StateReversed)
			if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
				t.Fatalf("sale after reconnecting: %v", err)
			}
			if h.conns < 2 || term.Stats().Reconnects < 1 {
				t.Errorf("%d connections, stats %+v", h.conns, term.Stats())
			}
		})
	}
}

// TestReSignOnWhenAsked: a reply demanding a new sign-on (A0) makes the
// terminal sign on before its next request.
func TestReSignOnWhenAsked(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, _ := newTerminal(t, h)
	var once sync.Once
	h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
		code := iso.ResponseCode("00")
		if k == iso.KindSale {
			once.Do(func() { code = "A0" })
		}
		return answer, code
	})
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); !errors.Is(err, isoswitch.ErrDeclined) {
		t.Fatalf("A0: %v", err)
	}
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	got := h.requests()
	want := []string{"0800", "0200", "0800", "0200"}
	if len(got) != len(want) {
		t.Fatalf("host saw %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("host saw %v, want %v", got, want)
		}
	}
}

// TestReSignOnWhenTheHeaderAsks: CUP's reply header can ask for a new
// sign-on (processing requirement 3); the terminal signs on before its
// next request.
func TestReSignOnWhenTheHeaderAsks(t *testing.T) {
	h := startHost(t, dialectsUnderTest(t)["cup"])
	term, _ := newTerminal(t, h)
	h.askSignOn.Store(true)
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(h.requests(), " "); got != "0800 0200 0800 0200" {
		t.Errorf("host saw %s", got)
	}
}

// TestConcurrentSales: the terminal is safe for concurrent use; every sale
// gets its own STAN and its own approval.
func TestConcurrentSales(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := term.Sale(ctx5(t), "01", cny10, visa)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			approved, _ := j.ByState(reversal.StateApproved)
			stans := map[iso.STAN]bool{}
			for _, r := range approved {
				stans[r.STAN] = true
			}
			if len(approved) != 20 || len(stans) != 20 {
				t.Errorf("%d approved with %d distinct STANs", len(approved), len(stans))
			}
		})
	}
}

// TestUnreachableSendsNothing: no host → nothing sent, nothing to reverse.
func TestUnreachableSendsNothing(t *testing.T) {
	d := dialectsUnderTest(t)["iso87"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithDialPerTransaction())
	term2, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: "127.0.0.1:1", Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: testTMK, Journal: j}, isoswitch.WithTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// term2 shares the journal but cannot sign on: it sends nothing.
	_, err = term2.Sale(ctx5(t), "01", cny10, visa)
	if !errors.Is(err, isoswitch.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	if p, _ := j.Pending(); len(p) != 0 {
		t.Errorf("%d recoveries queued for a request never sent", len(p))
	}
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Errorf("dial-per-transaction sale: %v", err)
	}
}

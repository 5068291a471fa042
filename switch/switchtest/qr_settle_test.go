package switchtest_test

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// hostTotals are the totals of batch b as the host's ledger holds it,
// settled or not: what it approved and did not see reversed.
func hostTotals(h *switchtest.Host, d iso.Dialect, tid iso.TerminalID, b iso.BatchNumber) iso.Totals {
	var es []iso.BatchEntry
	for _, t := range h.Transactions() {
		if t.Terminal == tid && t.Batch == b && t.State == switchtest.Approved && t.Kind.Financial() {
			es = append(es, iso.BatchEntry{Kind: t.Kind, STAN: t.STAN, Amount: t.Amount, CardOrg: t.CardOrg, Voided: t.VoidedBy != 0})
		}
	}
	return d.Totals(es)
}

// journalTotals are the totals of batch b as the journal holds it.
func journalTotals(t *testing.T, j *reversal.Journal, d iso.Dialect, b iso.BatchNumber) iso.Totals {
	t.Helper()
	es, _, err := j.Entries(b)
	if err != nil {
		t.Fatal(err)
	}
	return d.Totals(es)
}

func qrStatus(t *testing.T, j *reversal.Journal, id uint64) iso.QRStatus {
	t.Helper()
	r, err := j.Get(id)
	if err != nil || r.QR == nil {
		t.Fatalf("record %d: %+v %v", id, r, err)
	}
	return r.QR.Status
}

// TestSettleResolvesWaitingQROrders: orders the terminal still has waiting
// at Settle are resolved before the totals go: one the customer paid is
// booked into the batch and its totals, an expired one ends, one still
// waiting is closed; the host balances at the first try, and none of them
// can be paid afterwards.
func TestSettleResolvesWaitingQROrders(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, j := terminal(t, h, d, "TERM0021")
			if _, err := term.Sale(ctx(t), "01", cny(700), visa); err != nil {
				t.Fatal(err)
			}
			paid, _ := term.CreateQROrder(ctx(t), "01", cny(990), time.Minute)
			waiting, _ := term.CreateQROrder(ctx(t), "01", cny(1200), time.Minute)
			expired, err := term.CreateQROrder(ctx(t), "01", cny(300), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.PayQR(paid.Ref); err != nil { // the terminal has not queried it
				t.Fatal(err)
			}
			if err := h.ExpireQR(expired.Ref); err != nil {
				t.Fatal(err)
			}
			b, _ := j.OpenBatch()
			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != iso.VerdictBalanced || res.Uploaded != 0 {
				t.Errorf("the host and the journal disagree: %+v", res)
			}
			// The Visa sale is foreign in CUP, the wallet payment domestic.
			dom, forn := res.Totals.Domestic, res.Totals.Foreign
			if n, sum := dom.DebitCount+forn.DebitCount, dom.DebitAmount+forn.DebitAmount; n != 2 || sum != 700+990 {
				t.Errorf("settled %d debits of %d, want the sale and the paid order (2 of 1690): %+v", n, sum, res.Totals)
			}
			for id, st := range map[uint64]iso.QRStatus{paid.RecordID: iso.QRPaid, waiting.RecordID: iso.QRClosed, expired.RecordID: iso.QRExpired} {
				if got := qrStatus(t, j, id); got != st {
					t.Errorf("record %d is %s, want %s", id, got, st)
				}
			}
			if got, want := hostTotals(h, d, "TERM0021", b), journalTotals(t, j, d, b); got != want {
				t.Errorf("host totals %+v, journal %+v", got, want)
			}
			if err := h.PayQR(waiting.Ref); !errors.Is(err, switchtest.ErrQRNotWaiting) {
				t.Errorf("paying the order Settle closed: %v", err)
			}
		})
	}
}

// TestSettleQRPaidWhileClosing: the customer pays between the terminal's
// query and its close. The close reports the payment, which is booked
// into the batch being settled, and both sides hold it.
func TestSettleQRPaidWhileClosing(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			var ref string
			var mu sync.Mutex
			var payErr error = errors.New("no close sent")
			trace := isoswitch.WithTrace(func(dir string, m *iso.Message) {
				if dir != "send" {
					return
				}
				if _, req, err := d.ParseRequest(m); err == nil && req.Kind() == iso.KindQROrderClose {
					mu.Lock()
					payErr = h.PayQR(ref) // the wallet pays as the close goes out
					mu.Unlock()
				}
			})
			term, j := terminal(t, h, d, "TERM0022", trace)
			o, err := term.CreateQROrder(ctx(t), "01", cny(4200), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			ref = o.Ref
			mu.Unlock()
			b, _ := j.OpenBatch()
			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			if payErr != nil {
				t.Fatalf("the payment during the close: %v", payErr)
			}
			mu.Unlock()
			if qrStatus(t, j, o.RecordID) != iso.QRPaid {
				t.Errorf("the order paid during the close is not booked paid")
			}
			if res.Verdict != iso.VerdictBalanced || res.Totals.Domestic != (iso.ClassTotals{DebitCount: 1, DebitAmount: 4200}) {
				t.Errorf("settled %+v", res)
			}
			if got, want := hostTotals(h, d, "TERM0022", b), journalTotals(t, j, d, b); got != want {
				t.Errorf("host totals %+v, journal %+v", got, want)
			}
		})
	}
}

// TestSettleQRPaymentRace: the customer pays at some moment while Settle
// runs. Whatever the moment, the payment is either booked into the batch
// on both sides or refused by the host; the host balances, and its ledger
// and the journal hold the same batch.
func TestSettleQRPaymentRace(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, j := terminal(t, h, d, "TERM0023")
			rng := rand.New(rand.NewPCG(7, 7))
			booked, refused := 0, 0
			for i := range 12 {
				o, err := term.CreateQROrder(ctx(t), "01", cny(int64(1000+i)), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := j.OpenBatch()
				delay := time.Duration(rng.IntN(50_000)) * time.Microsecond
				paid := make(chan error, 1)
				go func() { time.Sleep(delay); paid <- h.PayQR(o.Ref) }()
				res, err := term.Settle(ctx(t), supervisor, nil)
				if err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				payErr := <-paid
				status := qrStatus(t, j, o.RecordID)
				switch {
				case payErr == nil && status == iso.QRPaid:
					booked++
				case payErr != nil && status == iso.QRClosed:
					refused++
				default:
					t.Errorf("round %d: payment %v, journal says %s", i, payErr, status)
				}
				if res.Verdict != iso.VerdictBalanced {
					t.Errorf("round %d: verdict %s", i, res.Verdict)
				}
				if got, want := hostTotals(h, d, "TERM0023", b), journalTotals(t, j, d, b); got != want {
					t.Errorf("round %d: host totals %+v, journal %+v", i, got, want)
				}
				if got, want := hostTotals(h, d, "TERM0023", res.NextBatch), (iso.Totals{}); got != want {
					t.Errorf("round %d: a payment landed in the next batch at the host: %+v", i, got)
				}
			}
			t.Logf("booked %d, refused %d", booked, refused)
		})
	}
}

// TestSettleRefusedWhileQRCloseUnconfirmed: when the close of a waiting
// order goes unanswered, or the host cannot be reached, Settle refuses
// with the order named: no settlement goes out and the batch stays open.
// The next Settle, with the host answering, resolves the order and closes
// the batch.
func TestSettleRefusedWhileQRCloseUnconfirmed(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d, switchtest.WithFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindQROrderClose, Times: 1}))
			var mu sync.Mutex
			settlements := 0
			trace := isoswitch.WithTrace(func(dir string, m *iso.Message) {
				if _, req, err := d.ParseRequest(m); dir == "send" && err == nil && req.Kind() == iso.KindSettlement {
					mu.Lock()
					settlements++
					mu.Unlock()
				}
			})
			term, j := terminal(t, h, d, "TERM0024", trace)
			if _, err := term.Sale(ctx(t), "01", cny(500), visa); err != nil {
				t.Fatal(err)
			}
			o, err := term.CreateQROrder(ctx(t), "01", cny(800), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := j.OpenBatch()
			hostBatch := h.Batch("TERM0024")
			_, err = term.Settle(ctx(t), supervisor, nil)
			var pe *isoswitch.QROrderPendingError
			if !errors.As(err, &pe) || !errors.Is(err, isoswitch.ErrQROrderPending) {
				t.Fatalf("settle with the close unanswered: %v", err)
			}
			if pe.RecordID != o.RecordID || pe.Ref != o.Ref || pe.Batch != b || pe.Err == nil {
				t.Errorf("the refusal names %+v, want record %d order %s", pe, o.RecordID, o.Ref)
			}
			mu.Lock()
			if settlements != 0 {
				t.Errorf("%d settlements sent despite the refusal", settlements)
			}
			mu.Unlock()
			if st, _ := j.Batch(b); st.Status != reversal.BatchOpen {
				t.Errorf("batch is %s after the refusal", st.Status)
			}
			if nb, _ := j.OpenBatch(); nb != b || h.Batch("TERM0024") != hostBatch {
				t.Errorf("a batch advanced: journal %s host %s", nb, h.Batch("TERM0024"))
			}

			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil || res.Verdict != iso.VerdictBalanced {
				t.Fatalf("settle again: %+v %v", res, err)
			}
			if qrStatus(t, j, o.RecordID) != iso.QRClosed {
				t.Errorf("the order is not closed after the settlement")
			}
			if err := h.PayQR(o.Ref); err == nil {
				t.Errorf("the order was paid after its batch closed")
			}
			if got, want := hostTotals(h, d, "TERM0024", b), journalTotals(t, j, d, b); got != want {
				t.Errorf("host totals %+v, journal %+v", got, want)
			}

			// The host out of reach: refused too, nothing changes.
			o2, err := term.CreateQROrder(ctx(t), "01", cny(900), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := j.OpenBatch()
			h.Close()
			if _, err := term.Settle(ctx(t), supervisor, nil); !errors.As(err, &pe) || pe.RecordID != o2.RecordID {
				t.Fatalf("settle with the host gone: %v", err)
			}
			if st, _ := j.Batch(b2); st.Status != reversal.BatchOpen || qrStatus(t, j, o2.RecordID) != iso.QRWaiting {
				t.Errorf("batch %s, order %s after the refusal", st.Status, qrStatus(t, j, o2.RecordID))
			}
		})
	}
}

// TestHostEndsOrdersOfAClosedBatch: an order whose creation the terminal
// never heard answered is unknown to it, so Settle cannot resolve it. The
// host ends it with the batch, and the customer's payment afterwards is
// refused: it lands in no batch on either side.
func TestHostEndsOrdersOfAClosedBatch(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d, switchtest.WithFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindQROrderCreate, Times: 1}))
			term, j := terminal(t, h, d, "TERM0025")
			if _, err := term.CreateQROrder(ctx(t), "01", cny(600), time.Minute); err == nil {
				t.Fatal("the create's reply was dropped, yet it succeeded")
			}
			orders := h.QROrders()
			if len(orders) != 1 || orders[0].Status != iso.QRWaiting {
				t.Fatalf("host orders %+v", orders)
			}
			b, _ := j.OpenBatch()
			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil || res.Verdict != iso.VerdictBalanced {
				t.Fatalf("settle: %+v %v", res, err)
			}
			if err := h.PayQR(orders[0].Ref); !errors.Is(err, switchtest.ErrQRBatchClosed) {
				t.Errorf("payment after the close: %v, want ErrQRBatchClosed", err)
			}
			if o := h.QROrders()[0]; o.Status != iso.QRClosed || !o.BatchClosed {
				t.Errorf("host order after the close %+v", o)
			}
			for _, bb := range []iso.BatchNumber{b, res.NextBatch} {
				if got, want := hostTotals(h, d, "TERM0025", bb), journalTotals(t, j, d, bb); got != want {
					t.Errorf("batch %s: host totals %+v, journal %+v", bb, got, want)
				}
			}
		})
	}
}

// TestSettleEndsAnOrderTheHostDoesNotKnow: a host that answers 25 to the
// close holds no such order (here: a host restarted without its orders),
// so nothing can pay it; Settle ends it closed instead of refusing forever.
func TestSettleEndsAnOrderTheHostDoesNotKnow(t *testing.T) {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	h1 := switchtest.NewHost(t, d)
	term, j := terminal(t, h1, d, "TERM0026")
	o, err := term.CreateQROrder(ctx(t), "01", cny(700), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	addr := h1.Addr
	h1.Close()
	h2 := switchtest.NewHost(t, d, switchtest.WithAddr(addr))
	if err := term.SignOn(ctx(t), "01"); err != nil { // the new host issues new keys
		t.Fatal(err)
	}
	res, err := term.Settle(ctx(t), supervisor, nil)
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	if res.Verdict != iso.VerdictBalanced || qrStatus(t, j, o.RecordID) != iso.QRClosed {
		t.Errorf("verdict %s, order %s", res.Verdict, qrStatus(t, j, o.RecordID))
	}
	if h2.Batch("TERM0026") != res.NextBatch {
		t.Errorf("host batch %s, terminal %s", h2.Batch("TERM0026"), res.NextBatch)
	}
}

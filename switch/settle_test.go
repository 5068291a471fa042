package isoswitch_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// settleScript answers everything, and the first settlement with verdict;
// hangAt, when positive, hangs up on that batch-upload message.
func settleScript(verdict iso.ResponseCode, hangAt int) func(iso.Kind, *iso.Message) (move, iso.ResponseCode) {
	var mu sync.Mutex
	settlements, uploads := 0, 0
	return func(k iso.Kind, req *iso.Message) (move, iso.ResponseCode) {
		mu.Lock()
		defer mu.Unlock()
		switch k {
		case iso.KindSettlement:
			settlements++
			if settlements == 1 {
				return answer, verdict
			}
		case iso.KindBatchUpload:
			uploads++
			if uploads == hangAt {
				return hangUp, "00"
			}
		}
		return answer, "00"
	}
}

func sales(t *testing.T, term *isoswitch.Terminal, n int) []isoswitch.Result {
	var out []isoswitch.Result
	for i := range n {
		r, err := term.Sale(ctx5(t), "01", iso.Amount{Minor: int64(100 * (i + 1)), Currency: iso.CNY}, visa)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestSettleBalanced: the host agrees; the batch closes and the next sale
// goes into the next batch.
func TestSettleBalanced(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
			done := sales(t, term, 3)
			if _, err := term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: done[1].STAN}); err != nil {
				t.Fatal(err)
			}
			if _, err := term.Settle(ctx5(t), cashier, nil); !errors.Is(err, isoswitch.ErrUnauthorised) {
				t.Fatalf("cashier settled: %v", err)
			}
			res, err := term.Settle(ctx5(t), supervisor, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != iso.VerdictBalanced || res.NextBatch != res.Batch.Next() || res.Uploaded != 0 {
				t.Errorf("result %+v", res)
			}
			want := d.Totals([]iso.BatchEntry{
				{Kind: iso.KindSale, Amount: done[0].Amount}, {Kind: iso.KindSale, Amount: done[1].Amount, Voided: true},
				{Kind: iso.KindSale, Amount: done[2].Amount}, {Kind: iso.KindVoid, Amount: done[1].Amount}})
			if res.Totals != want {
				t.Errorf("totals %+v, want %+v", res.Totals, want)
			}
			if r, _ := j.Get(done[0].RecordID); !r.Settled {
				t.Error("sale not settled")
			}
			next, err := term.Sale(ctx5(t), "01", cny10, visa)
			if err != nil || next.Batch != res.NextBatch {
				t.Errorf("next sale in batch %s (%v)", next.Batch, err)
			}
		})
	}
}

// TestSettleOutOfBalanceUploads: the host disagrees; the terminal uploads
// the batch the dialect's way and closes it.
func TestSettleOutOfBalanceUploads(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, _ := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
			sales(t, term, 3)
			h.setScript(settleScript(iso.CodeReconcileError, 0))
			var calls []int
			res, err := term.Settle(ctx5(t), supervisor, func(done, total int) { calls = append(calls, done) })
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != iso.VerdictOutOfBalance || res.Uploaded != 3 {
				t.Errorf("result %+v", res)
			}
			got := strings.Join(h.requests(), " ")
			want := map[string]string{
				"cup":       "0500 0320 0320",           // one packed upload, then the upload end
				"iso87":     "0500 0320 0320 0320 0500", // one upload a sale, then 960000
				"iso87_h2h": "0500 0320 0320 0320 0500",
			}[name]
			if !strings.HasSuffix(got, want) {
				t.Errorf("host saw %s, want it to end %s", got, want)
			}
			if calls[len(calls)-1] != 3 {
				t.Errorf("progress %v", calls)
			}
		})
	}
}

// TestSettleResumesAfterInterruption: the connection drops mid-upload; the
// next Settle uploads only what the host has not acknowledged, then closes.
func TestSettleResumesAfterInterruption(t *testing.T) {
	d := dialectsUnderTest(t)["iso87"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
	sales(t, term, 3)
	h.setScript(settleScript(iso.CodeReconcileError, 2))
	if _, err := term.Settle(ctx5(t), supervisor, nil); err == nil {
		t.Fatal("settlement survived a hang-up mid-upload")
	}
	batch, _ := j.OpenBatch()
	if st, _ := j.Batch(batch); st.Status != reversal.BatchUploading || st.Uploaded != 1 {
		t.Fatalf("batch after the interruption: %+v", st)
	}
	before := len(h.requests())
	h.setScript(settleScript(iso.CodeApproved, 0))
	res, err := term.Settle(ctx5(t), supervisor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.requests()[before:]; strings.Count(strings.Join(got, " "), "0320") != 2 {
		t.Errorf("resumed with %v, want the two entries left and the close", got)
	}
	if res.NextBatch != batch.Next() {
		t.Errorf("batch did not advance: %+v", res)
	}
}

// TestSettleWaitsForPendingReversals: nothing settles while a reversal is
// pending (within its policy's sends); the batch number stays.
func TestSettleWaitsForPendingReversals(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 0 }, GiveUpAfter: 1000}))
	h.setScript(silentFor(iso.KindSale, iso.KindReversal))
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); !errors.Is(err, isoswitch.ErrOutcomeUnknown) {
		t.Fatal(err)
	}
	before, _ := j.OpenBatch()
	ctx, cancel := context.WithTimeout(context.Background(), 3e9)
	defer cancel()
	if _, err := term.Settle(ctx, supervisor, nil); !errors.Is(err, reversal.ErrRecoveryPending) {
		t.Fatalf("settled with a reversal pending: %v", err)
	}
	if after, _ := j.OpenBatch(); after != before {
		t.Error("batch advanced")
	}
}

// TestBatchLimit: a batch as full as the dialect can settle takes no new
// sale; the refusal says to settle first.
func TestBatchLimit(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	if d.BatchLimit() != 999 {
		t.Fatalf("CUP batch limit %d", d.BatchLimit())
	}
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
	batch, _ := j.OpenBatch()
	// Fill the batch without the network: the journal's records are what
	// the limit counts.
	for i := range 999 {
		_, _, err := j.Prepare(reversal.Intent{Kind: iso.KindSale, Amount: cny10}, func(stan iso.STAN, b iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
			m, err := d.BuildRequest(iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: b, Time: time.Now()},
				iso.SaleRequest{Amount: cny10, Card: visa})
			return m, iso.RecoveryReverse, err
		})
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	_, err := term.Sale(ctx5(t), "01", cny10, visa)
	var na *isoswitch.NotAllowedError
	if !errors.As(err, &na) || na.Instead != "settle first" {
		t.Fatalf("sale into a full batch: %v", err)
	}
	if n, _ := j.BatchSize(batch); n != 999 {
		t.Errorf("batch holds %d", n)
	}
}

package reversal_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// TestCloseBatchEndsWaitingQROrders: a QR order still waiting when its
// batch closes ends closed with it, and a payment reported afterwards is
// refused (ErrQRBatchClosed): nothing lands in a closed batch. A paid
// order of the batch stays paid and settled.
func TestCloseBatchEndsWaitingQROrders(t *testing.T) {
	j := tjOpen(t)
	d := tjCUP(t)
	order := func(ref string) reversal.Record {
		rec := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindQROrderCreate, Operator: "01", Amount: iso.Amount{Minor: 800, Currency: iso.CNY}},
			iso.QROrderCreateRequest{Amount: iso.Amount{Minor: 800, Currency: iso.CNY}, Validity: time.Minute})
		if _, err := j.Approve(rec.ID, reversal.Outcome{Code: iso.CodeApproved}); err != nil {
			t.Fatal(err)
		}
		if _, err := j.SetQROrder(rec.ID, reversal.QROrder{Ref: ref, Status: iso.QRWaiting}, reversal.Outcome{}); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	waiting, paid := order("QRW1"), order("QRP1")
	if _, err := j.SetQROrder(paid.ID, reversal.QROrder{Status: iso.QRPaid}, reversal.Outcome{Code: iso.CodeApproved, RRN: "000000000042"}); err != nil {
		t.Fatal(err)
	}
	b, _ := j.OpenBatch()
	if err := j.SetBatchStatus(b, reversal.BatchSettling); err != nil {
		t.Fatal(err)
	}
	if err := j.CloseBatch(b, 0); err != nil {
		t.Fatal(err)
	}
	w, _ := j.Get(waiting.ID)
	if w.QR.Status != iso.QRClosed || w.QR.Ref != "QRW1" || !w.Settled || w.InBatch() {
		t.Errorf("waiting order after the close: %+v", w.QR)
	}
	if _, err := j.SetQROrder(waiting.ID, reversal.QROrder{Status: iso.QRPaid}, reversal.Outcome{Code: iso.CodeApproved}); !errors.Is(err, reversal.ErrQRBatchClosed) {
		t.Errorf("payment after the close: %v, want ErrQRBatchClosed", err)
	}
	if w2, _ := j.Get(waiting.ID); w2.QR.Status != iso.QRClosed || w2.RRN != "" {
		t.Errorf("the refused payment changed the record: %+v", w2)
	}
	p, _ := j.Get(paid.ID)
	if p.QR.Status != iso.QRPaid || !p.Settled || !p.InBatch() {
		t.Errorf("paid order after the close: %+v settled %v", p.QR, p.Settled)
	}
	if _, err := j.SetQROrder(paid.ID, reversal.QROrder{Status: iso.QRPaid}, reversal.Outcome{}); err != nil {
		t.Errorf("repeating the paid status of a settled order: %v", err)
	}
}

package isoswitch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestQROrderPaidOnce: an order the customer pays enters the batch once,
// however many times it is queried; a closed or expired one never does.
func TestQROrderPaidOnce(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			o, err := term.CreateQROrder(ctx5(t), "01", cny10, 2*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != iso.QRWaiting || o.Ref == "" || o.Payload == "" || o.Expires.Before(time.Now()) {
				t.Fatalf("created %+v", o)
			}
			if q, _ := term.QueryQROrder(ctx5(t), o.RecordID); q.Status != iso.QRWaiting || q.Payment != nil {
				t.Errorf("unpaid query %+v", q)
			}
			h.setOrder(o.Ref, iso.QRPaid)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			paid, err := term.WaitQROrder(ctx, o.RecordID, 10*time.Millisecond)
			if err != nil || paid.Status != iso.QRPaid || paid.Payment == nil || paid.Payment.AuthCode != "QRPAID" {
				t.Fatalf("wait: %+v %v", paid, err)
			}
			for range 3 {
				term.QueryQROrder(ctx5(t), o.RecordID)
			}
			batch, _ := j.OpenBatch()
			entries, _, _ := j.Entries(batch)
			if len(entries) != 1 || entries[0].Kind != iso.KindPaymentCodeSale || entries[0].Amount != cny10 {
				t.Errorf("batch entries %+v", entries)
			}

			closed, _ := term.CreateQROrder(ctx5(t), "01", cny10, time.Minute)
			if c, err := term.CloseQROrder(ctx5(t), closed.RecordID); err != nil || c.Status != iso.QRClosed {
				t.Errorf("close: %+v %v", c, err)
			}
			expired, _ := term.CreateQROrder(ctx5(t), "01", cny10, time.Second)
			h.setOrder(expired.Ref, iso.QRExpired)
			if e, _ := term.QueryQROrder(ctx5(t), expired.RecordID); e.Status != iso.QRExpired {
				t.Errorf("expired: %+v", e)
			}
			if entries, _, _ := j.Entries(batch); len(entries) != 1 {
				t.Errorf("closed or expired orders entered the batch: %d entries", len(entries))
			}
		})
	}
}

// TestCancelDecides: Cancel picks the right undo from the journal and says
// what it did.
func TestCancelDecides(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) { cancelDecides(t, d) })
	}
}

func cancelDecides(t *testing.T, d iso.Dialect) {
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
	ctx := ctx5(t)

	if _, err := term.Cancel(ctx, cashier, 1, nil); !errors.Is(err, isoswitch.ErrUnauthorised) {
		t.Errorf("cashier cancel: %v", err)
	}

	sale, _ := term.Sale(ctx, "01", cny10, visa)
	c, err := term.Cancel(ctx, supervisor, sale.RecordID, nil)
	if err != nil || c.Action != isoswitch.CancelVoided {
		t.Fatalf("open batch: %+v %v", c, err)
	}
	if c, _ := term.Cancel(ctx, supervisor, sale.RecordID, nil); c.Action != isoswitch.CancelNothing {
		t.Errorf("twice: %+v", c)
	}

	unpaid, _ := term.CreateQROrder(ctx, "01", cny10, time.Minute)
	if c, err := term.Cancel(ctx, supervisor, unpaid.RecordID, nil); err != nil || c.Action != isoswitch.CancelClosed {
		t.Errorf("unpaid QR: %+v %v", c, err)
	}
	paidMeanwhile, _ := term.CreateQROrder(ctx, "01", cny10, time.Minute)
	h.setOrder(paidMeanwhile.Ref, iso.QRPaid)
	c, err = term.Cancel(ctx, supervisor, paidMeanwhile.RecordID, nil)
	if err != nil || c.Action != isoswitch.CancelVoided {
		t.Errorf("QR paid meanwhile: %+v %v", c, err)
	}

	h.setScript(silentFor(iso.KindSale))
	_, err = term.Sale(ctx, "01", cny10, visa)
	var ou *isoswitch.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatal(err)
	}
	c, err = term.Cancel(ctx, supervisor, ou.RecordID, nil)
	if err != nil || (c.Action != isoswitch.CancelReversed && c.Action != isoswitch.CancelNothing) {
		t.Errorf("unknown outcome: %+v %v", c, err)
	}
	waitState(t, j, ou.RecordID, reversal.StateReversed)

	h.setScript(func(iso.Kind, *iso.Message) (move, iso.ResponseCode) { return answer, "00" })
	settled, _ := term.Sale(ctx, "01", cny10, visa)
	if _, err := term.Settle(ctx, supervisor, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Cancel(ctx, supervisor, settled.RecordID, nil); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("settled without the card: %v", err)
	}
	c, err = term.Cancel(ctx, supervisor, settled.RecordID, &visa)
	if err != nil || c.Action != isoswitch.CancelRefunded || c.Result.Amount != cny10 {
		t.Errorf("settled: %+v %v", c, err)
	}
}

package isoswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// QROrder is a merchant-presented order: the terminal shows Payload as a
// QR code, the customer's wallet scans and pays it.
type QROrder struct {
	RecordID uint64
	Ref      string
	Payload  string
	Expires  time.Time
	Status   iso.QRStatus
	Amount   iso.Amount
	// Payment is the approved transaction once the order is paid.
	Payment *Result
}

func qrOrderOf(r reversal.Record) QROrder {
	o := QROrder{RecordID: r.ID, Amount: r.Amount}
	if r.QR != nil {
		o.Ref, o.Payload, o.Expires, o.Status = r.QR.Ref, r.QR.Payload, r.QR.Expires, r.QR.Status
	}
	if r.QRPaid() {
		res := resultOf(r)
		res.Kind = iso.KindPaymentCodeSale
		o.Payment = &res
	}
	return o
}

// CreateQROrder asks the host for an order of amount, valid for validity.
// Creating moves no money: a lost reply needs no reversal (the order
// expires unpaid).
func (t *Terminal) CreateQROrder(ctx context.Context, op iso.OperatorCode, amount iso.Amount, validity time.Duration) (QROrder, error) {
	if err := t.ensureSignedOn(ctx); err != nil {
		return QROrder{}, err
	}
	d := t.cfg.Dialect
	rec, msg, err := t.cfg.Journal.Prepare(reversal.Intent{Kind: iso.KindQROrderCreate, Operator: op, Amount: amount},
		func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
			m, err := d.BuildRequest(t.envelope(stan, batch, op), iso.QROrderCreateRequest{Amount: amount, Validity: validity})
			return m, iso.RecoveryNone, err
		})
	if err != nil {
		return QROrder{}, err
	}
	reply, err := t.exchange(ctx, msg)
	if err != nil {
		if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotSignedOn) {
			t.notSent(rec.ID, err.Error())
		} else if _, jerr := t.cfg.Journal.MarkNoReply(rec.ID); jerr != nil {
			return QROrder{}, jerr
		}
		return QROrder{}, err
	}
	resp, err := d.ParseResponse(msg, reply)
	if err != nil {
		t.cfg.Journal.MarkNoReply(rec.ID)
		return QROrder{}, err
	}
	r := resp.(iso.QROrderResponse)
	if !r.Code.Approved() {
		declined, _ := t.cfg.Journal.Decline(rec.ID, reversal.Outcome{Code: r.Code})
		return QROrder{}, &DeclinedError{Code: r.Code, Result: resultOf(declined)}
	}
	if _, err := t.cfg.Journal.Approve(rec.ID, reversal.Outcome{Code: r.Code, HostTime: r.HostTime}); err != nil {
		return QROrder{}, err
	}
	return t.recordQR(rec.ID, r)
}

// QueryQROrder asks the host once where an order stands. A paid order
// enters the journal's batch as an approved payment, once, however often
// it is queried.
func (t *Terminal) QueryQROrder(ctx context.Context, recordID uint64) (QROrder, error) {
	return t.qrExchange(ctx, recordID, func(ref string) iso.Request { return iso.QROrderQueryRequest{OrderRef: ref} })
}

// WaitQROrder queries every interval until the order is paid, closed or
// expired, or ctx ends.
func (t *Terminal) WaitQROrder(ctx context.Context, recordID uint64, every time.Duration) (QROrder, error) {
	for {
		o, err := t.QueryQROrder(ctx, recordID)
		if err == nil && o.Status != iso.QRWaiting {
			return o, nil
		}
		select {
		case <-ctx.Done():
			return o, ctx.Err()
		case <-time.After(every):
		}
	}
}

// CloseQROrder closes an order while it is unpaid. If the host says it was
// paid meanwhile, the order is recorded paid and a *NotAllowedError says
// so: void it (Cancel does).
func (t *Terminal) CloseQROrder(ctx context.Context, recordID uint64) (QROrder, error) {
	o, err := t.qrExchange(ctx, recordID, func(ref string) iso.Request { return iso.QROrderCloseRequest{OrderRef: ref} })
	if err == nil && o.Status == iso.QRPaid {
		return o, &NotAllowedError{Why: "the customer paid the order before it closed", Instead: "void it"}
	}
	return o, err
}

// qrExchange sends a query or close for an order and journals the answer.
func (t *Terminal) qrExchange(ctx context.Context, recordID uint64, req func(ref string) iso.Request) (QROrder, error) {
	rec, err := t.cfg.Journal.Get(recordID)
	if err != nil {
		return QROrder{}, err
	}
	if rec.Kind != iso.KindQROrderCreate || rec.QR == nil {
		return QROrder{}, &NotAllowedError{Why: fmt.Sprintf("record %d is not a QR order the host accepted", recordID)}
	}
	if rec.QR.Status != iso.QRWaiting {
		return qrOrderOf(rec), nil // final: nothing to ask
	}
	resp, err := t.network(ctx, rec.Operator, req(rec.QR.Ref))
	if err != nil {
		return qrOrderOf(rec), err
	}
	r, ok := resp.(iso.QROrderResponse)
	if !ok || !r.Code.Approved() {
		return qrOrderOf(rec), &DeclinedError{Code: resp.Result()}
	}
	return t.recordQR(recordID, r)
}

func (t *Terminal) recordQR(id uint64, r iso.QROrderResponse) (QROrder, error) {
	o := reversal.QROrder{Ref: r.Order.Ref, Payload: r.Order.Payload, Expires: r.Order.Expires, Status: r.Order.Status}
	if o.Status == 0 {
		o.Status = iso.QRWaiting
	}
	rec, err := t.cfg.Journal.SetQROrder(id, o, reversal.Outcome{Code: r.Code, RRN: r.RRN, AuthCode: r.AuthCode, HostTime: r.HostTime})
	if err != nil {
		return QROrder{}, err
	}
	if o.Status == iso.QRPaid {
		t.stats.approved.Add(1)
	}
	return qrOrderOf(rec), nil
}

// ErrQROrderPending is matched by every *QROrderPendingError.
var ErrQROrderPending = errors.New("isoswitch: a QR order of the batch is still waiting")

// QROrderPendingError refuses a settlement: an order of the batch is still
// waiting and the host did not confirm its close (the close failed, was
// declined, or the host could not be reached). No settlement message was
// sent and the batch stays open; settle again once the host answers, or
// close the order (CloseQROrder) first.
type QROrderPendingError struct {
	RecordID uint64
	Ref      string
	Batch    iso.BatchNumber
	Err      error // why the close was not confirmed
}

func (e *QROrderPendingError) Error() string {
	return fmt.Sprintf("isoswitch: settlement of batch %s refused: QR order %s (record %d) is still waiting, its close was not confirmed: %v",
		e.Batch, e.Ref, e.RecordID, e.Err)
}

func (e *QROrderPendingError) Is(target error) bool { return target == ErrQROrderPending }
func (e *QROrderPendingError) Unwrap() error        { return e.Err }

// resolveQROrders ends every order of batch that is still waiting, before
// its settlement is sent: each is queried; a paid one enters the batch
// (and so its totals), a closed or expired one ends; one still waiting is
// closed, and if the customer paid it meanwhile the close says so and it
// enters the batch too; one the host answers 25 to (it holds no such
// order, so nothing can pay it) ends closed. An order whose close the host
// does not confirm otherwise refuses the settlement (*QROrderPendingError).
//
// Refusing, rather than carrying the order into the next batch, because
// the host files an order's payment under the batch the order was created
// in and no message tells it that the order moved: a carried order paid
// later would land in a batch both sides have already reconciled, which
// is the fault this prevents. The host is needed to settle anyway, so the
// refusal only waits for what settlement waits for.
func (t *Terminal) resolveQROrders(ctx context.Context, batch iso.BatchNumber) error {
	waiting, err := t.cfg.Journal.Find(func(r reversal.Record) bool {
		return r.Batch == batch && r.Kind == iso.KindQROrderCreate && r.State == reversal.StateApproved &&
			!r.Settled && r.QR != nil && r.QR.Status == iso.QRWaiting
	})
	if err != nil {
		return err
	}
	for _, r := range waiting {
		if o, err := t.QueryQROrder(ctx, r.ID); err == nil && o.Status != iso.QRWaiting {
			continue
		}
		o, err := t.CloseQROrder(ctx, r.ID)
		if o.Status != iso.QRWaiting {
			continue // closed, expired, or paid meanwhile: final, and in the batch if paid
		}
		var de *DeclinedError
		if errors.As(err, &de) && de.Code == iso.CodeOriginalNotFound {
			// The host holds no such order (25): nothing can pay it. It
			// ends closed here, or the batch could never settle.
			if _, err := t.cfg.Journal.SetQROrder(r.ID, reversal.QROrder{Status: iso.QRClosed}, reversal.Outcome{Code: de.Code}); err != nil {
				return err
			}
			continue
		}
		if err == nil {
			err = errors.New("the host still reports it waiting")
		}
		return &QROrderPendingError{RecordID: r.ID, Ref: r.QR.Ref, Batch: batch, Err: err}
	}
	return nil
}

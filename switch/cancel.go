package isoswitch

import (
	"context"
	"errors"
	"fmt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// CancelAction is what Cancel did.
type CancelAction string

const (
	CancelReversed CancelAction = "reversed" // the outcome was unknown: reversed
	CancelVoided   CancelAction = "voided"   // approved in the open batch: voided
	CancelRefunded CancelAction = "refunded" // settled: refunded what was left
	CancelClosed   CancelAction = "closed"   // an unpaid QR order: closed, nothing charged
	CancelNothing  CancelAction = "nothing"  // already cancelled, never approved, or expired
)

// CancelResult says what Cancel did and why.
type CancelResult struct {
	Action CancelAction
	Why    string
	Result *Result // the void, refund or reversed record
}

// Cancel is the merchant's "undo this payment", deciding from the journal:
// outcome unknown → reversal; approved in the open batch → void; settled,
// or of another day or batch where the host voids only the same day's
// (CUP) → refund of what is left (card is then required; Why says which
// rule chose the refund); already cancelled or
// never approved → nothing; a QR order not yet paid → close it (and void it
// if the host says it was paid meanwhile); an expired QR order → nothing.
// Who must be allowed to cancel.
func (t *Terminal) Cancel(ctx context.Context, who Credentials, recordID uint64, card *iso.Card) (CancelResult, error) {
	op, err := t.authorise(ctx, who, ActionCancel)
	if err != nil {
		return CancelResult{}, err
	}
	t.undoMu.Lock()
	defer t.undoMu.Unlock()
	rec, err := t.cfg.Journal.Get(recordID)
	if err != nil {
		return CancelResult{}, err
	}
	if rec.Kind == iso.KindQROrderCreate && rec.QR != nil && rec.QR.Status == iso.QRWaiting {
		o, err := t.CloseQROrder(ctx, rec.ID)
		switch {
		case errors.Is(err, ErrNotAllowed) && o.Status == iso.QRPaid:
			if rec, err = t.cfg.Journal.Get(recordID); err != nil {
				return CancelResult{}, err
			}
			// paid meanwhile: fall through to the void below
		case err != nil:
			return CancelResult{}, err
		case o.Status == iso.QRClosed:
			return CancelResult{Action: CancelClosed, Why: "the order was not paid; it is closed and nothing was charged"}, nil
		default:
			return nothing("the order is " + o.Status.String())
		}
	}
	switch {
	case rec.Kind == iso.KindVoid || rec.Kind == iso.KindRefund:
		return CancelResult{}, &NotAllowedError{Why: fmt.Sprintf("record %d is a %s", rec.ID, rec.Kind), Instead: "cancel the sale it belongs to"}
	case rec.QR != nil && rec.QR.Status == iso.QRExpired:
		return nothing("the order expired unpaid; nothing was charged")
	case rec.QR != nil && rec.QR.Status == iso.QRClosed:
		return nothing("the order was closed unpaid; nothing was charged")
	case rec.State == reversal.StatePrepared || rec.State == reversal.StateRecoveryPending:
		return t.cancelUnknown(ctx, rec)
	case rec.State == reversal.StateReversed:
		return nothing("it was already reversed")
	case rec.State == reversal.StateDeclined || rec.State == reversal.StateNotSent || rec.State == reversal.StateNoReply:
		return nothing("it was never approved")
	case rec.State == reversal.StateGivenUp || rec.State == reversal.StateUnconfirmed:
		return CancelResult{}, &NotAllowedError{Why: "it is an exception record", Instead: "settle it with the acquirer"}
	case rec.Voided():
		return nothing(fmt.Sprintf("it was already voided (record %d)", rec.VoidedBy))
	case !rec.InBatch():
		return nothing("nothing was charged")
	case rec.Settled:
		return t.cancelSettled(ctx, op, rec, card, "its batch is settled")
	}
	var window *VoidWindowError
	if err := t.checkVoid(rec); errors.As(err, &window) {
		return t.cancelSettled(ctx, op, rec, card, fmt.Sprintf("the host voids only a sale of the same day and batch, and it is of %s, batch %s",
			window.SaleDay.Format("2006-01-02"), window.SaleBatch))
	} else if err != nil {
		return CancelResult{}, err
	}
	res, err := t.voidRecord(ctx, op, rec)
	if err != nil {
		return CancelResult{}, err
	}
	return CancelResult{Action: CancelVoided, Why: "approved in the open batch", Result: &res}, nil
}

func nothing(why string) (CancelResult, error) {
	return CancelResult{Action: CancelNothing, Why: why}, nil
}

// cancelUnknown makes sure an unknown outcome is reversed and waits for it.
func (t *Terminal) cancelUnknown(ctx context.Context, rec reversal.Record) (CancelResult, error) {
	if rec.State == reversal.StatePrepared {
		var err error
		if rec, err = t.cfg.Journal.MarkRecoveryPending(rec.ID, iso.ReasonCustomerCancel); err != nil {
			return CancelResult{}, err
		}
	}
	if err := t.drain(ctx); err != nil {
		return CancelResult{}, err
	}
	rec, err := t.cfg.Journal.Get(rec.ID)
	if err != nil {
		return CancelResult{}, err
	}
	res := resultOf(rec)
	return CancelResult{Action: CancelReversed, Why: "its outcome was unknown", Result: &res}, nil
}

// cancelSettled refunds what is left of a sale that can no longer be
// voided; why says which rule made it a refund.
func (t *Terminal) cancelSettled(ctx context.Context, op iso.OperatorCode, rec reversal.Record, card *iso.Card, why string) (CancelResult, error) {
	if rec.Refundable() <= 0 {
		return nothing("it was already refunded in full")
	}
	if card == nil {
		return CancelResult{}, &NotAllowedError{Why: why + ", and a refund needs the card", Instead: "call Cancel with the card"}
	}
	left := iso.Amount{Minor: rec.Refundable(), Currency: rec.Amount.Currency}
	res, err := t.refundRecord(ctx, op, rec, left, *card)
	if err != nil {
		return CancelResult{}, err
	}
	return CancelResult{Action: CancelRefunded, Why: why, Result: &res}, nil
}

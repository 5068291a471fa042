package isoswitch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// Sale charges a card. op is the cashier, recorded on the journal. A keyed
// card (iso.EntryManual) whose expiry month has ended by the terminal's
// clock is refused with an *iso.ExpiredCardError before anything is
// journaled or sent; a read card's expiry is the host's to judge.
func (t *Terminal) Sale(ctx context.Context, op iso.OperatorCode, amount iso.Amount, card iso.Card) (Result, error) {
	if err := t.keyedNotExpired(card); err != nil {
		return Result{}, err
	}
	return t.transact(ctx, reversal.Intent{Kind: iso.KindSale, Operator: op, Amount: amount, PAN: card.Account()},
		iso.SaleRequest{Amount: amount, Card: card})
}

// PaymentCodeSale charges the customer's wallet through the code scanned
// from the customer's phone.
func (t *Terminal) PaymentCodeSale(ctx context.Context, op iso.OperatorCode, amount iso.Amount, code iso.PaymentCode) (Result, error) {
	return t.transact(ctx, reversal.Intent{Kind: iso.KindPaymentCodeSale, Operator: op, Amount: amount, MaskedPAN: code.Masked()},
		iso.PaymentCodeSaleRequest{Amount: amount, Code: code})
}

// BalanceInquiry asks for a card's available balance (Result.Balance). A
// keyed card past its expiry is refused as Sale refuses it.
func (t *Terminal) BalanceInquiry(ctx context.Context, op iso.OperatorCode, card iso.Card, currency iso.Currency) (Result, error) {
	if err := t.keyedNotExpired(card); err != nil {
		return Result{}, err
	}
	return t.transact(ctx, reversal.Intent{Kind: iso.KindBalanceInquiry, Operator: op, Amount: iso.Amount{Currency: currency}, PAN: card.Account()},
		iso.BalanceInquiryRequest{Card: card, Currency: currency})
}

// Original names the transaction a void or refund undoes: by STAN in the
// open batch, or by RRN and the local date of the sale.
type Original struct {
	STAN iso.STAN
	RRN  iso.RRN
	Date time.Time
}

// undoTarget authorises an undo, takes the undo lock (so a check and the
// act it allows cannot interleave with another's) and finds the original.
// On success the caller must call unlock.
func (t *Terminal) undoTarget(ctx context.Context, who Credentials, a Action, o Original) (iso.OperatorCode, reversal.Record, func(), error) {
	op, err := t.authorise(ctx, who, a)
	if err != nil {
		return "", reversal.Record{}, nil, err
	}
	t.undoMu.Lock()
	orig, err := t.find(o)
	if err != nil {
		t.undoMu.Unlock()
		return "", reversal.Record{}, nil, err
	}
	return op, orig, t.undoMu.Unlock, nil
}

func (t *Terminal) find(o Original) (reversal.Record, error) {
	switch {
	case o.STAN != 0:
		return t.cfg.Journal.BySTAN(0, o.STAN)
	case o.RRN != "":
		return t.cfg.Journal.ByRRN(o.RRN, o.Date)
	}
	return reversal.Record{}, &iso.FieldError{Field: "Original", Reason: "give its STAN, or its RRN and date"}
}

// Void cancels an approved sale of the open batch for its full amount. Who
// must be allowed to void. A sale already voided, declined, reversed or
// settled is refused with a *NotAllowedError that says what to do instead;
// where the host voids only a sale of the same day and batch (CUP), a sale
// of another day or batch is refused with a *VoidWindowError (refund it).
// Nothing is sent when a void is refused. The void carries the sale's PAN
// and expiry from the journal, keyed, when the dialect needs it.
func (t *Terminal) Void(ctx context.Context, who Credentials, o Original) (Result, error) {
	op, orig, unlock, err := t.undoTarget(ctx, who, ActionVoid, o)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	if err := t.checkVoid(orig); err != nil {
		return Result{}, err
	}
	return t.voidRecord(ctx, op, orig)
}

func (t *Terminal) voidRecord(ctx context.Context, op iso.OperatorCode, orig reversal.Record) (Result, error) {
	card, err := t.voidCard(orig)
	if err != nil {
		return Result{}, err
	}
	req := iso.VoidRequest{Original: iso.Original{STAN: orig.STAN, Batch: orig.Batch, Time: orig.Created, RRN: orig.RRN,
		AuthCode: orig.AuthCode, Amount: orig.Amount, Invoice: invoiceOf(orig)}, Card: card}
	in := reversal.Intent{Kind: iso.KindVoid, Operator: op, Amount: orig.Amount, MaskedPAN: orig.MaskedPAN,
		CardOrg: orig.CardOrg, OriginalID: orig.ID}
	if card != nil {
		in.PAN = card.PAN // kept encrypted, for the void's own reversal
	}
	return t.transact(ctx, in, req)
}

// voidable says why a record cannot be voided, if it cannot.
func voidable(r reversal.Record) error {
	switch {
	case r.BatchKind() != iso.KindSale && r.BatchKind() != iso.KindPaymentCodeSale:
		return &NotAllowedError{Why: fmt.Sprintf("record %d is a %s, not a sale", r.ID, r.Kind)}
	case r.State == reversal.StateDeclined || r.State == reversal.StateNotSent || r.State == reversal.StateNoReply:
		return &NotAllowedError{Why: "the sale was never approved", Instead: "nothing to undo"}
	case r.State == reversal.StateReversed:
		return &NotAllowedError{Why: "the sale was reversed", Instead: "nothing to undo"}
	case r.State == reversal.StateRecoveryPending || r.State == reversal.StatePrepared:
		return &NotAllowedError{Why: "the sale's outcome is being recovered", Instead: "wait for its reversal"}
	case r.State == reversal.StateGivenUp || r.State == reversal.StateUnconfirmed:
		return &NotAllowedError{Why: "the sale is an exception record", Instead: "settle it with the acquirer"}
	case r.Voided():
		return &NotAllowedError{Why: fmt.Sprintf("the sale was already voided (record %d)", r.VoidedBy), Instead: "nothing to undo"}
	case r.Settled:
		return &NotAllowedError{Why: "the sale's batch is settled", Instead: "refund it"}
	case r.Refunded > 0:
		return &NotAllowedError{Why: "the sale was partly refunded", Instead: "refund the rest"}
	}
	return nil
}

// Refund returns money for a sale of a settled batch, or of the open batch
// when the host would no longer void it (another day), found by RRN and
// date; amount may be less than what is left to refund, not more. A sale
// that was voided is refused: the void returned all of it.
func (t *Terminal) Refund(ctx context.Context, who Credentials, o Original, amount iso.Amount, card iso.Card) (Result, error) {
	op, orig, unlock, err := t.undoTarget(ctx, who, ActionRefund, o)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	switch {
	case orig.BatchKind() != iso.KindSale && orig.BatchKind() != iso.KindPaymentCodeSale, !orig.InBatch():
		return Result{}, &NotAllowedError{Why: fmt.Sprintf("record %d is not an approved sale", orig.ID)}
	case orig.Voided():
		// A void returned all of it: a refund would pay it out twice.
		return Result{}, &NotAllowedError{Why: fmt.Sprintf("the sale was voided (record %d)", orig.VoidedBy), Instead: "nothing to refund"}
	case !orig.Settled && !errors.As(t.checkVoid(orig), new(*VoidWindowError)):
		return Result{}, &NotAllowedError{Why: "the sale's batch is still open", Instead: "void it"}
	case amount.Currency != orig.Amount.Currency:
		return Result{}, &iso.FieldError{Field: "Amount", Reason: "not in the sale's currency"}
	case amount.Minor > orig.Refundable():
		return Result{}, &NotAllowedError{Why: fmt.Sprintf("only %s is left to refund", iso.Amount{Minor: orig.Refundable(), Currency: orig.Amount.Currency})}
	}
	return t.refundRecord(ctx, op, orig, amount, card)
}

func (t *Terminal) refundRecord(ctx context.Context, op iso.OperatorCode, orig reversal.Record, amount iso.Amount, card iso.Card) (Result, error) {
	// The refund names the sale's card organisation (CUP F63); it and the
	// void settle in the sale's card class.
	req := iso.RefundRequest{Amount: amount, Card: card, Original: iso.Original{STAN: orig.STAN, Batch: orig.Batch,
		Time: orig.Created, RRN: orig.RRN, AuthCode: orig.AuthCode, Amount: orig.Amount}, CardOrg: orig.CardOrg}
	return t.transact(ctx, reversal.Intent{Kind: iso.KindRefund, Operator: op, Amount: amount, PAN: card.Account(),
		CardOrg: orig.CardOrg, OriginalID: orig.ID}, req)
}

// Reverse is the application saying it could not complete an approved
// transaction (card removed, printer failure): the transaction is reversed
// with reason "cannot complete". It returns once the host acknowledged the
// reversal, with the *PendingError of a reversal still queued, or with the
// *reversal.UnconfirmedError of one whose sends ran out.
func (t *Terminal) Reverse(ctx context.Context, recordID uint64) (Result, error) {
	rec, err := t.cfg.Journal.MarkRecoveryPending(recordID, iso.ReasonCannotComplete)
	if err != nil {
		return Result{}, err
	}
	drainErr := t.drain(ctx)
	if _, ue, other := splitDrain(drainErr); other != nil {
		return Result{}, other
	} else if ue != nil {
		return mustGet(t, rec), drainErr // this record, or another, ended unconfirmed
	}
	rec, err = t.cfg.Journal.Get(rec.ID)
	if err != nil {
		return Result{}, err
	}
	if rec.State == reversal.StateRecoveryPending {
		return resultOf(rec), &reversal.PendingError{IDs: []uint64{rec.ID}}
	}
	return resultOf(rec), nil
}

// authorise asks the configured Authoriser; without one, nothing that
// needs an authorised operator is allowed.
func (t *Terminal) authorise(ctx context.Context, who Credentials, a Action) (iso.OperatorCode, error) {
	if t.auth == nil {
		return "", &AuthError{Operator: who.Operator, Action: a, Reason: "no authoriser is configured (WithAuthoriser)"}
	}
	op, err := t.auth.Authorise(ctx, who, a)
	return iso.OperatorCode(op), err
}

// mustGet is the record as the journal now has it, or as it was.
func mustGet(t *Terminal, r reversal.Record) Result {
	if now, err := t.cfg.Journal.Get(r.ID); err == nil {
		return resultOf(now)
	}
	return resultOf(r)
}

// keyedNotExpired refuses a keyed card whose expiry has passed by the
// terminal's clock (WithTerminalClock, adjusted to the host's time at
// sign-on). A keyed card is checked by nothing else before the host: a
// read card's chip or track the host checks itself.
func (t *Terminal) keyedNotExpired(card iso.Card) error {
	if card.Entry.Method != iso.EntryManual {
		return nil
	}
	return card.CheckExpiry(t.now())
}

// invoiceOf is the invoice a record's request carried (ISO87 F62), zero
// when it carried none (the STAN stands for it).
func invoiceOf(r reversal.Record) iso.Invoice {
	v := r.Request["62"]
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || len(v) != 6 {
		return 0
	}
	return iso.Invoice(n)
}

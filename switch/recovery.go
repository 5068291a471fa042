package isoswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// ErrDataKeyRequired: the dialect sends the PAN after the fact (the
// reversal of a keyed sale, a void without the card, a batch upload) and
// the journal was opened without a data key to keep it encrypted
// (reversal.WithDataKey). New refuses such a terminal rather than send
// messages the host would reject.
var ErrDataKeyRequired = errors.New("isoswitch: the dialect needs the PAN after the fact; open the journal with reversal.WithDataKey")

// ErrVoidWindow is matched by *VoidWindowError (and ErrNotAllowed).
var ErrVoidWindow = errors.New("isoswitch: outside the void window")

// VoidWindowError refuses a void the host would refuse: the dialect voids
// only a sale of the same day and the same batch (iso.Rules.VoidSameDay),
// and this sale is of another. Nothing was sent. Refund it instead (Cancel
// does).
type VoidWindowError struct {
	RecordID  uint64
	SaleDay   time.Time // the sale's date (the host's, when it gave one)
	Today     time.Time
	SaleBatch iso.BatchNumber
	OpenBatch iso.BatchNumber
}

func (e *VoidWindowError) Error() string {
	return fmt.Sprintf("isoswitch: not allowed: the host voids only a sale of the same day and batch; record %d is of %s, batch %s (today %s, batch %s); refund it",
		e.RecordID, e.SaleDay.Format(time.DateOnly), e.SaleBatch, e.Today.Format(time.DateOnly), e.OpenBatch)
}

func (e *VoidWindowError) Is(target error) bool {
	return target == ErrVoidWindow || target == ErrNotAllowed
}

// WithTerminalClock sets the terminal's clock (default time.Now): the local
// time requests carry, corrected by the host's time at sign-on, and the day
// a void is judged by. Tests pin it.
func WithTerminalClock(now func() time.Time) Option { return func(t *Terminal) { t.clock = now } }

// Override ends a pending reversal or repeat on an authorised operator's
// word (the supervisor's, by the built-in roles: ActionOverride), when the
// merchant has settled it with the acquirer and must not wait for the
// policy's sends to run out. The record stays as an exception in
// reversal.StateGivenUp, with the operator and note on its history; note is
// required. Records that are not pending are refused.
func (t *Terminal) Override(ctx context.Context, who Credentials, recordID uint64, note string) (Result, error) {
	op, err := t.authorise(ctx, who, ActionOverride)
	if err != nil {
		return Result{}, err
	}
	if note == "" {
		return Result{}, &iso.FieldError{Field: "Note", Reason: "an override must say why"}
	}
	rec, err := t.engine.Override(recordID, op, note)
	if err != nil {
		return Result{}, err
	}
	t.log.Warn("recovery overridden by an operator", "record", rec.ID, "stan", rec.STAN.String(), "operator", string(op))
	return resultOf(rec), nil
}

// drain runs the engine and adds what background drains left unconfirmed
// since the last report, so the application is told once: a
// *reversal.PendingError for what is still pending, a
// *reversal.UnconfirmedError for what ended unconfirmed (joined when both).
func (t *Terminal) drain(ctx context.Context) error {
	t.drainMu.Lock()
	defer t.drainMu.Unlock()
	err := t.engine.Drain(ctx)
	pe, ue, other := splitDrain(err)
	if other != nil {
		return other
	}
	records := t.takeUnreported()
	if ue != nil {
		records = append(records, ue.Records...)
	}
	var errs []error
	if pe != nil {
		errs = append(errs, pe)
	}
	if len(records) > 0 {
		errs = append(errs, &reversal.UnconfirmedError{Records: records})
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// splitDrain sorts a Drain's error into its parts; other is any error that
// is neither (a corrupt journal, say).
func splitDrain(err error) (pe *reversal.PendingError, ue *reversal.UnconfirmedError, other error) {
	if err == nil {
		return nil, nil, nil
	}
	errors.As(err, &pe)
	errors.As(err, &ue)
	if pe == nil && ue == nil {
		return nil, nil, err
	}
	return pe, ue, nil
}

// noteUnconfirmed keeps what a background drain left unconfirmed for the
// next call to report.
func (t *Terminal) noteUnconfirmed(err error) {
	var ue *reversal.UnconfirmedError
	if !errors.As(err, &ue) {
		return
	}
	for _, r := range ue.Records {
		t.log.Error("recovery ended unconfirmed; contact the acquirer", "record", r.ID, "stan", r.STAN.String(),
			"batch", r.Batch.String(), "kind", r.Kind.String())
	}
	t.mu.Lock()
	t.unreported = append(t.unreported, ue.Records...)
	t.mu.Unlock()
}

func (t *Terminal) takeUnreported() []reversal.Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.unreported
	t.unreported = nil
	return out
}

// unconfirmedIn lists the records of a batch whose recovery ended
// unconfirmed, for the settlement report.
func (t *Terminal) unconfirmedIn(batch iso.BatchNumber) ([]reversal.Record, error) {
	return t.cfg.Journal.Find(func(r reversal.Record) bool {
		return r.Batch == batch && r.State == reversal.StateUnconfirmed
	})
}

// checkVoid says why a record cannot be voided, adding the dialect's void
// window to voidable's checks.
func (t *Terminal) checkVoid(r reversal.Record) error {
	if err := voidable(r); err != nil {
		return err
	}
	if !t.cfg.Dialect.Rules().VoidSameDay {
		return nil
	}
	open, err := t.cfg.Journal.OpenBatch()
	if err != nil {
		return err
	}
	today := t.now()
	sale := r.HostTime
	if sale.IsZero() {
		sale = r.Created
	}
	sale = sale.In(today.Location())
	if r.Batch != open || !sameDay(sale, today) {
		return &VoidWindowError{RecordID: r.ID, SaleDay: sale, Today: today, SaleBatch: r.Batch, OpenBatch: open}
	}
	return nil
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// voidCard is the card a void without the card carries: the sale's PAN,
// decrypted from the journal only in memory, and its expiry (F14, kept in
// the stored request), keyed (F22 01x), as CUP terminals send it
// (CaoEnXin/LiaoYang_POS Src/tranproc.c SaleVoidGetData and
// SetCommReqField case CARD_KEYIN; ISO87 terminals likewise send F2/F14
// from the log, resza/MAB source/tranproc.c SetCommReqField). A dialect
// that needs the PAN after the fact (Rules.StoredPAN) always gets it; for
// another it is sent when the journal holds it (opened with a data key)
// and left out otherwise. A sale without a card (payment code, QR) has
// none.
func (t *Terminal) voidCard(r reversal.Record) (*iso.Card, error) {
	if r.BatchKind() != iso.KindSale || r.QR != nil {
		return nil, nil
	}
	needed := t.cfg.Dialect.Rules().StoredPAN
	if !needed && !t.cfg.Journal.HasDataKey() {
		return nil, nil // the host finds the sale without its card (ISO87: by F37)
	}
	pan, err := t.cfg.Journal.PAN(r)
	if err != nil && !needed {
		return nil, nil
	}
	if err != nil {
		return nil, &NotAllowedError{Why: fmt.Sprintf("the journal holds no PAN for record %d (%v)", r.ID, err),
			Instead: "refund it with the card"}
	}
	return &iso.Card{PAN: pan, Expiry: iso.Expiry(r.Request["14"]), Entry: iso.EntryMode{Method: iso.EntryManual}}, nil
}

// onlyUnconfirmed reports whether a drain's error says only that records
// ended unconfirmed (nothing is still pending).
func onlyUnconfirmed(err error) bool {
	pe, ue, other := splitDrain(err)
	return pe == nil && other == nil && ue != nil
}

package reversal

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
)

// Intent is what a terminal is about to send, as the journal records it.
type Intent struct {
	Kind      iso.Kind
	Operator  iso.OperatorCode
	Amount    iso.Amount
	PAN       iso.PAN // clear, when the request carries a card; stored only encrypted
	MaskedPAN string  // when only the masked form is known (a void of a stored sale)
	// CardOrg is the card organisation when it is known before the reply
	// (a void's or refund's sale); a reply that names one replaces it.
	CardOrg    iso.CardOrg
	OriginalID uint64 // for a void or refund
}

// BuildFunc spells the request once the journal has given it a STAN and a
// batch, and says what recovers it (Dialect.Recovery). It runs inside the
// journal's write transaction: it must be quick and do no I/O. If it fails,
// nothing is written and the STAN is not used.
type BuildFunc func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error)

// ErrSTANExhausted: every STAN is in use in the open batch; settle first.
var ErrSTANExhausted = errors.New("reversal: every STAN is in use in the open batch")

// Prepare assigns the next STAN, builds the request and records it as
// prepared — its recovery armed — in one fsynced write, before the first
// byte is sent. It returns the record and the request to send.
func (j *Journal) Prepare(in Intent, build BuildFunc) (Record, *iso.Message, error) {
	var rec Record
	var msg *iso.Message
	err := j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		batch := iso.BatchNumber(getU32(meta, keyBatch))
		stan, err := nextFreeSTAN(tx, batch, iso.STAN(getU32(meta, keySTAN)))
		if err != nil {
			return err
		}
		m, recovery, err := build(stan, batch)
		if err != nil {
			return err
		}
		if in.OriginalID != 0 {
			if _, err := load(tx, in.OriginalID); err != nil {
				return fmt.Errorf("original: %w", err)
			}
		}
		stored := iso.StripSensitive(m)
		stored.Unset(2) // the PAN goes only encrypted, below
		now := j.clock()
		id, err := nextID(meta)
		if err != nil {
			return err
		}
		rec = Record{ID: id, Kind: in.Kind, State: StatePrepared, Recovery: recovery, STAN: stan, Batch: batch,
			Operator: in.Operator, Amount: in.Amount, CardOrg: in.CardOrg, OriginalID: in.OriginalID,
			Created: now, Updated: now, Request: stored.Fields(),
			Events: []Event{{At: now, State: StatePrepared, Operator: in.Operator}}}
		rec.MaskedPAN = in.MaskedPAN
		if in.PAN != "" {
			rec.MaskedPAN = in.PAN.Masked()
			if rec.PANCipher, err = j.sealPAN(id, in.PAN); err != nil {
				return err
			}
		}
		if err := meta.Put(keySTAN, u32(uint32(stan))); err != nil {
			return err
		}
		msg = m
		return store(tx, &rec)
	})
	if err != nil {
		return Record{}, nil, err
	}
	return rec, msg, nil
}

func nextID(meta *bolt.Bucket) (uint64, error) {
	v := meta.Get(keyNextID)
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: id counter", ErrCorrupt)
	}
	id := beU64(v)
	return id, meta.Put(keyNextID, u64(id+1))
}

// nextFreeSTAN is the STAN after last, skipping any already used in the open
// batch: a host identifies a transaction by TID + STAN (+ batch), so a STAN
// is never reused while its record is in the batch.
func nextFreeSTAN(tx *bolt.Tx, batch iso.BatchNumber, last iso.STAN) (iso.STAN, error) {
	used := tx.Bucket(bucketSTAN)
	s := last
	for range iso.MaxSTAN {
		s = s.Next()
		if used.Get(stanKey(batch, s)) == nil {
			return s, nil
		}
	}
	return 0, ErrSTANExhausted
}

// Outcome is what the host said.
type Outcome struct {
	Code     iso.ResponseCode
	RRN      iso.RRN
	AuthCode iso.AuthCode
	Amount   iso.Amount // approved amount, when it differs (partial approval)
	HostTime time.Time
	CardOrg  iso.CardOrg // the card organisation the reply names, if any
}

func (o Outcome) apply(r *Record) {
	r.Code, r.RRN, r.AuthCode, r.HostTime = o.Code, o.RRN, o.AuthCode, o.HostTime
	if o.Amount.Minor != 0 {
		r.Amount = o.Amount
	}
	if o.CardOrg != "" {
		r.CardOrg = o.CardOrg
	}
}

// Approve records the host's approval and its effect on the original, in
// one write: an approved void marks its sale voided, an approved refund
// adds to what was refunded against its sale. The recovery is disarmed.
func (j *Journal) Approve(id uint64, o Outcome) (Record, error) {
	return j.update(id, func(tx *bolt.Tx, r *Record) error {
		if r.State == StateRecoveryPending && r.Recovery != iso.RecoveryRepeat {
			return &TransitionError{ID: id, From: r.State, To: StateApproved, Why: "a reversal is under way; the approval is a late reply"}
		}
		if err := j.move(r, StateApproved, "", string(o.Code)); err != nil {
			return err
		}
		o.apply(r)
		return applyToOriginal(tx, r, +1)
	})
}

// applyToOriginal applies (sign +1) or undoes (-1) a void's or refund's
// effect on the sale it refers to.
func applyToOriginal(tx *bolt.Tx, r *Record, sign int) error {
	if r.OriginalID == 0 || (r.Kind != iso.KindVoid && r.Kind != iso.KindRefund) {
		return nil
	}
	orig, err := load(tx, r.OriginalID)
	if err != nil {
		return err
	}
	switch {
	case r.Kind == iso.KindVoid && sign > 0:
		orig.VoidedBy = r.ID
	case r.Kind == iso.KindVoid && orig.VoidedBy == r.ID:
		orig.VoidedBy = 0 // a reversed void makes its sale live again
	case r.Kind == iso.KindRefund:
		orig.Refunded += int64(sign) * r.Amount.Minor
	}
	return store(tx, orig)
}

// Decline records a decline; nothing moved, the recovery is disarmed.
func (j *Journal) Decline(id uint64, o Outcome) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.State == StateRecoveryPending && r.Recovery != iso.RecoveryRepeat {
			return &TransitionError{ID: id, From: r.State, To: StateDeclined, Why: "a reversal is under way; the decline is a late reply"}
		}
		if err := j.move(r, StateDeclined, "", string(o.Code)); err != nil {
			return err
		}
		o.apply(r)
		return nil
	})
}

// MarkRecoveryPending says the outcome is unknown (from prepared: no reply,
// bad reply, bad MAC, a crash) or must be undone (from approved: the
// terminal could not complete). Only reversible requests can be undone once
// approved; a request that recovers by nothing goes to StateNoReply instead.
func (j *Journal) MarkRecoveryPending(id uint64, reason iso.ReversalReason) (Record, error) {
	return j.markPending(id, reason, "")
}

func (j *Journal) markPending(id uint64, reason iso.ReversalReason, auth iso.AuthCode) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		switch {
		case r.Recovery == iso.RecoveryNone:
			return &TransitionError{ID: id, From: r.State, To: StateRecoveryPending, Why: "nothing recovers this kind; it has no reply"}
		case r.State == StateApproved && r.Recovery != iso.RecoveryReverse:
			return &TransitionError{ID: id, From: r.State, To: StateRecoveryPending, Why: "only a reversible transaction can be undone"}
		}
		if err := j.move(r, StateRecoveryPending, "", reason.String()); err != nil {
			return err
		}
		r.Reason = reason
		if _, has := r.Request["38"]; auth != "" && !has && r.Request != nil {
			r.Request["38"] = string(auth)
		}
		return nil
	})
}

// MarkUntrustedReply is MarkRecoveryPending for a request whose reply came
// but could not be trusted (bad MAC, wrong echoed fields, unreadable), or
// never came (auth ""). When that reply carried an authorization code
// (F38) and the stored request has none, the code is kept in the stored
// request, so every reversal rebuilt from it carries it: CaoEnXin/LiaoYang_POS
// Src/trancomm.c MakeReversalPack sends the received F38 in the 0400. A
// request that already has an F38 (a void's original code) keeps its own.
// An auth code that is not an6 is refused before anything is written.
func (j *Journal) MarkUntrustedReply(id uint64, reason iso.ReversalReason, auth iso.AuthCode) (Record, error) {
	if auth != "" {
		if err := auth.Validate(); err != nil {
			return Record{}, err
		}
	}
	return j.markPending(id, reason, auth)
}

// MarkNotSent records that no byte reached the host: nothing to recover.
func (j *Journal) MarkNotSent(id uint64, note string) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error { return j.move(r, StateNotSent, "", note) })
}

// MarkNoReply records that a request which moves nothing got no reply.
func (j *Journal) MarkNoReply(id uint64) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.Recovery != iso.RecoveryNone {
			return &TransitionError{ID: id, From: r.State, To: StateNoReply, Why: "its outcome must be recovered"}
		}
		return j.move(r, StateNoReply, "", "")
	})
}

// RecordAttempt counts one more recovery message before it is sent, so a
// crash mid-send still counts it (and the next one goes as a repeat).
func (j *Journal) RecordAttempt(id uint64) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.State != StateRecoveryPending {
			return &TransitionError{ID: id, From: r.State, To: r.State, Why: "no recovery pending"}
		}
		r.Attempts++
		return nil
	})
}

// MarkReversed records the host's acknowledgement of a reversal. A reversed
// approved void makes its sale live again.
func (j *Journal) MarkReversed(id uint64, code iso.ResponseCode) (Record, error) {
	return j.update(id, func(tx *bolt.Tx, r *Record) error {
		if r.Recovery != iso.RecoveryReverse {
			return &TransitionError{ID: id, From: r.State, To: StateReversed, Why: "it recovers by repeat, not reversal"}
		}
		wasApproved := r.Code.Approved() && r.State == StateRecoveryPending
		if err := j.move(r, StateReversed, "", string(code)); err != nil {
			return err
		}
		if wasApproved {
			return applyToOriginal(tx, r, -1)
		}
		return nil
	})
}

// GiveUp stops recovery without the host's acknowledgement on an
// authorised operator's override and keeps the record as an exception.
func (j *Journal) GiveUp(id uint64, op iso.OperatorCode, note string) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error { return j.move(r, StateGivenUp, op, note) })
}

// markUnconfirmed ends a recovery whose policy ran out.
func (j *Journal) markUnconfirmed(id uint64, note string) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error { return j.move(r, StateUnconfirmed, "", note) })
}

// recordRefusal notes a reversal reply that did not end it: later
// reversals of this record say so in their reason.
func (j *Journal) recordRefusal(id uint64, code iso.ResponseCode) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.State != StateRecoveryPending {
			return &TransitionError{ID: id, From: r.State, To: r.State, Why: "no recovery pending"}
		}
		r.Refusals++
		r.Events = append(r.Events, Event{At: j.clock(), State: r.State, Note: "refused: " + string(code)})
		return nil
	})
}

// uncountAttempt takes back an attempt whose message never left the
// terminal.
func (j *Journal) uncountAttempt(id uint64) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.Attempts > 0 {
			r.Attempts--
		}
		return nil
	})
}

// RecordLateReply keeps a reply that came after the outcome was decided. It
// never changes the state: a late approval does not resurrect a
// transaction being reversed.
func (j *Journal) RecordLateReply(id uint64, l LateReply) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if l.At.IsZero() {
			l.At = j.clock()
		}
		r.LateReplies = append(r.LateReplies, l)
		return nil
	})
}

// RecoverPrepared runs at start-up: every record left prepared has an
// unknown outcome. Those that a reversal or repeat recovers become
// recovery-pending (reason timeout); those that move nothing, no-reply. It
// returns how many records it moved.
func (j *Journal) RecoverPrepared() (int, error) {
	prepared, err := j.Find(func(r Record) bool { return r.State == StatePrepared })
	if err != nil {
		return 0, err
	}
	for _, r := range prepared {
		if r.Recovery == iso.RecoveryNone {
			_, err = j.MarkNoReply(r.ID)
		} else {
			_, err = j.MarkRecoveryPending(r.ID, iso.ReasonTimeout)
		}
		if err != nil {
			return 0, err
		}
	}
	return len(prepared), nil
}

// SetLastSTAN sets the STAN the next Prepare counts on from (the next STAN
// is last.Next()), to continue a terminal's numbering when it moves to a
// new journal. 0 starts again at 000001.
func (j *Journal) SetLastSTAN(last iso.STAN) error {
	if last > iso.MaxSTAN {
		return last.Validate()
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySTAN, u32(uint32(last)))
	})
}

// NextSTAN assigns a STAN to a message that is not a transaction (sign-on,
// echo, settlement, batch upload): it advances the same counter, skipping
// STANs in the open batch, and writes no record.
func (j *Journal) NextSTAN() (iso.STAN, iso.BatchNumber, error) {
	var stan iso.STAN
	var batch iso.BatchNumber
	err := j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		batch = iso.BatchNumber(getU32(meta, keyBatch))
		var err error
		if stan, err = nextFreeSTAN(tx, batch, iso.STAN(getU32(meta, keySTAN))); err != nil {
			return err
		}
		return meta.Put(keySTAN, u32(uint32(stan)))
	})
	return stan, batch, err
}

// SetQROrder records where a QR order stands. Its status only moves
// forward — waiting to paid, closed or expired — so however many times an
// order is queried, a paid order enters the batch once (with the payment's
// outcome: RRN, auth code), and a closed or expired one never does. A
// repeated final status is a no-op; a contradicting one is refused. An
// order whose batch is closed (Settled) is never marked paid: its batch's
// totals are reconciled, so a payment cannot enter it (ErrQRBatchClosed).
func (j *Journal) SetQROrder(id uint64, o QROrder, paid Outcome) (Record, error) {
	return j.update(id, func(_ *bolt.Tx, r *Record) error {
		if r.Kind != iso.KindQROrderCreate || r.State != StateApproved {
			return &TransitionError{ID: id, From: r.State, To: r.State, Why: "not an open QR order"}
		}
		if r.Settled && o.Status == iso.QRPaid && !r.QRPaid() {
			return fmt.Errorf("%w: record %d of batch %s", ErrQRBatchClosed, id, r.Batch)
		}
		if r.QR != nil && r.QR.Status != iso.QRWaiting {
			if o.Status == r.QR.Status {
				return nil
			}
			return &TransitionError{ID: id, From: r.State, To: r.State,
				Why: fmt.Sprintf("QR order is %s; it cannot become %s", r.QR.Status, o.Status)}
		}
		if r.QR != nil { // keep what create said when a query says less
			if o.Ref == "" {
				o.Ref = r.QR.Ref
			}
			if o.Payload == "" {
				o.Payload = r.QR.Payload
			}
			if o.Expires.IsZero() {
				o.Expires = r.QR.Expires
			}
		}
		r.QR = &o
		r.Events = append(r.Events, Event{At: j.clock(), State: r.State, Note: "QR order " + o.Status.String()})
		if o.Status == iso.QRPaid {
			r.RRN, r.AuthCode, r.Code = paid.RRN, paid.AuthCode, paid.Code
			if !paid.HostTime.IsZero() {
				r.HostTime = paid.HostTime
			}
		}
		return nil
	})
}

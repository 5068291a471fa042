package reversal

import (
	"errors"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// State is where a transaction stands. Every record moves only along the
// transitions table below, each move one fsynced write.
type State string

const (
	// StatePrepared: written before the first byte is sent; the recovery
	// (reversal or repeat) is armed. A record found prepared at start-up
	// has an unknown outcome.
	StatePrepared State = "prepared"
	// StateApproved: the host approved (or, for a repeat, acknowledged).
	StateApproved State = "approved"
	// StateDeclined: the host declined; nothing moved.
	StateDeclined State = "declined"
	// StateRecoveryPending: the outcome is unknown or must be undone; the
	// engine sends the reversal (or repeat) until the host acknowledges.
	StateRecoveryPending State = "recovery-pending"
	// StateReversed: the host acknowledged the reversal; nothing moved.
	StateReversed State = "reversed"
	// StateGivenUp: an authorised operator stopped the recovery without
	// the host's acknowledgement (Engine.Override); kept as an exception
	// record.
	StateGivenUp State = "given-up"
	// StateUnconfirmed: the policy's sends ran out (or the recovery
	// expired) and no reply ended it; whether the host holds the
	// transaction is unknown. Kept as an exception record for the merchant
	// to settle with the acquirer; the terminal carries on.
	StateUnconfirmed State = "recovery-unconfirmed"
	// StateNotSent: no byte reached the host; nothing to recover.
	StateNotSent State = "not-sent"
	// StateNoReply: no reply to a request that moves nothing (an inquiry);
	// nothing to recover.
	StateNoReply State = "no-reply"
)

// transitions lists every legal move. Anything else is refused with
// ErrIllegalTransition and nothing is written.
var transitions = map[State][]State{
	StatePrepared:        {StateApproved, StateDeclined, StateRecoveryPending, StateNotSent, StateNoReply},
	StateApproved:        {StateRecoveryPending}, // the terminal could not complete (card removed, printer)
	StateRecoveryPending: {StateReversed, StateApproved, StateDeclined, StateGivenUp, StateUnconfirmed},
}

// Final reports whether no transition leaves s.
func (s State) Final() bool { _, ok := transitions[s]; return !ok && s != "" }

func canMove(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ErrIllegalTransition is matched by every *TransitionError.
var ErrIllegalTransition = errors.New("reversal: illegal state transition")

// TransitionError says which move was refused and why.
type TransitionError struct {
	ID       uint64
	From, To State
	Why      string
}

func (e *TransitionError) Error() string {
	msg := fmt.Sprintf("reversal: record %d cannot go from %s to %s", e.ID, e.From, e.To)
	if e.Why != "" {
		msg += ": " + e.Why
	}
	return msg
}

func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Record is one financial transaction through its whole life. It holds no
// track data, PIN block, CVV or key: the stored request is stripped
// (iso.StripSensitive) and its PAN kept only encrypted (PANCipher) or not at
// all; MaskedPAN is what receipts and exports show.
type Record struct {
	ID        uint64           `json:"id"`
	Kind      iso.Kind         `json:"kind"`
	State     State            `json:"state"`
	Recovery  iso.Recovery     `json:"recovery"` // what an unknown outcome needs
	STAN      iso.STAN         `json:"stan"`
	Batch     iso.BatchNumber  `json:"batch"`
	Operator  iso.OperatorCode `json:"operator"`
	Amount    iso.Amount       `json:"amount"`
	MaskedPAN string           `json:"masked_pan,omitempty"`
	// CardOrg is the card organisation the host named in its reply (CUP
	// F63.1), or for a void or refund its sale's; it decides the card
	// class the record settles in (Foreign).
	CardOrg iso.CardOrg `json:"card_org,omitempty"`

	RRN      iso.RRN          `json:"rrn,omitempty"`
	AuthCode iso.AuthCode     `json:"auth_code,omitempty"`
	Code     iso.ResponseCode `json:"response_code,omitempty"`
	HostTime time.Time        `json:"host_time,omitzero"`

	Reason   iso.ReversalReason `json:"reason,omitempty"`   // why recovery is pending
	Attempts int                `json:"attempts,omitempty"` // recovery messages sent
	Refusals int                `json:"refusals,omitempty"` // reversal replies that did not end it

	OriginalID uint64 `json:"original_id,omitempty"` // a void's or refund's original
	VoidedBy   uint64 `json:"voided_by,omitempty"`   // the approved void of this sale
	Refunded   int64  `json:"refunded,omitempty"`    // minor units refunded against this sale
	Settled    bool   `json:"settled,omitempty"`     // its batch was closed at the host
	Uploaded   bool   `json:"uploaded,omitempty"`    // acknowledged in a batch upload

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`

	// Request is the stripped request in wire text, without F2; the engine
	// rebuilds reversals and repeats from it.
	Request map[string]string `json:"request"`
	// PANCipher is AES-GCM(nonce || ciphertext) of the clear PAN under the
	// application's data key, or nil when there is no key or no PAN.
	PANCipher []byte `json:"pan_cipher,omitempty"`

	// QR is the merchant-presented order a QR-order record stands for.
	QR *QROrder `json:"qr,omitempty"`

	Events      []Event     `json:"events"`
	LateReplies []LateReply `json:"late_replies,omitempty"`
}

// Event is one step of a record's history, for audit.
type Event struct {
	At       time.Time        `json:"at"`
	State    State            `json:"state"`
	Operator iso.OperatorCode `json:"operator,omitempty"`
	Note     string           `json:"note,omitempty"`
}

// LateReply is a reply that came after the terminal had decided the outcome
// (a reversal already queued). It is kept, never acted on.
type LateReply struct {
	At       time.Time        `json:"at"`
	Code     iso.ResponseCode `json:"code"`
	RRN      iso.RRN          `json:"rrn,omitempty"`
	AuthCode iso.AuthCode     `json:"auth_code,omitempty"`
}

// QROrder is a merchant-presented order: the code the terminal showed and
// where the host says it stands.
type QROrder struct {
	Ref     string       `json:"ref"`
	Payload string       `json:"payload,omitempty"`
	Expires time.Time    `json:"expires,omitzero"`
	Status  iso.QRStatus `json:"status"`
}

// InBatch reports whether the record counts in its batch's settlement: an
// approved sale, payment-code sale, void or refund, or a QR order the
// customer paid.
func (r Record) InBatch() bool {
	return r.State == StateApproved && (r.Kind.Financial() || r.QRPaid())
}

// QRPaid reports whether this is a QR order the customer paid.
func (r Record) QRPaid() bool { return r.QR != nil && r.QR.Status == iso.QRPaid }

// BatchKind is the kind the record settles as: a paid QR order is a wallet
// payment, as a payment-code sale is.
func (r Record) BatchKind() iso.Kind {
	if r.QRPaid() {
		return iso.KindPaymentCodeSale
	}
	return r.Kind
}

// Foreign reports whether the record settles with the foreign cards.
func (r Record) Foreign() bool { return r.CardOrg.Foreign() }

// Voided reports whether an approved void cancelled this sale.
func (r Record) Voided() bool { return r.VoidedBy != 0 }

// Refundable is what may still be refunded against this sale: nothing once
// a void has cancelled it.
func (r Record) Refundable() int64 {
	if r.Voided() {
		return 0 // the void returned all of it
	}
	return r.Amount.Minor - r.Refunded
}

package iso

import "fmt"

// How a CUP terminal recovers a request whose outcome it does not know
// (domain.md §3.2, §6): sales, payment-code sales and voids are reversed by
// a 0400 copied from the request; refunds are advices (0220) and are resent.

func (d *cupDialect) Recovery(req *Message) (Recovery, error) {
	kind, err := d.classify(req)
	if err != nil {
		return RecoveryNone, err
	}
	return cupRecovery(kind), nil
}

func cupRecovery(kind Kind) Recovery {
	switch kind {
	case KindSale, KindPaymentCodeSale, KindVoid:
		return RecoveryReverse
	case KindRefund:
		return RecoveryRepeat
	}
	return RecoveryNone
}

// cupReasonCodes spell reversal reasons in F39 (domain.md §5.2, S1/S3/S4).
var cupReasonCodes = map[ReversalReason]ResponseCode{
	ReasonTimeout:        "98",
	ReasonBadReply:       "06",
	ReasonBadMAC:         "A0",
	ReasonCannotComplete: "06",
	ReasonLateReply:      "98",
	ReasonCustomerCancel: "06",
}

// Reversal copies the request, strips track, PIN and RRN data, sets the
// reason in F39 and keeps the STAN: the host matches the reversal to its
// original by it. CUP resends the same 0400 however many attempts it takes.
func (d *cupDialect) Reversal(orig *Message, reason ReversalReason, attempt int) (*Message, error) {
	kind, err := d.classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != RecoveryReverse {
		return nil, fmt.Errorf("%w: a CUP %s is not reversed", ErrUnsupported, kind)
	}
	code, ok := cupReasonCodes[reason]
	if !ok {
		return nil, invalid("Reason", "unknown reversal reason")
	}
	if attempt < 0 {
		return nil, invalid("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.MTI = "0400"
	stripForReversal(r)
	r.Unset(37)
	r.Set(39, string(code))
	r.Set(64, macPlaceholder)
	return r, nil
}

// Repeat resends a refund advice unchanged: CUP has no repeat MTI for it.
func (d *cupDialect) Repeat(orig *Message, attempt int) (*Message, error) {
	kind, err := d.classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != RecoveryRepeat {
		return nil, fmt.Errorf("%w: a CUP %s is not repeated", ErrUnsupported, kind)
	}
	if attempt < 0 {
		return nil, invalid("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.Set(64, macPlaceholder) // a stored request has lost its MAC
	return r, nil
}

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
	switch kind {
	case KindSale, KindPaymentCodeSale, KindVoid:
		return RecoveryReverse, nil
	case KindRefund:
		return RecoveryRepeat, nil
	}
	return RecoveryNone, nil
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
	rec, err := d.Recovery(orig)
	if err != nil {
		return nil, err
	}
	if rec != RecoveryReverse {
		return nil, fmt.Errorf("%w: a %s request is not reversed", ErrUnsupported, mustKind(d.classify(orig)))
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
	rec, err := d.Recovery(orig)
	if err != nil {
		return nil, err
	}
	if rec != RecoveryRepeat {
		return nil, fmt.Errorf("%w: a %s request is not repeated", ErrUnsupported, mustKind(d.classify(orig)))
	}
	if attempt < 0 {
		return nil, invalid("Attempt", "must not be negative")
	}
	return orig.Clone(), nil
}

func mustKind(k Kind, _ error) Kind { return k }

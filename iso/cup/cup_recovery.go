package cup

import . "github.com/posswitch/posswitch/iso"

import "fmt"

// How a CUP terminal recovers a request whose outcome it does not know
// (CaoEnXin/LiaoYang_POS Src/trancomm.c TranNeedReversal, MakeReversalPack,
// ReverseTranProc): sales, payment-code sales and voids are reversed by a
// 0400 copied from the request; refunds are advices (0220) and are resent.

func (d *cupDialect) Recovery(req *Message) (Recovery, error) {
	kind, err := d.Classify(req)
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

// cupReasonCodes spell reversal reasons in F39: 98 no reply, A0 bad MAC
// (CaoEnXin/LiaoYang_POS Src/trancomm.c UpdateReversalFile), 06 otherwise,
// and 06 on every try after the host refused one (ReverseTranProc;
// alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c sends 98).
var cupReasonCodes = map[ReversalReason]ResponseCode{
	ReasonRefused:        "06",
	ReasonTimeout:        "98",
	ReasonBadReply:       "06",
	ReasonBadMAC:         "A0",
	ReasonCannotComplete: "06",
	ReasonLateReply:      "98",
	ReasonCustomerCancel: "06",
}

// Reversal copies the request, strips track, PIN and RRN data, sets the
// reason in F39 and keeps the STAN: the host matches the reversal to its
// original by it. CUP resends the same 0400 however many attempts it
// takes, except that after a refusal the engine passes ReasonRefused and
// F39 becomes 06.
func (d *cupDialect) Reversal(orig *Message, reason ReversalReason, attempt int) (*Message, error) {
	m, err := d.reversal(orig, reason, attempt)
	if err != nil {
		return nil, err
	}
	d.CarryRules(orig, m, KindReversal)
	return m, nil
}

func (d *cupDialect) reversal(orig *Message, reason ReversalReason, attempt int) (*Message, error) {
	kind, err := d.Classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != RecoveryReverse {
		return nil, fmt.Errorf("%w: a CUP %s is not reversed", ErrUnsupported, kind)
	}
	code, ok := cupReasonCodes[reason.Wire()]
	if !ok {
		return nil, InvalidField("Reason", "unknown reversal reason")
	}
	if attempt < 0 {
		return nil, InvalidField("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.MTI = "0400"
	StripForReversal(r)
	r.Unset(37)
	r.Set(39, string(code))
	if kind == KindVoid {
		if err := d.voidReversalF61Of(r); err != nil {
			return nil, err
		}
	}
	r.Set(64, MACPlaceholder)
	return r, nil
}

// Repeat resends a refund advice unchanged: CUP has no repeat MTI for it.
func (d *cupDialect) Repeat(orig *Message, attempt int) (*Message, error) {
	kind, err := d.Classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != RecoveryRepeat {
		return nil, fmt.Errorf("%w: a CUP %s is not repeated", ErrUnsupported, kind)
	}
	if attempt < 0 {
		return nil, InvalidField("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.Set(64, MACPlaceholder) // a stored request has lost its MAC
	return r, nil
}

// Rules of a CUP host: a void only for a sale of the same day and batch
// ("必须是撤销当日当批的消费交易", the CUP POS specification as summarised at
// https://itindex.net/detail/54891 "银联POS规范总结"; hosts answer 22 outside
// the allowed days, CaoEnXin/LiaoYang_POS Src/globalvar.c sRetErrInfo); the
// PAN travels after the fact (reversal copies, keyed voids with F2 + F14,
// Src/tranproc.c SaleVoidGetData and SetCommReqField case CARD_KEYIN, and
// the F48 upload records), so the journal must keep it; recovery is 3
// resends after the first send, then the terminal gives up and carries on
// ("交易重发次数=3" in Release/appparam.txt, the ucResendTimes+1 loop of
// Src/trancomm.c ReverseTranProc).
func (d *cupDialect) Rules() Rules {
	return Rules{VoidSameDay: true, StoredPAN: true, Recovery: RecoveryLimits{PerTrigger: 4, Total: 4}}
}

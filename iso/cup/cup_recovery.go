package cup

import "github.com/posswitch/posswitch/iso"

import "fmt"

// How a CUP terminal recovers a request whose outcome it does not know
// (CaoEnXin/LiaoYang_POS Src/trancomm.c TranNeedReversal, MakeReversalPack,
// ReverseTranProc): sales, payment-code sales and voids are reversed by a
// 0400 copied from the request; refunds are advices (0220) and are resent.

func (d *cupDialect) Recovery(req *iso.Message) (iso.Recovery, error) {
	kind, err := d.Classify(req)
	if err != nil {
		return iso.RecoveryNone, err
	}
	return cupRecovery(kind), nil
}

func cupRecovery(kind iso.Kind) iso.Recovery {
	switch kind {
	case iso.KindSale, iso.KindPaymentCodeSale, iso.KindVoid:
		return iso.RecoveryReverse
	case iso.KindRefund:
		return iso.RecoveryRepeat
	}
	return iso.RecoveryNone
}

// cupReasonCodes spell reversal reasons in F39: 98 no reply, A0 bad MAC
// (CaoEnXin/LiaoYang_POS Src/trancomm.c UpdateReversalFile), 06 otherwise,
// and 06 on every try after the host refused one (ReverseTranProc;
// alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c sends 98).
var cupReasonCodes = map[iso.ReversalReason]iso.ResponseCode{
	iso.ReasonRefused:        "06",
	iso.ReasonTimeout:        "98",
	iso.ReasonBadReply:       "06",
	iso.ReasonBadMAC:         "A0",
	iso.ReasonCannotComplete: "06",
	iso.ReasonLateReply:      "98",
	iso.ReasonCustomerCancel: "06",
}

// Reversal copies the request, strips track, PIN and RRN data, sets the
// reason in F39 and keeps the STAN: the host matches the reversal to its
// original by it. CUP resends the same 0400 however many attempts it
// takes, except that after a refusal the engine passes ReasonRefused and
// F39 becomes 06.
func (d *cupDialect) Reversal(orig *iso.Message, reason iso.ReversalReason, attempt int) (*iso.Message, error) {
	m, err := d.reversal(orig, reason, attempt)
	if err != nil {
		return nil, err
	}
	d.CarryRules(orig, m, iso.KindReversal)
	return m, nil
}

func (d *cupDialect) reversal(orig *iso.Message, reason iso.ReversalReason, attempt int) (*iso.Message, error) {
	kind, err := d.Classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != iso.RecoveryReverse {
		return nil, fmt.Errorf("%w: a CUP %s is not reversed", iso.ErrUnsupported, kind)
	}
	code, ok := cupReasonCodes[reason.Wire()]
	if !ok {
		return nil, iso.InvalidField("Reason", "unknown reversal reason")
	}
	if attempt < 0 {
		return nil, iso.InvalidField("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.MTI = "0400"
	iso.StripForReversal(r)
	r.Unset(37)
	r.Set(39, string(code))
	if kind == iso.KindVoid {
		if err := d.voidReversalF61Of(r); err != nil {
			return nil, err
		}
	}
	r.Set(64, iso.MACPlaceholder)
	return r, nil
}

// Repeat resends a refund advice unchanged: CUP has no repeat MTI for it.
func (d *cupDialect) Repeat(orig *iso.Message, attempt int) (*iso.Message, error) {
	kind, err := d.Classify(orig)
	if err != nil {
		return nil, err
	}
	if cupRecovery(kind) != iso.RecoveryRepeat {
		return nil, fmt.Errorf("%w: a CUP %s is not repeated", iso.ErrUnsupported, kind)
	}
	if attempt < 0 {
		return nil, iso.InvalidField("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.Set(64, iso.MACPlaceholder) // a stored request has lost its MAC
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
func (d *cupDialect) Rules() iso.Rules {
	return iso.Rules{VoidSameDay: true, StoredPAN: true, Recovery: iso.RecoveryLimits{PerTrigger: 4, Total: 4}}
}

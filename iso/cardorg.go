package iso

// CardOrg is the card organisation a CUP host names in reply F63.1 (an3):
// "CUP" for UnionPay cards, "VIS", "MCC", "JCB", "AEX", "DCC" and so on for
// the foreign schemes. A terminal keeps it with the transaction (as
// CaoEnXin/LiaoYang_POS Src/trancomm.c SaveRspPackData keeps F63 as the
// card unit) and settles, uploads and refunds by it.
type CardOrg string

// Card organisations as CUP hosts spell them in F63.1 (CaoEnXin/LiaoYang_POS
// Src/emvtranproc.c SetIssuerName lists the same three-letter codes).
const (
	CardOrgCUP  CardOrg = "CUP"
	CardOrgVisa CardOrg = "VIS"
	CardOrgMC   CardOrg = "MCC"
	CardOrgJCB  CardOrg = "JCB"
	CardOrgAmex CardOrg = "AEX"
	// CardOrgForeign is a foreign card whose organisation the message does
	// not name: a packed upload record carries only the class flag 01.
	CardOrgForeign CardOrg = "FRN"
)

// Foreign reports whether the card is of a foreign scheme, which CUP
// totals, reconciles and uploads apart from UnionPay cards: everything but
// "CUP" (CaoEnXin/LiaoYang_POS Src/posfiles.c ComputeTransTotal compares the
// card unit with "CUP" and files the rest as foreign). An unknown
// organisation (a reply without F63, or a dialect that has none) counts as
// domestic: there is nothing to split it by.
func (o CardOrg) Foreign() bool { return o != "" && o != CardOrgCUP }

// Validate: three letters or digits, as F63.1 carries them.
func (o CardOrg) Validate() error {
	if o == "" {
		return nil
	}
	if len(o) != 3 {
		return InvalidField("CardOrg", "want three characters")
	}
	for i := 0; i < len(o); i++ {
		c := o[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return InvalidField("CardOrg", "want upper-case letters or digits")
		}
	}
	return nil
}

// CardOrgOf reads 63.1 from a reply; "" when absent or not a card
// organisation ("000" is how a terminal says it does not know one).
func CardOrgOf(m *Message) CardOrg {
	v, ok := m.Get(63)
	if !ok || len(v) < 3 {
		return ""
	}
	o := CardOrg(v[:3])
	if o == "000" || o.Validate() != nil {
		return ""
	}
	return o
}

// RefundF63 spells a refund's 63.1: the original card's organisation, or
// "000" when the terminal does not know it (CaoEnXin/LiaoYang_POS
// Src/tranproc.c RefundTran and BatchSendOffTrans2_Refund; the "000" of
// chfenix/iso8583 src/main/resources/config/cups/iso8583_cups.xml refund).
func RefundF63(o CardOrg) string {
	if o == "" {
		return "000"
	}
	return string(o)
}

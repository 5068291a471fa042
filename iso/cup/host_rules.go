package cup

import "github.com/posswitch/posswitch/iso"

// Mandatory request fields, CUP. Each row is the request's M fields in the
// published sources, without F64 (the MAC rule covers it):
//
//	A  = chfenix/iso8583 src/main/resources/config/cups/iso8583_cups.xml, req="M"
//	S1 = CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField (every request
//	     sets 3, 41, 42, 60 and, except the echo, 11; financial requests add
//	     4 when the amount is not zero, 22, 25 and 49), PosSettleTran,
//	     PosBatchUp, BatchMagOnLineTrans; Src/trancomm.c MakeReversalPack
var cupMandatory = map[iso.Kind][]int{
	iso.KindSale:           {3, 4, 11, 22, 25, 41, 42, 49, 60},         // A trans "consum"
	iso.KindBalanceInquiry: {3, 11, 22, 25, 41, 42, 49, 60},            // S1 SetCommReqField for POS_QUE (amount zero: no F4)
	iso.KindVoid:           {3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61}, // A trans "cancel"
	iso.KindRefund:         {3, 4, 11, 22, 25, 41, 42, 49, 60, 61, 63}, // A trans "refund" (F63 card organisation, "000" when unknown)
	iso.KindReversal:       {3, 4, 11, 22, 25, 39, 41, 42, 49, 60},     // A trans "reverseConsum" (F39 the reason)
	iso.KindSettlement:     {11, 41, 42, 48, 49, 60, 63},               // S1 PosSettleTran (F48 totals, F63 operator)
	iso.KindBatchUpload:    {11, 41, 42, 48, 60},                       // S1 BatchMagOnLineTrans; SetCommReqField returns before F49 for POS_BATCH_UP
	iso.KindBatchUploadEnd: {11, 41, 42, 48, 60},                       // S1 PosBatchUp (F48 the count)
	iso.KindSignOn:         {11, 41, 42, 60, 63},                       // A trans "sign"
	iso.KindSignOff:        {11, 41, 42, 60},                           // S1 SetCommReqField, POS_LOGOFF
	iso.KindEcho:           {41, 42, 60},                               // S1 SetCommReqField: RESPONSE_TEST carries no F11
}

// MandatoryFields: see HostRules. A payment-code sale is a sale whose code
// rides in the private field (F59 tag A3: alon0808/ProjectAfcApp
// code/AfcCore/UnionPay/qpboc_8583.c Build_qpboc_8583_59); a void's
// reversal keeps the void's F61 (S1 MakeReversalPack). QR orders follow
// posswitch's private mapping (iso/doc.go): F3, F11, F25, F41, F42, F60 and
// the mapping's field, plus F4 and F49 on a create.
func (d *cupDialect) MandatoryFields(r iso.Request) []int {
	return d.VariantMandatory(r.Kind(), d.mandatory(r))
}

func (d *cupDialect) mandatory(r iso.Request) []int {
	switch r := r.(type) {
	case iso.PaymentCodeSaleRequest:
		return append(append([]int(nil), cupMandatory[iso.KindSale]...), d.CodeField())
	case iso.ReversalRequest:
		f := cupMandatory[iso.KindReversal]
		switch r.Of {
		case iso.KindVoid:
			f = append(append([]int(nil), f...), 61)
		case iso.KindPaymentCodeSale:
			f = append(append([]int(nil), f...), d.CodeField())
		}
		return f
	case iso.BatchUploadRequest:
		// A refund is uploaded alone, as a copy of its advice (S1 Src/tranproc.c
		// BatchSendOffTrans2_Refund): proc code, amount, the original's RRN and
		// F61, the card organisation; no packed F48.
		if len(r.Entries) == 1 && r.Entries[0].Kind == iso.KindRefund {
			return []int{3, 4, 11, 37, 41, 42, 60, 61, 63}
		}
	case iso.QROrderCreateRequest, iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		return iso.QRMandatory(r, d.QR())
	}
	return cupMandatory[r.Kind()]
}

// MACRequired: the kinds S1 MACs (Src/trancomm.c HaveMacData: sale, balance,
// void, refund, reversal; not settlement, batch upload or management), the
// payment-code sale (a sale) and posswitch's QR order messages.
func (d *cupDialect) MACRequired(k iso.Kind) bool { return iso.MACedKind(k) }

// SignOnRequired: every request but the sign-on itself, the sign-off and
// the echo (a line test) needs working keys at the host.
func (d *cupDialect) SignOnRequired(k iso.Kind) bool { return iso.SignOnKind(k) }

// RefusalCode, CUP (texts of CaoEnXin/LiaoYang_POS Src/globalvar.c
// sRetErrInfo): 30 "请重试" for a format error; 97 "终端未登记" for an
// unknown terminal; A0 "MAC校验错 请重新签到" for a missing or bad MAC and
// also for a known terminal that has not signed on: the host holds no MAC
// key for it, so nothing it sends can verify, and A0's text (like a
// terminal's handling of it) sends the operator to sign on.
func (d *cupDialect) RefusalCode(why iso.Refusal) iso.ResponseCode {
	if c, ok := d.VariantCode(why); ok {
		return c
	}
	switch why {
	case iso.RefuseUnknownTerminal:
		return iso.CodeTerminalNotRegistered
	case iso.RefuseNotSignedOn, iso.RefuseMAC:
		return iso.CodeMACError
	}
	return iso.CodeFormatError
}

package iso

// What a host demands of a request before it acts on it. A terminal never
// needs this; an acquirer host (isoswitch.Server) applies it to every
// request it parses, so a host built on posswitch refuses what a real one
// refuses.

// Refusal is why a host turns a request away without acting on it.
type Refusal int

const (
	// RefuseFormat: a mandatory field is missing, or a field does not
	// decode (a bad BCD digit, a length over the field's maximum).
	RefuseFormat Refusal = iota + 1
	// RefuseUnknownTerminal: the host has no such terminal registered.
	RefuseUnknownTerminal
	// RefuseNotSignedOn: a known terminal that holds no working keys at the
	// host (it never signed on since the host started, or signed off).
	RefuseNotSignedOn
	// RefuseMAC: a request that must carry a MAC carries none, or one that
	// does not verify.
	RefuseMAC
)

func (r Refusal) String() string {
	switch r {
	case RefuseFormat:
		return "format error"
	case RefuseUnknownTerminal:
		return "unknown terminal"
	case RefuseNotSignedOn:
		return "not signed on"
	case RefuseMAC:
		return "MAC missing or bad"
	}
	return "refusal?"
}

// HostRules is what a dialect's host enforces on a request. Both shipped
// dialects implement it; a Dialect that does not is served unchecked.
type HostRules interface {
	// MandatoryFields are the fields a request must carry, from the
	// published specification of the dialect, the MAC field aside
	// (MACRequired covers it). For a reversal they depend on the kind
	// reversed.
	MandatoryFields(r Request) []int
	// MACRequired reports whether a request of kind k must carry a MAC that
	// verifies under the terminal's working key.
	MACRequired(k Kind) bool
	// SignOnRequired reports whether a terminal must have signed on before
	// it may send a request of kind k.
	SignOnRequired(k Kind) bool
	// RefusalCode is the F39 a host answers a refused request with.
	RefusalCode(why Refusal) ResponseCode
}

// CodeTerminalNotRegistered (CUP 97, "终端未登记" in the response-code texts
// of CaoEnXin/LiaoYang_POS Src/globalvar.c sRetErrInfo) and
// CodeSecurityViolation (ISO 8583:1987 63, e.g. the GICC code list at
// https://developer.nexigroup.com/payengine/en-EU/docs/provider-codes and
// the CB2A list at https://secure.osb.pf/doc/fr-FR/rest/V4.0/api/acq_errors/osb_priv.html)
// are the codes a host refuses with besides the format error, MAC error
// and invalid merchant.
const (
	CodeInvalidMerchant       ResponseCode = "03"
	CodeSecurityViolation     ResponseCode = "63"
	CodeTerminalNotRegistered ResponseCode = "97"
)

// Mandatory request fields, CUP. Each row is the request's M fields in the
// published sources, without F64 (the MAC rule covers it):
//
//	A  = chfenix/iso8583 src/main/resources/config/cups/iso8583_cups.xml, req="M"
//	S1 = CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField (every request
//	     sets 3, 41, 42, 60 and, except the echo, 11; financial requests add
//	     4 when the amount is not zero, 22, 25 and 49), PosSettleTran,
//	     PosBatchUp, BatchMagOnLineTrans; Src/trancomm.c MakeReversalPack
var cupMandatory = map[Kind][]int{
	KindSale:           {3, 4, 11, 22, 25, 41, 42, 49, 60},         // A trans "consum"
	KindBalanceInquiry: {3, 11, 22, 25, 41, 42, 49, 60},            // S1 SetCommReqField for POS_QUE (amount zero: no F4)
	KindVoid:           {3, 4, 11, 22, 25, 37, 41, 42, 49, 60, 61}, // A trans "cancel"
	KindRefund:         {3, 4, 11, 22, 25, 41, 42, 49, 60, 61, 63}, // A trans "refund" (F63 card organisation, "000" when unknown)
	KindReversal:       {3, 4, 11, 22, 25, 39, 41, 42, 49, 60},     // A trans "reverseConsum" (F39 the reason)
	KindSettlement:     {11, 41, 42, 48, 49, 60, 63},               // S1 PosSettleTran (F48 totals, F63 operator)
	KindBatchUpload:    {11, 41, 42, 48, 60},                       // S1 BatchMagOnLineTrans; SetCommReqField returns before F49 for POS_BATCH_UP
	KindBatchUploadEnd: {11, 41, 42, 48, 60},                       // S1 PosBatchUp (F48 the count)
	KindSignOn:         {11, 41, 42, 60, 63},                       // A trans "sign"
	KindSignOff:        {11, 41, 42, 60},                           // S1 SetCommReqField, POS_LOGOFF
	KindEcho:           {41, 42, 60},                               // S1 SetCommReqField: RESPONSE_TEST carries no F11
}

// MandatoryFields: see HostRules. A payment-code sale is a sale whose code
// rides in the private field (F59 tag A3: alon0808/ProjectAfcApp
// code/AfcCore/UnionPay/qpboc_8583.c Build_qpboc_8583_59); a void's
// reversal keeps the void's F61 (S1 MakeReversalPack). QR orders follow
// posswitch's private mapping (iso/doc.go): F3, F11, F25, F41, F42, F60 and
// the mapping's field, plus F4 and F49 on a create.
func (d *cupDialect) MandatoryFields(r Request) []int {
	return d.variantMandatory(r.Kind(), d.mandatory(r))
}

func (d *cupDialect) mandatory(r Request) []int {
	switch r := r.(type) {
	case PaymentCodeSaleRequest:
		return append(append([]int(nil), cupMandatory[KindSale]...), d.codeField)
	case ReversalRequest:
		f := cupMandatory[KindReversal]
		switch r.Of {
		case KindVoid:
			f = append(append([]int(nil), f...), 61)
		case KindPaymentCodeSale:
			f = append(append([]int(nil), f...), d.codeField)
		}
		return f
	case BatchUploadRequest:
		// A refund is uploaded alone, as a copy of its advice (S1 Src/tranproc.c
		// BatchSendOffTrans2_Refund): proc code, amount, the original's RRN and
		// F61, the card organisation; no packed F48.
		if len(r.Entries) == 1 && r.Entries[0].Kind == KindRefund {
			return []int{3, 4, 11, 37, 41, 42, 60, 61, 63}
		}
	case QROrderCreateRequest, QROrderQueryRequest, QROrderCloseRequest:
		return qrMandatory(r, d.qr)
	}
	return cupMandatory[r.Kind()]
}

// MACRequired: the kinds S1 MACs (Src/trancomm.c HaveMacData: sale, balance,
// void, refund, reversal; not settlement, batch upload or management), the
// payment-code sale (a sale) and posswitch's QR order messages.
func (d *cupDialect) MACRequired(k Kind) bool { return macedKind(k) }

// SignOnRequired: every request but the sign-on itself, the sign-off and
// the echo (a line test) needs working keys at the host.
func (d *cupDialect) SignOnRequired(k Kind) bool { return signOnKind(k) }

// RefusalCode, CUP (texts of CaoEnXin/LiaoYang_POS Src/globalvar.c
// sRetErrInfo): 30 "请重试" for a format error; 97 "终端未登记" for an
// unknown terminal; A0 "MAC校验错 请重新签到" for a missing or bad MAC and
// also for a known terminal that has not signed on: the host holds no MAC
// key for it, so nothing it sends can verify, and A0's text (like a
// terminal's handling of it) sends the operator to sign on.
func (d *cupDialect) RefusalCode(why Refusal) ResponseCode {
	if c, ok := d.variantCode(why); ok {
		return c
	}
	switch why {
	case RefuseUnknownTerminal:
		return CodeTerminalNotRegistered
	case RefuseNotSignedOn, RefuseMAC:
		return CodeMACError
	}
	return CodeFormatError
}

// Mandatory request fields, ISO87 terminal profile (resza/MAB
// source/tranproc.c SetCommReqField: every request sets 3, 11, 24, 41, 42;
// financial ones add 4 (not on a balance inquiry), 22 and 25, and
// PackInvoice F62; formats per jpos/jPOS
// jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java).
// Network management is posswitch's 0800 with F70 (ISO 8583:1987 field 70,
// n3) rather than MAB's 0800 920000, so F3 is not demanded there.
var iso87Mandatory = map[Kind][]int{
	KindSale:           {3, 4, 11, 22, 24, 25, 41, 42, 62},         // MAB SetCommReqField, glTranConfig "SALE", PackInvoice
	KindBalanceInquiry: {3, 11, 22, 24, 25, 41, 42},                // MAB SetCommReqField without an amount
	KindVoid:           {3, 4, 11, 22, 24, 25, 37, 41, 42, 62},     // MAB TransVoid: 0200 020000 with the original's F37 and invoice
	KindRefund:         {3, 4, 11, 22, 24, 25, 41, 42, 62},         // MAB glTranConfig "REFUND"
	KindReversal:       {3, 4, 11, 24, 39, 41, 42},                 // MAB TranReversal: a copy of the request (F39 the reason)
	KindSettlement:     {3, 11, 24, 41, 42, 60, 63},                // MAB TransSettleSubNew (F60 batch, F63 totals)
	KindBatchUpload:    {3, 4, 11, 22, 24, 25, 39, 41, 42, 60, 62}, // MAB TransUpLoad (F60 original MTI + STAN, F39, F62)
	KindSignOn:         {11, 24, 41, 42, 70},
	KindSignOff:        {11, 24, 41, 42, 70},
	KindEcho:           {11, 24, 41, 42, 70},
}

// Mandatory request fields, ISO87 host-to-host profile: as the terminal
// profile without F24 and F62 (no TPDU, no invoice), the void a 0400 with
// F39 17 and F90, settlement totals in F74–F77, F86–F89 and F97
// (ISO 8583:1987 formats, jPOS ISO87APackager).
var iso87H2HMandatory = map[Kind][]int{
	KindSale:           {3, 4, 11, 22, 25, 41, 42},
	KindBalanceInquiry: {3, 11, 22, 25, 41, 42},
	KindVoid:           {3, 4, 11, 25, 37, 39, 41, 42, 90},
	KindRefund:         {3, 4, 11, 22, 25, 41, 42},
	KindReversal:       {3, 4, 11, 39, 41, 42, 90},
	KindSettlement:     {3, 11, 41, 42, 60, 74, 75, 76, 77, 86, 87, 88, 89, 97},
	KindBatchUpload:    {3, 4, 11, 41, 42, 60},
	KindSignOn:         {11, 41, 42, 70},
	KindSignOff:        {11, 41, 42, 70},
	KindEcho:           {11, 41, 42, 70},
}

// MandatoryFields: see HostRules, iso87Mandatory and iso87H2HMandatory.
func (d *iso87Dialect) MandatoryFields(r Request) []int {
	return d.variantMandatory(r.Kind(), d.mandatory(r))
}

func (d *iso87Dialect) mandatory(r Request) []int {
	table := iso87Mandatory
	if !d.terminal() {
		table = iso87H2HMandatory
	}
	switch r.(type) {
	case PaymentCodeSaleRequest:
		return append(append([]int(nil), table[KindSale]...), d.codeField)
	case QROrderCreateRequest, QROrderQueryRequest, QROrderCloseRequest:
		return qrMandatory(r, d.qr)
	}
	return table[r.Kind()]
}

// MACRequired: posswitch's ISO87 profile signs every financial request with
// the ANSI X9.19 MAC (iso/doc.go); the host demands it on those. It checks
// a MAC on settlement and upload when one is present but does not demand
// it.
func (d *iso87Dialect) MACRequired(k Kind) bool { return macedKind(k) }

// SignOnRequired: as CUP.
func (d *iso87Dialect) SignOnRequired(k Kind) bool { return signOnKind(k) }

// RefusalCode, ISO 8583:1987 meanings: 30 format error; 03 invalid
// merchant for an unknown terminal; 63 security violation for a missing or
// bad MAC and for a terminal without working keys (no MAC can verify).
func (d *iso87Dialect) RefusalCode(why Refusal) ResponseCode {
	if c, ok := d.variantCode(why); ok {
		return c
	}
	switch why {
	case RefuseUnknownTerminal:
		return CodeInvalidMerchant
	case RefuseNotSignedOn, RefuseMAC:
		return CodeSecurityViolation
	}
	return CodeFormatError
}

func qrMandatory(r Request, q QROrderMapping) []int {
	if _, create := r.(QROrderCreateRequest); create {
		return []int{3, 4, 11, 25, 41, 42, 49, 60, q.Field}
	}
	return []int{3, 11, 25, 41, 42, 60, q.Field}
}

func macedKind(k Kind) bool {
	switch k {
	case KindSale, KindPaymentCodeSale, KindBalanceInquiry, KindVoid, KindRefund, KindReversal,
		KindQROrderCreate, KindQROrderQuery, KindQROrderClose:
		return true
	}
	return false
}

func signOnKind(k Kind) bool {
	switch k {
	case KindSignOn, KindSignOff, KindEcho:
		return false
	}
	return true
}

// Salvage reads what it can of a body d refused to decode: the MTI and the
// fields in order up to the first one that does not decode. A host answers
// such a request with a format error when the MTI, F11 and F41 came through
// (isoswitch.Server does). It returns nil when not even the MTI and bitmap
// can be read, or when d is not one of the shipped dialects.
func Salvage(d Dialect, body []byte) *Message {
	s, ok := d.(interface{ salvage([]byte) *Message })
	if !ok {
		return nil
	}
	return s.salvage(body)
}

func (b *base) salvage(body []byte) *Message { return b.codec.salvage(body) }

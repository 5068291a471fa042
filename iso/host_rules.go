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

// QRMandatory is the mandatory fields of a QR order request under mapping
// q: F3, F11, F25, F41, F42, F60 and the mapping's field, plus F4 and F49
// on a create.
func QRMandatory(r Request, q QROrderMapping) []int {
	if _, create := r.(QROrderCreateRequest); create {
		return []int{3, 4, 11, 25, 41, 42, 49, 60, q.Field}
	}
	return []int{3, 11, 25, 41, 42, 60, q.Field}
}

// MACedKind says whether a request of kind k carries a MAC in the shipped
// dialects: sale, payment-code sale, balance inquiry, void, refund,
// reversal and the QR order messages.
func MACedKind(k Kind) bool {
	switch k {
	case KindSale, KindPaymentCodeSale, KindBalanceInquiry, KindVoid, KindRefund, KindReversal,
		KindQROrderCreate, KindQROrderQuery, KindQROrderClose:
		return true
	}
	return false
}

// SignOnKind says whether a request of kind k needs working keys at the
// host: every kind but the sign-on, the sign-off and the echo.
func SignOnKind(k Kind) bool {
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
// can be read, or when d does not embed a Base.
func Salvage(d Dialect, body []byte) *Message {
	s, ok := d.(interface{ salvage([]byte) *Message })
	if !ok {
		return nil
	}
	return s.salvage(body)
}

func (b *Base) salvage(body []byte) *Message { return b.codec.salvage(body) }

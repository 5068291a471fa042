package iso

import (
	"fmt"
	"time"

	"github.com/moov-io/iso8583"
)

// Base is what every dialect shares: the codec over its moov-io message
// spec, the frame layout and the settings every Option can change. A
// dialect (iso/cup, iso/iso87, or one of yours) embeds a Base, sets it up
// with Init and its options with Apply, and adds its own spelling of the
// messages on top of Base's helpers. Base implements the Dialect methods
// that do not depend on the spelling: Framing, Frame, ReplyFrame, NewMAC,
// Encode, Decode, RecoveryOutcome.
type Base struct {
	codec   *codec
	framing Framing
	tpdu    TPDU
	header  []byte
	clock   func() time.Time
	qr      QROrderMapping
	// reversalDoneCodes end a reversal besides 00 (12 and 25: there is
	// nothing to reverse; see recoveryOutcome).
	reversalDoneCodes []ResponseCode
	newMAC            func([]byte) (MAC, error)
	keyBlocks         KeyBlocks // the sign-on reply's working-key layout per scheme
	name              string
	codeField         int // private field of the customer's payment code (tag A3)
	// owner is the dialect that embeds this Base (BaseConfig.Dialect):
	// what a dialect's own options configure.
	owner any
	// variant is the acquirer's own spelling on top (WithVariant).
	variant Variant
}

// BaseConfig is what a dialect tells Init about itself.
type BaseConfig struct {
	Name string // the dialect's name, e.g. "CUP"
	// Spec is the message layout; Secondary allows fields 65–128. The
	// spec is shared by every message: do not modify it afterwards.
	Spec      *iso8583.MessageSpec
	Secondary bool
	// Redact spells a field's value for logs and String(); nil masks PANs
	// and hides track, PIN, key and MAC fields (RedactDefault).
	Redact  func(id int, value string) string
	Framing Framing
	TPDU    TPDU   // default TPDU, when Framing has one
	Header  []byte // default header, Framing.HeaderLen bytes
	QR      QROrderMapping
	// ReversalDoneCodes end a reversal besides 00.
	ReversalDoneCodes []ResponseCode
	// NewMAC binds the dialect's MAC algorithm to a working MAK.
	NewMAC func(mak []byte) (MAC, error)
	// KeyBlocks is the sign-on reply's working-key layout per scheme.
	KeyBlocks KeyBlocks
	// CodeField is the private field carrying a customer's payment code
	// (TLV tag A3).
	CodeField int
	// Dialect is the dialect that embeds this Base; its own options find
	// it with Owner.
	Dialect any
}

// Init sets b up from c, with time.Now as the clock.
func (b *Base) Init(c BaseConfig) {
	redact := c.Redact
	if redact == nil {
		redact = RedactDefault
	}
	*b = Base{
		codec:             newCodec(c.Spec, c.Secondary, redact),
		framing:           c.Framing,
		tpdu:              c.TPDU,
		header:            c.Header,
		clock:             time.Now,
		qr:                c.QR,
		reversalDoneCodes: c.ReversalDoneCodes,
		newMAC:            c.NewMAC,
		keyBlocks:         c.KeyBlocks,
		name:              c.Name,
		codeField:         c.CodeField,
		owner:             c.Dialect,
	}
}

// Owner is the dialect that embeds b: a dialect's own Option checks it is
// configuring that dialect (d, ok := b.Owner().(*myDialect)).
func (b *Base) Owner() any { return b.owner }

// Spec is the message spec b packs with (after the variant's fields).
func (b *Base) Spec() *iso8583.MessageSpec { return b.codec.spec }

// SetSpec replaces the message spec (an Option that changes the layout,
// such as ISO87's binary bitmap); the variant's fields still apply on top.
func (b *Base) SetSpec(spec *iso8583.MessageSpec, secondary bool) {
	b.codec = newCodec(spec, secondary, b.codec.redact)
}

// SetHeader sets the header requests carry; it must be as long as the
// framing's HeaderLen.
func (b *Base) SetHeader(h []byte) error {
	if len(h) != b.framing.HeaderLen {
		return InvalidField("Header", "%d bytes, the framing's header has %d", len(h), b.framing.HeaderLen)
	}
	b.header = append([]byte(nil), h...)
	return nil
}

// TPDU is the TPDU requests carry.
func (b *Base) TPDU() TPDU { return b.tpdu }

// Now is the dialect's clock (WithClock).
func (b *Base) Now() time.Time { return b.clock() }

// QR is the QR order mapping.
func (b *Base) QR() QROrderMapping { return b.qr }

// CodeField is the private field of the customer's payment code.
func (b *Base) CodeField() int { return b.codeField }

// KeyBlocks is the sign-on reply's working-key layout.
func (b *Base) KeyBlocks() KeyBlocks { return b.keyBlocks }

// QROrderMapping is how a dialect spells the merchant-presented QR order,
// which no public ISO 8583 POS specification defines. The defaults use
// processing codes from the 90–99 range ISO 8583:1987 leaves to private use
// and posswitch's private TLV (see the package doc); a host with its own
// spelling is served by passing its mapping to WithQROrderMapping.
type QROrderMapping struct {
	MTI        string // request MTI, "0100" by default: authorization class, no funds move at creation
	CreateCode string // F3 of create, "910000"
	QueryCode  string // F3 of query, "920000"
	CloseCode  string // F3 of close, "930000"
	Field      int    // private field carrying the TLV: CUP 59, ISO87 48
}

func (q QROrderMapping) validate() error {
	for _, c := range []string{q.CreateCode, q.QueryCode, q.CloseCode} {
		if len(c) != 6 || !IsDigits(c) {
			return InvalidField("QROrderMapping", "processing codes must be six digits")
		}
	}
	if q.CreateCode == q.QueryCode || q.QueryCode == q.CloseCode || q.CreateCode == q.CloseCode {
		return InvalidField("QROrderMapping", "processing codes must differ")
	}
	if len(q.MTI) != 4 || !IsDigits(q.MTI) || q.MTI[3] != '0' {
		return InvalidField("QROrderMapping", "MTI must be four digits ending in 0")
	}
	return nil
}

// Option configures a dialect.
type Option func(*Base) error

// WithTPDU sets the TPDU requests carry (the dialect must frame with one).
func WithTPDU(t TPDU) Option {
	return func(b *Base) error {
		if !b.framing.TPDU {
			return InvalidField("TPDU", "this framing has no TPDU; add one with WithFraming")
		}
		b.tpdu = t
		return nil
	}
}

// WithFraming replaces the frame layout (length prefix, TPDU presence,
// maximum length). CUP's 6-byte header stays CUP's.
func WithFraming(f Framing) Option {
	return func(b *Base) error {
		if err := f.Validate(); err != nil {
			return InvalidField("Framing", "%v", err)
		}
		if f.HeaderLen != len(b.header) {
			return InvalidField("Framing", "header length %d does not match the dialect's %d", f.HeaderLen, len(b.header))
		}
		b.framing = f
		return nil
	}
}

// WithClock sets the clock used to resolve the year of dates the wire
// carries without one (F13 MMDD). Tests and replays pin it.
func WithClock(now func() time.Time) Option {
	return func(b *Base) error { b.clock = now; return nil }
}

// WithQROrderMapping replaces the QR order spelling.
func WithQROrderMapping(q QROrderMapping) Option {
	return func(b *Base) error {
		if err := q.validate(); err != nil {
			return err
		}
		if _, ok := b.codec.spec.Fields[q.Field]; !ok {
			return InvalidField("QROrderMapping", "field %d is not in this dialect", q.Field)
		}
		b.qr = q
		return nil
	}
}

// WithReversalDoneCodes replaces the codes besides 00 that end a reversal
// (default 12 and 25: the host has nothing to reverse). They end only a
// reversal: a repeated refund, advice or void answered 12 or 25 is declined
// (see RecoveryOutcome).
func WithReversalDoneCodes(codes ...ResponseCode) Option {
	return func(b *Base) error { b.reversalDoneCodes = codes; return nil }
}

// Apply runs opts on b, then applies the variant's field formats.
func (b *Base) Apply(opts []Option) error {
	for _, o := range opts {
		if err := o(b); err != nil {
			return err
		}
	}
	return b.finishVariant()
}

// Framing is the dialect's frame layout (Dialect.Framing).
func (b *Base) Framing() Framing { return b.framing }

// Frame wraps a request body with the TPDU and header (Dialect.Frame).
func (b *Base) Frame(body []byte) Frame {
	return Frame{TPDU: b.tpdu, Header: b.header, Body: body}
}

// ReplyFrame wraps a reply body as a host answers req: the same header,
// the TPDU swapped (Dialect.ReplyFrame).
func (b *Base) ReplyFrame(req Frame, body []byte) Frame {
	fr := Frame{Header: req.Header, Body: body}
	if b.framing.TPDU {
		fr.TPDU = req.TPDU.Reply()
	}
	return fr
}

// NewMAC binds the dialect's MAC algorithm to a MAK (Dialect.NewMAC).
func (b *Base) NewMAC(mak []byte) (MAC, error) { return b.newMAC(mak) }

// Decode unpacks a body with the dialect's spec (Dialect.Decode); every
// failure matches ErrMalformed.
func (b *Base) Decode(body []byte) (*Message, error) { return b.codec.decode(body) }

// MACPlaceholder marks a message that must be signed: builders set the MAC
// field to zeros and Encode fills in the real MAC.
const MACPlaceholder = "0000000000000000"

// Encode packs m and, when it carries a MAC field, signs it. The MAC field
// moves to 128 when a field above 64 is present (the secondary bitmap's MAC).
func (b *Base) Encode(m *Message, mac MAC) ([]byte, error) {
	id := macFieldOf(m)
	if id == 0 {
		out, err := b.codec.encode(m)
		if err == nil {
			m.raw = out
		}
		return out, err
	}
	if mac == nil {
		return nil, ErrNoMACKey
	}
	m.Unset(64)
	m.Unset(128)
	id = 64
	if len(m.fields) > 0 && m.fields[len(m.fields)-1].id > 64 {
		id = 128
	}
	m.Set(id, MACPlaceholder)
	out, err := b.codec.encode(m)
	if err != nil {
		return nil, err
	}
	wire := len(MACPlaceholder)
	if b.codec.binary[id] {
		wire = len(MACPlaceholder) / 2
	}
	sum := mac.Sum(out[:len(out)-wire])
	text := hexText(sum)
	if b.codec.binary[id] {
		copy(out[len(out)-wire:], sum)
	} else {
		copy(out[len(out)-wire:], text)
	}
	m.Set(id, text)
	m.raw = out
	m.binaryMAC = b.codec.binary[id]
	return out, nil
}

// ResolveDate turns a wire MMDD (and hhmmss) into a time in the year that
// puts it nearest the clock: a reply dated 1231 read on 2 January belongs to
// the year before.
func (b *Base) ResolveDate(field int, mmdd, hhmmss string) (time.Time, error) {
	return b.ResolveDateIn(field, mmdd, hhmmss, b.clock())
}

// ResolveDateIn is ResolveDate against a given now, whose location the
// result takes (UTC for F7, local for F12/F13).
func (b *Base) ResolveDateIn(field int, mmdd, hhmmss string, now time.Time) (time.Time, error) {
	if len(mmdd) != 4 || !IsDigits(mmdd) {
		return time.Time{}, Malformed(field, "want MMDD")
	}
	if hhmmss == "" {
		hhmmss = "000000"
	}
	var best time.Time
	for _, y := range []int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t, err := time.ParseInLocation("20060102150405", fmt.Sprintf("%04d%s%s", y, mmdd, hhmmss), now.Location())
		if err != nil {
			return time.Time{}, Malformed(field, "not a date and time")
		}
		if best.IsZero() || absDuration(t.Sub(now)) < absDuration(best.Sub(now)) {
			best = t
		}
	}
	return best, nil
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// HostTime reads F13 (MMDD) and F12 (hhmmss) when present.
func (b *Base) HostTime(m *Message) (time.Time, error) {
	mmdd, ok := m.Get(13)
	if !ok {
		return time.Time{}, nil
	}
	return b.ResolveDate(13, mmdd, m.Value(12))
}

// SetLocalTime writes t as F12 (hhmmss) and F13 (MMDD).
func SetLocalTime(m *Message, t time.Time) {
	m.Set(12, t.Format("150405"))
	m.Set(13, t.Format("0102"))
}

// replyCommon reads the fields every typed response shares.
func (b *Base) replyCommon(m *Message) (Reply, error) {
	r := Reply{Code: ResponseCode(m.Value(39)), RRN: RRN(m.Value(37)), AuthCode: AuthCode(m.Value(38))}
	t, err := b.HostTime(m)
	r.HostTime = t
	return r, err
}

// SetReplyCommon writes Reply's fields into a response message.
func SetReplyCommon(m *Message, r Reply) error {
	if len(r.Code) != 2 || !printable(string(r.Code)) {
		return InvalidField("Code", "must be two characters")
	}
	m.Set(39, string(r.Code))
	if !r.HostTime.IsZero() {
		SetLocalTime(m, r.HostTime)
	}
	if r.RRN != "" {
		if err := r.RRN.Validate(); err != nil {
			return err
		}
		m.Set(37, string(r.RRN))
	}
	if r.AuthCode != "" {
		if err := r.AuthCode.Validate(); err != nil {
			return err
		}
		m.Set(38, string(r.AuthCode))
	}
	return nil
}

// echo copies the listed fields of req that are present into m.
func echo(m, req *Message, ids ...int) {
	for _, id := range ids {
		if v, ok := req.Get(id); ok {
			m.Set(id, v)
		}
	}
}

// AmountOf reads F4 with the currency of F49 (numeric code).
func AmountOf(m *Message) (Amount, error) {
	v, ok := m.Get(4)
	if !ok {
		return Amount{}, nil
	}
	minor, err := ParseN12(4, v)
	if err != nil {
		return Amount{}, err
	}
	c, err := CurrencyByCode(m.Value(49))
	if err != nil {
		return Amount{}, Malformed(49, "unknown currency")
	}
	return Amount{Minor: minor, Currency: c}, nil
}

// SetAmount writes a as F4 (n12) and F49 (numeric currency).
func SetAmount(m *Message, a Amount) {
	m.Set(4, a.n12())
	m.Set(49, a.Currency.Numeric)
}

// EnvelopeOf reads the envelope fields both dialects carry in the same place.
func EnvelopeOf(m *Message) (Envelope, error) {
	stan, err := ParseN6(11, m.Value(11))
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Terminal: TerminalID(m.Value(41)), Merchant: MerchantID(m.Value(42)), STAN: STAN(stan)}, nil
}

// balanceField spells an available balance as F54 carries it in both
// dialects: account type 2, amount type 2 ("02" available), currency 3,
// sign C or D, twelve digits.
func balanceField(a Amount) string {
	sign := "C"
	m := a.Minor
	if m < 0 {
		sign, m = "D", -m
	}
	return fmt.Sprintf("0002%s%s%012d", a.Currency.Numeric, sign, m)
}

// parseBalance reads F54: up to six 20-character additional amounts
// (ISO 8583:1987 F54 ans..120, jpos/jPOS ISO87APackager IFA_LLLCHAR(120);
// CUP sends one). It takes the available balance (amount type 02), else the
// first amount.
func parseBalance(s string) (*Amount, error) {
	if len(s) == 0 || len(s)%20 != 0 || len(s) > 120 {
		return nil, Malformed(54, "want one to six 20-character amounts")
	}
	pick := s[:20]
	for i := 0; i < len(s); i += 20 {
		if s[i+2:i+4] == "02" {
			pick = s[i : i+20]
			break
		}
	}
	if pick[7] != 'C' && pick[7] != 'D' {
		return nil, Malformed(54, "want a C or D sign")
	}
	c, err := CurrencyByCode(pick[4:7])
	if err != nil {
		return nil, Malformed(54, "unknown currency")
	}
	v, err := ParseN12(54, pick[8:])
	if err != nil {
		return nil, err
	}
	if pick[7] == 'D' {
		v = -v
	}
	return &Amount{Minor: v, Currency: c}, nil
}

// qrTLV builds the private field of a QR order request or response.
func qrTLV(o QROrder, validity time.Duration) string {
	var elems []TLVElem
	if validity > 0 {
		elems = append(elems, TLVElem{tagValidity, fmt.Sprint(int64(validity / time.Second))})
	}
	if o.Ref != "" {
		elems = append(elems, TLVElem{tagOrderRef, o.Ref})
	}
	if o.Payload != "" {
		elems = append(elems, TLVElem{tagPayload, o.Payload})
	}
	if !o.Expires.IsZero() {
		elems = append(elems, TLVElem{tagExpires, o.Expires.UTC().Format("20060102150405")})
	}
	if o.Status != 0 {
		elems = append(elems, TLVElem{tagStatus, string(o.Status)})
	}
	return FormatTLV(elems)
}

// parseQRTLV reads a QR order's private TLV field (the inverse of QRTLV).
func parseQRTLV(field int, s string) (QROrder, time.Duration, error) {
	elems, err := ParseTLV(s)
	if err != nil {
		return QROrder{}, 0, Malformed(field, "not a private TLV")
	}
	var o QROrder
	var validity time.Duration
	o.Ref, _ = TLVValue(elems, tagOrderRef)
	o.Payload, _ = TLVValue(elems, tagPayload)
	if v, ok := TLVValue(elems, tagValidity); ok {
		var secs int64
		if _, err := fmt.Sscan(v, &secs); err != nil || !IsDigits(v) {
			return QROrder{}, 0, Malformed(field, "validity is not a number")
		}
		validity = time.Duration(secs) * time.Second
	}
	if v, ok := TLVValue(elems, tagExpires); ok {
		t, err := time.Parse("20060102150405", v)
		if err != nil {
			return QROrder{}, 0, Malformed(field, "expiry is not a time")
		}
		o.Expires = t
	}
	if v, ok := TLVValue(elems, tagStatus); ok {
		if len(v) != 1 || !QRStatus(v[0]).valid() {
			return QROrder{}, 0, Malformed(field, "unknown order status")
		}
		o.Status = QRStatus(v[0])
	}
	return o, validity, nil
}

// BuildQRRequest spells a QR order request with the mapping's MTI, code and
// private field. Shared by the shipped dialects: only the mapping and F60 differ.
func BuildQRRequest(m *Message, q QROrderMapping, r Request, f60 string) {
	m.MTI = q.MTI
	m.Set(25, "00")
	m.Set(60, f60)
	switch r := r.(type) {
	case QROrderCreateRequest:
		m.Set(3, q.CreateCode)
		SetAmount(m, r.Amount)
		m.Set(q.Field, qrTLV(QROrder{}, r.Validity))
	case QROrderQueryRequest:
		m.Set(3, q.QueryCode)
		m.Set(q.Field, qrTLV(QROrder{Ref: r.OrderRef}, 0))
	case QROrderCloseRequest:
		m.Set(3, q.CloseCode)
		m.Set(q.Field, qrTLV(QROrder{Ref: r.OrderRef}, 0))
	}
	m.Set(64, MACPlaceholder)
}

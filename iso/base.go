package iso

import (
	"fmt"
	"time"
)

// base is what the shipped dialects share: the codec, the frame layout and
// the settings every dialect option can change. Each dialect embeds it and
// adds its own spelling of the messages.
type base struct {
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
	keyBlocks         keyBlocks // the sign-on reply's working-key layout per scheme
	// adviceAfter is the ISO87 reversal ladder: attempts before a reversal
	// becomes an advice (0420). Zero: never.
	adviceAfter int
	name        string
	codeField   int // private field of the customer's payment code (tag A3)
	// currency is what amounts of a message without F49 are in (CUP's
	// packed batch upload); CNY by default.
	currency Currency
	// CUP choices where the public sources disagree (cup_choices.go).
	voidReversalF61 VoidReversalF61
	qrVoidEntry     *EntryMode // F22 of a void without a card; nil: 032
	// ISO87 only: the convention (WithISO87Profile), F24 (WithNII) and a
	// terminal without a PIN pad (WithPINEntryCapability(false)).
	iso87Profile ISO87Profile
	nii          string
	noPINPad     bool
	// variant is the acquirer's own spelling on top (WithVariant).
	variant Variant
}

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
		if len(c) != 6 || !isDigits(c) {
			return invalid("QROrderMapping", "processing codes must be six digits")
		}
	}
	if q.CreateCode == q.QueryCode || q.QueryCode == q.CloseCode || q.CreateCode == q.CloseCode {
		return invalid("QROrderMapping", "processing codes must differ")
	}
	if len(q.MTI) != 4 || !isDigits(q.MTI) || q.MTI[3] != '0' {
		return invalid("QROrderMapping", "MTI must be four digits ending in 0")
	}
	return nil
}

// Option configures a dialect.
type Option func(*base) error

// WithTPDU sets the TPDU requests carry (the dialect must frame with one).
func WithTPDU(t TPDU) Option {
	return func(b *base) error {
		if !b.framing.TPDU {
			return invalid("TPDU", "this framing has no TPDU; add one with WithFraming")
		}
		b.tpdu = t
		return nil
	}
}

// WithFraming replaces the frame layout (length prefix, TPDU presence,
// maximum length). CUP's 6-byte header stays CUP's.
func WithFraming(f Framing) Option {
	return func(b *base) error {
		if err := f.Validate(); err != nil {
			return invalid("Framing", "%v", err)
		}
		if f.HeaderLen != len(b.header) {
			return invalid("Framing", "header length %d does not match the dialect's %d", f.HeaderLen, len(b.header))
		}
		b.framing = f
		return nil
	}
}

// WithCurrency sets the CUP dialect's currency (default CNY, 156): the
// packed batch upload 0320 carries no F49, so its amounts are in it, a
// terminal refuses to upload entries in another currency and a host reads
// the amounts in it. ISO87 carries F49 everywhere and refuses the option.
func WithCurrency(c Currency) Option {
	return func(b *base) error {
		if b.name != "CUP" {
			return invalid("Option", "WithCurrency applies to CUP only: ISO87 messages carry F49")
		}
		if err := c.validate(); err != nil {
			return err
		}
		b.currency = c
		return nil
	}
}

// WithClock sets the clock used to resolve the year of dates the wire
// carries without one (F13 MMDD). Tests and replays pin it.
func WithClock(now func() time.Time) Option {
	return func(b *base) error { b.clock = now; return nil }
}

// WithQROrderMapping replaces the QR order spelling.
func WithQROrderMapping(q QROrderMapping) Option {
	return func(b *base) error {
		if err := q.validate(); err != nil {
			return err
		}
		if _, ok := b.codec.spec.Fields[q.Field]; !ok {
			return invalid("QROrderMapping", "field %d is not in this dialect", q.Field)
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
	return func(b *base) error { b.reversalDoneCodes = codes; return nil }
}

// WithBinaryBitmap makes ISO87 send its bitmap and b fields as raw bytes
// instead of hex text. CUP's bitmap is always binary.
func WithBinaryBitmap() Option {
	return func(b *base) error {
		if b.name != "ISO87" {
			return invalid("Option", "WithBinaryBitmap applies to ISO87 only")
		}
		b.codec = newCodec(iso87Spec(true), true, redactDefault)
		return nil
	}
}

// WithAdviceAfter sets how many reversal attempts (0400, then 0401 repeats)
// an ISO87 terminal makes before it turns the reversal into an advice (0420,
// then 0421 repeats) for store-and-forward. Zero keeps sending 0401.
func WithAdviceAfter(attempts int) Option {
	return func(b *base) error {
		if b.name != "ISO87" {
			return invalid("Option", "WithAdviceAfter applies to ISO87 only: CUP resends its 0400")
		}
		if attempts < 0 {
			return invalid("AdviceAfter", "must not be negative")
		}
		b.adviceAfter = attempts
		return nil
	}
}

func (b *base) apply(opts []Option) error {
	for _, o := range opts {
		if err := o(b); err != nil {
			return err
		}
	}
	return b.finishVariant()
}

func (b *base) Framing() Framing { return b.framing }

func (b *base) Frame(body []byte) Frame {
	return Frame{TPDU: b.tpdu, Header: b.header, Body: body}
}

func (b *base) ReplyFrame(req Frame, body []byte) Frame {
	fr := Frame{Header: req.Header, Body: body}
	if b.framing.TPDU {
		fr.TPDU = req.TPDU.Reply()
	}
	return fr
}

func (b *base) NewMAC(mak []byte) (MAC, error) { return b.newMAC(mak) }

func (b *base) Decode(body []byte) (*Message, error) { return b.codec.decode(body) }

// macPlaceholder marks a message that must be signed: builders set the MAC
// field to zeros and Encode fills in the real MAC.
const macPlaceholder = "0000000000000000"

// Encode packs m and, when it carries a MAC field, signs it. The MAC field
// moves to 128 when a field above 64 is present (the secondary bitmap's MAC).
func (b *base) Encode(m *Message, mac MAC) ([]byte, error) {
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
	m.Set(id, macPlaceholder)
	out, err := b.codec.encode(m)
	if err != nil {
		return nil, err
	}
	wire := len(macPlaceholder)
	if b.codec.binary[id] {
		wire = len(macPlaceholder) / 2
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

// resolveDate turns a wire MMDD (and hhmmss) into a time in the year that
// puts it nearest the clock: a reply dated 1231 read on 2 January belongs to
// the year before.
func (b *base) resolveDate(field int, mmdd, hhmmss string) (time.Time, error) {
	return b.resolveDateIn(field, mmdd, hhmmss, b.clock())
}

// resolveDateIn is resolveDate against a given now, whose location the
// result takes (UTC for F7, local for F12/F13).
func (b *base) resolveDateIn(field int, mmdd, hhmmss string, now time.Time) (time.Time, error) {
	if len(mmdd) != 4 || !isDigits(mmdd) {
		return time.Time{}, malformed(field, "want MMDD")
	}
	if hhmmss == "" {
		hhmmss = "000000"
	}
	var best time.Time
	for _, y := range []int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t, err := time.ParseInLocation("20060102150405", fmt.Sprintf("%04d%s%s", y, mmdd, hhmmss), now.Location())
		if err != nil {
			return time.Time{}, malformed(field, "not a date and time")
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

// hostTime reads F13 (MMDD) and F12 (hhmmss) when present.
func (b *base) hostTime(m *Message) (time.Time, error) {
	mmdd, ok := m.Get(13)
	if !ok {
		return time.Time{}, nil
	}
	return b.resolveDate(13, mmdd, m.Value(12))
}

func setLocalTime(m *Message, t time.Time) {
	m.Set(12, t.Format("150405"))
	m.Set(13, t.Format("0102"))
}

// replyCommon reads the fields every typed response shares.
func (b *base) replyCommon(m *Message) (Reply, error) {
	r := Reply{Code: ResponseCode(m.Value(39)), RRN: RRN(m.Value(37)), AuthCode: AuthCode(m.Value(38))}
	t, err := b.hostTime(m)
	r.HostTime = t
	return r, err
}

// setReplyCommon writes Reply's fields into a response message.
func setReplyCommon(m *Message, r Reply) error {
	if len(r.Code) != 2 || !printable(string(r.Code)) {
		return invalid("Code", "must be two characters")
	}
	m.Set(39, string(r.Code))
	if !r.HostTime.IsZero() {
		setLocalTime(m, r.HostTime)
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

// amountOf reads F4 with the currency of F49 (numeric code).
func amountOf(m *Message) (Amount, error) {
	v, ok := m.Get(4)
	if !ok {
		return Amount{}, nil
	}
	minor, err := parseN12(4, v)
	if err != nil {
		return Amount{}, err
	}
	c, err := CurrencyByCode(m.Value(49))
	if err != nil {
		return Amount{}, malformed(49, "unknown currency")
	}
	return Amount{Minor: minor, Currency: c}, nil
}

func setAmount(m *Message, a Amount) {
	m.Set(4, a.n12())
	m.Set(49, a.Currency.Numeric)
}

// envelopeOf reads the envelope fields both dialects carry in the same place.
func envelopeOf(m *Message) (Envelope, error) {
	stan, err := parseN6(11, m.Value(11))
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
		return nil, malformed(54, "want one to six 20-character amounts")
	}
	pick := s[:20]
	for i := 0; i < len(s); i += 20 {
		if s[i+2:i+4] == "02" {
			pick = s[i : i+20]
			break
		}
	}
	if pick[7] != 'C' && pick[7] != 'D' {
		return nil, malformed(54, "want a C or D sign")
	}
	c, err := CurrencyByCode(pick[4:7])
	if err != nil {
		return nil, malformed(54, "unknown currency")
	}
	v, err := parseN12(54, pick[8:])
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
	var elems []tlvElem
	if validity > 0 {
		elems = append(elems, tlvElem{tagValidity, fmt.Sprint(int64(validity / time.Second))})
	}
	if o.Ref != "" {
		elems = append(elems, tlvElem{tagOrderRef, o.Ref})
	}
	if o.Payload != "" {
		elems = append(elems, tlvElem{tagPayload, o.Payload})
	}
	if !o.Expires.IsZero() {
		elems = append(elems, tlvElem{tagExpires, o.Expires.UTC().Format("20060102150405")})
	}
	if o.Status != 0 {
		elems = append(elems, tlvElem{tagStatus, string(o.Status)})
	}
	return formatTLV(elems)
}

func parseQRTLV(field int, s string) (QROrder, time.Duration, error) {
	elems, err := parseTLV(s)
	if err != nil {
		return QROrder{}, 0, malformed(field, "not a private TLV")
	}
	var o QROrder
	var validity time.Duration
	o.Ref, _ = tlvValue(elems, tagOrderRef)
	o.Payload, _ = tlvValue(elems, tagPayload)
	if v, ok := tlvValue(elems, tagValidity); ok {
		var secs int64
		if _, err := fmt.Sscan(v, &secs); err != nil || !isDigits(v) {
			return QROrder{}, 0, malformed(field, "validity is not a number")
		}
		validity = time.Duration(secs) * time.Second
	}
	if v, ok := tlvValue(elems, tagExpires); ok {
		t, err := time.Parse("20060102150405", v)
		if err != nil {
			return QROrder{}, 0, malformed(field, "expiry is not a time")
		}
		o.Expires = t
	}
	if v, ok := tlvValue(elems, tagStatus); ok {
		if len(v) != 1 || !QRStatus(v[0]).valid() {
			return QROrder{}, 0, malformed(field, "unknown order status")
		}
		o.Status = QRStatus(v[0])
	}
	return o, validity, nil
}

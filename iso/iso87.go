package iso

import (
	"fmt"
	"strings"
	"time"
)

// iso87Dialect spells generic ISO 8583:1987 in ASCII as Hypercom/TSYS-style
// POS hosts take it (resza/MAB source/global.c and source/tranproc.c;
// MohamedHassanNasr/EDC-ANDROID-SUNMI .../transaction/sale/PackTrans.java). See the package doc for the
// field map.
type iso87Dialect struct{ base }

// ISO87 returns the ISO87 dialect: 2-byte binary length and no TPDU by
// default (WithFraming for 4 ASCII digits or a TPDU), MTI and fields in
// ASCII, a hex-text bitmap (WithBinaryBitmap for raw), ANSI X9.19 MAC in F64
// or F128.
func ISO87(opts ...Option) (Dialect, error) {
	d := &iso87Dialect{base{
		codec:             newCodec(iso87Spec(false), true, redactDefault),
		framing:           Framing{Prefix: LengthBinary2},
		clock:             time.Now,
		qr:                QROrderMapping{MTI: "0100", CreateCode: "910000", QueryCode: "920000", CloseCode: "930000", Field: 48},
		reversalDoneCodes: []ResponseCode{CodeInvalidTxn, CodeOriginalNotFound},
		newMAC:            NewX919MAC,
		keyBlocks:         iso87KeyBlocks,
		adviceAfter:       3,
		codeField:         48,
		name:              "ISO87",
	}}
	if err := d.apply(opts); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *iso87Dialect) Name() string { return "ISO87" }

// Network management codes of F70, the host-to-host convention (eqto/iso8583
// examples/message/signon.go; jPOS examples send 301 for an echo).
const (
	f70SignOn  = "001"
	f70SignOff = "002"
	f70Echo    = "301"
)

// tagKeyScheme carries the sign-on key scheme in F48 (CUP's 60.3 codes).
const tagKeyScheme = "K1"

// transmissionTime is F7: MMDDhhmmss in UTC.
func transmissionTime(t time.Time) string { return t.UTC().Format("0102150405") }

func (d *iso87Dialect) BuildRequest(env Envelope, r Request) (*Message, error) {
	if err := env.validate(); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, invalid("Request", "nil")
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	m := &Message{}
	m.Set(7, transmissionTime(env.Time))
	m.Set(11, env.STAN.String())
	m.Set(41, string(env.Terminal))
	m.Set(42, string(env.Merchant))
	batch := env.Batch.String()
	financial := func(mti, proc string, a Amount) {
		m.MTI = mti
		m.Set(3, proc)
		setAmount(m, a)
		setLocalTime(m, env.Time)
		m.Set(25, "00")
		m.Set(60, batch)
		m.Set(64, macPlaceholder)
	}
	switch r := r.(type) {
	case SaleRequest:
		financial("0200", "000000", r.Amount)
		_ = setCardFields(m, r.Card, "=", nil) // no encrypter: cannot fail
	case PaymentCodeSaleRequest:
		financial("0200", "000000", r.Amount)
		m.Set(22, EntryMode{Method: EntryBarcode}.wire())
		m.Set(d.codeField, formatTLV([]tlvElem{{tagPaymentCode, string(r.Code)}}))
	case BalanceInquiryRequest:
		financial("0200", "310000", Amount{})
		m.Unset(4)
		m.Set(49, r.Currency.Numeric)
		_ = setCardFields(m, r.Card, "=", nil) // no encrypter: cannot fail
	case VoidRequest:
		if r.Original.Time.IsZero() {
			return nil, invalid("Original.Time", "an ISO87 void needs the original's time for F90")
		}
		financial("0400", "000000", r.Original.Amount)
		m.Set(25, "17") // customer cancellation: this reversal is a void
		if r.Card != nil {
			_ = setCardFields(m, *r.Card, "=", nil)
			m.Unset(35) // a reversal carries no track data
		}
		if r.Original.RRN != "" {
			m.Set(37, string(r.Original.RRN))
		}
		if r.Original.AuthCode != "" {
			m.Set(38, string(r.Original.AuthCode))
		}
		m.Set(90, originalDataElements("0200", r.Original.STAN, r.Original.Time))
	case RefundRequest:
		financial("0200", "200000", r.Amount)
		_ = setCardFields(m, r.Card, "=", nil) // no encrypter: cannot fail
		m.Set(37, string(r.Original.RRN))
	case SettlementRequest:
		proc := "920000"
		if r.AfterUpload {
			proc = "960000"
		}
		m.MTI = "0500"
		m.Set(3, proc)
		m.Set(49, r.Currency.Numeric)
		m.Set(60, batch)
		if err := setISO87Totals(m, r.Totals.Domestic); err != nil {
			return nil, err
		}
		m.Set(64, macPlaceholder)
	case BatchUploadRequest:
		if len(r.Entries) != 1 {
			return nil, invalid("Entries", "ISO87 uploads one entry per 0320")
		}
		e := r.Entries[0]
		mti, proc := iso87Original(e.Kind)
		financial("0320", proc, e.Amount)
		m.Unset(25)
		setLocalTime(m, e.Time)
		if e.PAN != "" {
			m.Set(2, e.PAN.Digits())
		}
		if e.RRN != "" {
			m.Set(37, string(e.RRN))
		}
		if e.AuthCode != "" {
			m.Set(38, string(e.AuthCode))
		}
		m.Set(60, mti+e.STAN.String()+string(e.RRN))
	case SignOnRequest:
		m.MTI = "0800"
		m.Set(48, formatTLV([]tlvElem{{tagKeyScheme, cupSchemeCodes[r.Scheme]}}))
		m.Set(70, f70SignOn)
	case SignOffRequest:
		m.MTI = "0800"
		m.Set(70, f70SignOff)
	case EchoRequest:
		m.MTI = "0800"
		m.Set(70, f70Echo)
	case QROrderCreateRequest, QROrderQueryRequest, QROrderCloseRequest:
		setLocalTime(m, env.Time)
		buildQRRequest(m, d.qr, r, batch)
	default:
		return nil, fmt.Errorf("%w: %s request in ISO87 (it closes an upload with a settlement after upload)", ErrUnsupported, r.Kind())
	}
	return m, nil
}

// iso87Original is the MTI and processing code a batch entry was sent with.
func iso87Original(k Kind) (mti, proc string) {
	switch k {
	case KindVoid:
		return "0400", "000000"
	case KindRefund:
		return "0200", "200000"
	}
	return "0200", "000000"
}

// originalDataElements spells F90 (ISO 8583:1987 field 90, n42, as
// jpos/jPOS ISO87APackager declares it): original MTI n4, STAN
// n6, transmission date and time n10, then acquiring and forwarding
// institution IDs n11 each, zero-filled: a terminal has neither.
func originalDataElements(mti string, stan STAN, t time.Time) string {
	return mti + stan.String() + transmissionTime(t) + strings.Repeat("0", 22)
}

// setISO87Totals spells F74–F77, F86–F89 and F97 (ISO 8583:1987 formats
// n10 / n16 / x+n16: knovichikhin/pyiso8583 iso8583/specs.py, jPOS
// ISO87APackager).
func setISO87Totals(m *Message, c ClassTotals) error {
	counts := map[int]int{74: c.CreditCount, 75: c.CreditReversalCount, 76: c.DebitCount, 77: c.DebitReversalCount}
	amounts := map[int]int64{86: c.CreditAmount, 87: c.CreditReversalAmount, 88: c.DebitAmount, 89: c.DebitReversalAmount}
	for id, n := range counts {
		if n < 0 || n > 9_999_999_999 {
			return invalid("Totals", "count out of range for F%d", id)
		}
		m.Set(id, fmt.Sprintf("%010d", n))
	}
	for id, a := range amounts {
		if a < 0 || a > 9_999_999_999_999_999 {
			return invalid("Totals", "amount out of range for F%d", id)
		}
		m.Set(id, fmt.Sprintf("%016d", a))
	}
	net, sign := c.Net(), "C"
	if net < 0 {
		net, sign = -net, "D"
	}
	m.Set(97, fmt.Sprintf("%s%016d", sign, net))
	return nil
}

// Requirement: ISO87 frames carry no header, so never a processing
// requirement; a new sign-on is asked for with response codes instead.
func (d *iso87Dialect) Requirement(Frame) HostRequirement { return RequireNone }

package iso87

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// iso87Dialect spells generic ISO 8583:1987 in ASCII as Hypercom/TSYS-style
// POS hosts take it (resza/MAB source/global.c and source/tranproc.c;
// MohamedHassanNasr/EDC-ANDROID-SUNMI .../transaction/sale/PackTrans.java). See the package doc for the
// field map.
type iso87Dialect struct {
	iso.Base
	// adviceAfter is the reversal ladder: attempts before a reversal
	// becomes an advice (0420). Zero: never.
	adviceAfter int
	// The convention (WithProfile), F24 (WithNII) and a terminal without
	// a PIN pad (WithPINEntryCapability(false)).
	iso87Profile Profile
	nii          string
	noPINPad     bool
}

// New returns the ISO87 dialect: 2-byte binary length and no TPDU by
// default (iso.WithFraming for 4 ASCII digits or a TPDU), MTI and fields in
// ASCII, a hex-text bitmap (WithBinaryBitmap for raw), ANSI X9.19 MAC in F64
// or F128. It takes iso's options and this package's.
func New(opts ...iso.Option) (iso.Dialect, error) {
	d := &iso87Dialect{adviceAfter: 3}
	d.Init(iso.BaseConfig{
		Name:              "ISO87",
		Spec:              iso87Spec(false),
		Secondary:         true,
		Framing:           iso.Framing{Prefix: iso.LengthBinary2},
		QR:                iso.QROrderMapping{MTI: "0100", CreateCode: "910000", QueryCode: "920000", CloseCode: "930000", Field: 48},
		ReversalDoneCodes: []iso.ResponseCode{iso.CodeInvalidTxn, iso.CodeOriginalNotFound},
		NewMAC:            iso.NewX919MAC,
		KeyBlocks:         iso87KeyBlocks,
		CodeField:         48,
		Dialect:           d,
	})
	if err := d.Apply(opts); err != nil {
		return nil, err
	}
	return d, nil
}

// configure runs f on the ISO87 dialect an Option is applied to; on
// another dialect the option is refused.
func configure(b *iso.Base, refused error, f func(d *iso87Dialect) error) error {
	d, ok := b.Owner().(*iso87Dialect)
	if !ok {
		return refused
	}
	return f(d)
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

// BuildRequest spells r, then applies the variant's field rules (WithVariant).
func (d *iso87Dialect) BuildRequest(env iso.Envelope, r iso.Request) (*iso.Message, error) {
	m, err := d.buildRequest(env, r)
	if err != nil {
		return nil, err
	}
	return d.ApplyRules(env, r, m)
}

func (d *iso87Dialect) buildRequest(env iso.Envelope, r iso.Request) (*iso.Message, error) {
	m, err := iso.StartRequest(env, r)
	if err != nil {
		return nil, err
	}
	m.Set(7, transmissionTime(env.Time))
	batch := env.Batch.String()
	term := d.terminal()
	financial := func(mti, proc string, a iso.Amount) {
		m.MTI = mti
		m.Set(3, proc)
		iso.SetAmount(m, a)
		iso.SetLocalTime(m, env.Time)
		if term {
			m.Set(24, d.niiOf())
		}
		m.Set(25, "00")
		m.Set(60, batch)
		m.Set(64, iso.MACPlaceholder)
	}
	// invoice is F62 of the terminal profile (resza/MAB source/tranproc.c
	// PackInvoice: the terminal's invoice number, n6).
	invoice := func(i iso.Invoice, s iso.STAN) {
		if term {
			m.Set(62, invoiceOr(i, s))
		}
	}
	card := func(c iso.Card) error {
		if c.PINBlock != nil && d.noPINPad {
			return iso.InvalidField("Card.PINBlock", "this terminal declares no PIN entry capability (WithPINEntryCapability(false))")
		}
		_ = iso.SetCardFields(m, c, "=", nil) // no encrypter: cannot fail
		m.Set(22, d.entryWire(c.Entry.Method))
		return nil
	}
	switch r := r.(type) {
	case iso.SaleRequest:
		financial("0200", "000000", r.Amount)
		if err := card(r.Card); err != nil {
			return nil, err
		}
		invoice(env.Invoice, env.STAN)
	case iso.PaymentCodeSaleRequest:
		financial("0200", "000000", r.Amount)
		m.Set(22, d.entryWire(iso.EntryBarcode))
		m.Set(d.CodeField(), iso.FormatTLV([]iso.TLVElem{{Tag: iso.TagPaymentCode, Value: string(r.Code)}}))
		invoice(env.Invoice, env.STAN)
	case iso.BalanceInquiryRequest:
		financial("0200", "310000", iso.Amount{})
		m.Unset(4)
		m.Set(49, r.Currency.Numeric)
		if err := card(r.Card); err != nil {
			return nil, err
		}
	case iso.VoidRequest:
		if err := d.buildVoid(m, r, financial, card); err != nil {
			return nil, err
		}
	case iso.RefundRequest:
		financial("0200", "200000", r.Amount)
		if err := card(r.Card); err != nil {
			return nil, err
		}
		m.Set(37, string(r.Original.RRN))
		invoice(env.Invoice, env.STAN)
	case iso.SettlementRequest:
		proc := "920000"
		if r.AfterUpload {
			proc = "960000"
		}
		m.MTI = "0500"
		m.Set(3, proc)
		m.Set(49, r.Currency.Numeric)
		m.Set(60, batch)
		if term {
			m.Set(24, d.niiOf())
			f63, err := terminalTotalsF63(r.Totals.Domestic)
			if err != nil {
				return nil, err
			}
			m.Set(63, f63)
		} else if err := setISO87Totals(m, r.Totals.Domestic); err != nil {
			return nil, err
		}
		m.Set(64, iso.MACPlaceholder)
	case iso.BatchUploadRequest:
		if len(r.Entries) != 1 {
			return nil, iso.InvalidField("Entries", "ISO87 uploads one entry per 0320")
		}
		e := r.Entries[0]
		mti, proc := d.iso87Original(e.Kind)
		financial("0320", proc, e.Amount)
		m.Unset(25)
		iso.SetLocalTime(m, e.Time)
		if e.PAN != "" {
			m.Set(2, e.PAN.Digits())
		}
		if e.RRN != "" {
			m.Set(37, string(e.RRN))
		}
		if e.AuthCode != "" {
			m.Set(38, string(e.AuthCode))
		}
		if !term {
			m.Set(60, mti+e.STAN.String()+string(e.RRN))
			break
		}
		if e.Kind == iso.KindVoid || e.Voided {
			return nil, iso.InvalidField("Entries", "the terminal profile does not upload a void or a voided sale")
		}
		// resza/MAB source/tranproc.c TransUpLoad: the original's proc
		// code with its last digit 1, F22, F25, F39 (the original
		// response: an entry is approved), F62 its invoice, F60 the
		// original MTI, STAN and 12 spaces. No batch number travels: the
		// host files it in the batch it is settling.
		m.Set(3, proc[:5]+"1")
		method := e.Entry
		if method == "" {
			method = "00" // ISO 8583:1987 F22 positions 1-2: unknown
		}
		m.Set(22, d.entryWire(method))
		m.Set(25, "00")
		m.Set(39, string(iso.CodeApproved))
		m.Set(60, mti+e.STAN.String()+strings.Repeat(" ", 12))
		m.Set(62, invoiceOr(e.Invoice, e.STAN))
	case iso.SignOnRequest:
		m.MTI = "0800"
		m.Set(48, iso.FormatTLV([]iso.TLVElem{{Tag: tagKeyScheme, Value: r.Scheme.String()}}))
		m.Set(70, f70SignOn)
	case iso.SignOffRequest:
		m.MTI = "0800"
		m.Set(70, f70SignOff)
	case iso.EchoRequest:
		m.MTI = "0800"
		m.Set(70, f70Echo)
	case iso.QROrderCreateRequest, iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		iso.SetLocalTime(m, env.Time)
		iso.BuildQRRequest(m, d.QR(), r, batch)
	default:
		return nil, fmt.Errorf("%w: %s request in ISO87 (it closes an upload with a settlement after upload)", iso.ErrUnsupported, r.Kind())
	}
	if term && m.MTI == "0800" {
		m.Set(24, d.niiOf()) // MAB SetCommReqField sets F24 on every request
	}
	return m, nil
}

// buildVoid spells a void. Terminal profile: 0200 020000 (resza/MAB
// source/global.c glTranConfig "VOID", source/tranproc.c TransVoid and
// SetCommReqField; MohamedHassanNasr/EDC-ANDROID-SUNMI
// .../utils/TransConstant.java), the original's amount, local date and
// time (F12/F13), RRN (F37), auth code (F38) and invoice (F62), F25 the
// POS condition 00, the card keyed from the journal (F2/F14, F22 01x) when
// no card is read; it is reversible like a sale. Host-to-host profile: a
// 0400 customer-cancellation reversal, F39 17 (ISO 8583:1987 response
// code 17 "customer cancellation"; F25 stays the POS condition 00, as
// ISO 8583:1987 F25 17 would mean a returned item), F37/F38 and F90 of the
// original.
func (d *iso87Dialect) buildVoid(m *iso.Message, r iso.VoidRequest, financial func(string, string, iso.Amount), card func(iso.Card) error) error {
	if r.Original.Time.IsZero() {
		return iso.InvalidField("Original.Time", "an ISO87 void needs the original's time (F12/F13, F90)")
	}
	if err := r.Original.Invoice.Validate(); err != nil {
		return iso.PrefixField("Original", err)
	}
	if d.terminal() {
		financial("0200", "020000", r.Original.Amount)
		iso.SetLocalTime(m, r.Original.Time)
		m.Set(22, d.entryWire(iso.EntryManual))
		if r.Card != nil {
			if err := card(*r.Card); err != nil {
				return err
			}
			m.Unset(35) // MAB SetCommReqField: a swiped card's void sends F2/F14 from the log, not the track
		}
		m.Set(62, invoiceOr(r.Original.Invoice, r.Original.STAN))
	} else {
		financial("0400", "000000", r.Original.Amount)
		m.Set(39, string(iso.CodeCustomerCancel))
		if r.Card != nil {
			if err := card(*r.Card); err != nil {
				return err
			}
			m.Unset(35) // a reversal carries no track data
		}
		m.Set(90, originalDataElements("0200", r.Original.STAN, r.Original.Time))
	}
	if r.Original.RRN != "" {
		m.Set(37, string(r.Original.RRN))
	}
	if r.Original.AuthCode != "" {
		m.Set(38, string(r.Original.AuthCode))
	}
	return nil
}

// terminalTotalsF63 spells the terminal profile's settlement totals, F63
// LLL 90 (resza/MAB source/tranproc.c TransSettleSubNew): sales count n3,
// sales amount n12, refund count n3, refund amount n12, then 60 zeros.
func terminalTotalsF63(c iso.ClassTotals) (string, error) {
	for _, n := range []int{c.DebitCount, c.CreditCount} {
		if n < 0 || n > 999 {
			return "", iso.InvalidField("Totals", "a count over 999 does not fit F63 (settle before: BatchLimit)")
		}
	}
	for _, a := range []int64{c.DebitAmount, c.CreditAmount} {
		if a < 0 || a > 999_999_999_999 {
			return "", iso.InvalidField("Totals", "an amount over twelve digits does not fit F63")
		}
	}
	if c.DebitReversalCount != 0 || c.CreditReversalCount != 0 || c.DebitReversalAmount != 0 || c.CreditReversalAmount != 0 {
		return "", iso.InvalidField("Totals", "F63 has no reversal totals; the terminal profile leaves voided sales out")
	}
	return fmt.Sprintf("%03d%012d%03d%012d", c.DebitCount, c.DebitAmount, c.CreditCount, c.CreditAmount) + strings.Repeat("0", 60), nil
}

// terminalTotalsOf reads F63 back.
func terminalTotalsOf(v string) (iso.ClassTotals, error) {
	if len(v) < 30 || !iso.IsDigits(v) {
		return iso.ClassTotals{}, iso.Malformed(63, "want sales and refund counts and amounts, digits")
	}
	var c iso.ClassTotals
	c.DebitCount, _ = strconv.Atoi(v[0:3])
	c.DebitAmount, _ = strconv.ParseInt(v[3:15], 10, 64)
	c.CreditCount, _ = strconv.Atoi(v[15:18])
	c.CreditAmount, _ = strconv.ParseInt(v[18:30], 10, 64)
	return c, nil
}

// iso87Original is the MTI and processing code a batch entry was sent with.
func (d *iso87Dialect) iso87Original(k iso.Kind) (mti, proc string) {
	switch k {
	case iso.KindVoid:
		if d.terminal() {
			return "0200", "020000"
		}
		return "0400", "000000"
	case iso.KindRefund:
		return "0200", "200000"
	}
	return "0200", "000000"
}

// originalDataElements spells F90 (ISO 8583:1987 field 90, n42, as
// jpos/jPOS ISO87APackager declares it): original MTI n4, STAN
// n6, transmission date and time n10, then acquiring and forwarding
// institution IDs n11 each, zero-filled: a terminal has neither.
func originalDataElements(mti string, stan iso.STAN, t time.Time) string {
	return mti + stan.String() + transmissionTime(t) + strings.Repeat("0", 22)
}

// setISO87Totals spells F74–F77, F86–F89 and F97 (ISO 8583:1987 formats
// n10 / n16 / x+n16: knovichikhin/pyiso8583 iso8583/specs.py, jPOS
// ISO87APackager).
func setISO87Totals(m *iso.Message, c iso.ClassTotals) error {
	counts := map[int]int{74: c.CreditCount, 75: c.CreditReversalCount, 76: c.DebitCount, 77: c.DebitReversalCount}
	amounts := map[int]int64{86: c.CreditAmount, 87: c.CreditReversalAmount, 88: c.DebitAmount, 89: c.DebitReversalAmount}
	for id, n := range counts {
		if n < 0 || n > 9_999_999_999 {
			return iso.InvalidField("Totals", "count out of range for F%d", id)
		}
		m.Set(id, fmt.Sprintf("%010d", n))
	}
	for id, a := range amounts {
		if a < 0 || a > 9_999_999_999_999_999 {
			return iso.InvalidField("Totals", "amount out of range for F%d", id)
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
func (d *iso87Dialect) Requirement(iso.Frame) iso.HostRequirement { return iso.RequireNone }

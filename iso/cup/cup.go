package cup

import (
	"crypto/des"
	"fmt"
	"strings"

	"github.com/posswitch/posswitch/iso"
)

// cupDialect spells the China UnionPay POS-terminal specification as public
// terminals implement it (CaoEnXin/LiaoYang_POS Src/tranproc.c,
// Src/trancomm.c; alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c).
// See the package doc for the field map.
type cupDialect struct {
	iso.Base
	// currency is what amounts of a message without F49 are in (CUP's
	// packed batch upload); CNY by default.
	currency iso.Currency
	// Choices where the public sources disagree (choices.go).
	voidReversalF61 VoidReversalF61
	qrVoidEntry     *iso.EntryMode // F22 of a void without a card; nil: 032
}

// New returns the CUP dialect: 2-byte binary length, a 5-byte TPDU (default
// 60 0000 0000; set yours with iso.WithTPDU), the 6-byte CUP header (default
// 60 31 00 00 00 00; set yours with WithHeader), BCD fields, CUP ECB MAC in
// F64. It takes iso's options and this package's.
func New(opts ...iso.Option) (iso.Dialect, error) {
	d := &cupDialect{currency: iso.CNY}
	d.Init(iso.BaseConfig{
		Name:              "CUP",
		Spec:              cupWireSpec,
		Redact:            redactCUP,
		Framing:           iso.Framing{Prefix: iso.LengthBinary2, TPDU: true, HeaderLen: cupHeaderLen},
		TPDU:              iso.TPDU{0x60, 0, 0, 0, 0},
		Header:            DefaultHeader().Bytes(),
		QR:                iso.QROrderMapping{MTI: "0100", CreateCode: "910000", QueryCode: "920000", CloseCode: "930000", Field: 59},
		ReversalDoneCodes: []iso.ResponseCode{iso.CodeInvalidTxn, iso.CodeOriginalNotFound},
		NewMAC:            newCUPMAC,
		KeyBlocks:         cupKeyBlocks,
		CodeField:         59,
		Dialect:           d,
	})
	if err := d.Apply(opts); err != nil {
		return nil, err
	}
	return d, nil
}

// configure runs f on the CUP dialect an Option is applied to; on another
// dialect the option is refused.
func configure(b *iso.Base, refused error, f func(d *cupDialect) error) error {
	d, ok := b.Owner().(*cupDialect)
	if !ok {
		return refused
	}
	return f(d)
}

// WithCurrency sets the CUP dialect's currency (default CNY, 156): the
// packed batch upload 0320 carries no F49, so its amounts are in it, a
// terminal refuses to upload entries in another currency and a host reads
// the amounts in it.
func WithCurrency(c iso.Currency) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "cup.WithCurrency applies to the CUP dialect only: ISO87 messages carry F49"), func(d *cupDialect) error {
			if err := c.Validate(); err != nil {
				return err
			}
			d.currency = c
			return nil
		})
	}
}

// newCUPMAC is the CUP dialect's MAC: the ECB algorithm under the
// single-length MAK a CUP sign-on delivers in every key scheme. The MAK
// check value is single DES and the MAC is single DES under those 8 bytes
// (chfenix/iso8583 .../entity/SignResponse.java quotes the specification;
// alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c decrypts only
// the first 8 bytes of the MAK block). A longer key is refused rather than
// silently used as 3DES, which no CUP host would verify.
func newCUPMAC(mak []byte) (iso.MAC, error) {
	if len(mak) != des.BlockSize {
		return nil, fmt.Errorf("%w: a CUP MAC key is single-length (8 bytes), got %d",
			iso.ErrKeyLength, len(mak))
	}
	return iso.NewCUPECBMAC(mak)
}

func (d *cupDialect) Name() string { return "CUP" }

// CUP F60.1 transaction types and 60.3 network codes (CaoEnXin/LiaoYang_POS
// Src/globalvar.c TrTable, Src/tranproc.c PosBatchUp).
const (
	cup601Balance = "01"
	cup601Sale    = "22"
	cup601Void    = "23"
	cup601Refund  = "25"
	cup601Mgmt    = "00"

	cup603None       = "000"
	cup603SignOff    = "002"
	cup603Settle     = "201"
	cup603UploadEndU = "202" // upload end after "not balanced"
	cup603UploadEndB = "207" // upload end after "balanced"
	cup603Echo       = "301"
)

// cupWireSpec is cupSpec with track fields that also carry enciphered
// tracks (see WithCipherTracks).
var cupWireSpec = iso.WithCipherTracks(cupSpec)

func cupF60(txnType string, batch iso.BatchNumber, netCode string) string {
	return txnType + batch.String() + netCode
}

// operatorF63 spells 63.1: the operator code as an3, space padded.
func operatorF63(o iso.OperatorCode) string {
	if o == "" {
		o = "01"
	}
	return fmt.Sprintf("%-3s", string(o))
}

// BuildRequest spells r, then applies the variant's field rules (WithVariant).
func (d *cupDialect) BuildRequest(env iso.Envelope, r iso.Request) (*iso.Message, error) {
	m, err := d.buildRequest(env, r)
	if err != nil {
		return nil, err
	}
	return d.ApplyRules(env, r, m)
}

func (d *cupDialect) buildRequest(env iso.Envelope, r iso.Request) (*iso.Message, error) {
	m, err := iso.StartRequest(env, r)
	if err != nil {
		return nil, err
	}
	switch r := r.(type) {
	case iso.SaleRequest:
		d.financial(m, "0200", "000000", env.Batch, cup601Sale, r.Amount)
		if err := iso.SetCardFields(m, r.Card, "D", iso.CardSecurityOf(env)); err != nil {
			return nil, err
		}
	case iso.PaymentCodeSaleRequest:
		d.financial(m, "0200", "000000", env.Batch, cup601Sale, r.Amount)
		m.Set(22, iso.EntryMode{Method: iso.EntryBarcode}.Wire())
		m.Set(d.CodeField(), iso.FormatTLV([]iso.TLVElem{{Tag: iso.TagPaymentCode, Value: string(r.Code)}}))
	case iso.BalanceInquiryRequest:
		m.MTI = "0200"
		m.Set(3, "310000")
		m.Set(25, "00")
		m.Set(49, r.Currency.Numeric)
		m.Set(60, cupF60(cup601Balance, env.Batch, cup603None))
		if err := iso.SetCardFields(m, r.Card, "D", iso.CardSecurityOf(env)); err != nil {
			return nil, err
		}
		m.Set(64, iso.MACPlaceholder)
	case iso.VoidRequest:
		d.financial(m, "0200", "200000", env.Batch, cup601Void, r.Original.Amount)
		// Without a card (a payment-code or QR void) there is no PAN, so F22
		// is the dialect's choice, 032 by default (WithQRVoidEntryMode); with
		// one, SetCardFields writes the card's F2/F35 and entry mode.
		m.Set(22, d.qrVoidEntryMode().Wire())
		if r.Card != nil {
			if err := iso.SetCardFields(m, *r.Card, "D", iso.CardSecurityOf(env)); err != nil {
				return nil, err
			}
		}
		m.Set(37, rrnOrZeros(r.Original.RRN))
		if r.Original.AuthCode != "" {
			m.Set(38, string(r.Original.AuthCode))
		}
		if err := r.Original.Batch.Validate(); err != nil {
			return nil, iso.PrefixField("Original", err)
		}
		m.Set(61, r.Original.Batch.String()+r.Original.STAN.String())
	case iso.RefundRequest:
		d.financial(m, "0220", "200000", env.Batch, cup601Refund, r.Amount)
		if err := iso.SetCardFields(m, r.Card, "D", iso.CardSecurityOf(env)); err != nil {
			return nil, err
		}
		m.Set(37, string(r.Original.RRN))
		m.Set(61, batchOrZeros(r.Original.Batch)+stanOrZeros(r.Original.STAN)+r.Original.Time.Format("0102"))
		m.Set(63, iso.RefundF63(r.CardOrg))
	case iso.SettlementRequest:
		if r.AfterUpload {
			return nil, fmt.Errorf("%w: CUP closes an upload with a batch-upload end, not a second settlement", iso.ErrUnsupported)
		}
		m.MTI = "0500"
		f48, err := cupTotalsF48(r.Totals)
		if err != nil {
			return nil, err
		}
		m.Set(48, f48)
		m.Set(49, r.Currency.Numeric)
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Settle))
		m.Set(63, operatorF63(env.Operator))
	case iso.BatchUploadRequest:
		if err := d.buildUpload(m, env, r); err != nil {
			return nil, err
		}
	case iso.BatchUploadEndRequest:
		m.MTI = "0320"
		m.Set(48, fmt.Sprintf("%04d", r.Count))
		code := cup603UploadEndU
		if r.Balanced {
			code = cup603UploadEndB
		}
		m.Set(60, cupF60(cup601Mgmt, env.Batch, code))
	case iso.SignOnRequest:
		m.MTI = "0800"
		m.Set(60, cupF60(cup601Mgmt, env.Batch, r.Scheme.String()))
		m.Set(63, operatorF63(env.Operator))
	case iso.SignOffRequest:
		m.MTI = "0820"
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603SignOff))
	case iso.EchoRequest:
		m.MTI = "0820"
		// No F11: CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField
		// leaves the trace number out of RESPONSE_TEST (60.3 301). The
		// reply is matched on MTI class and terminal ID instead.
		m.Unset(11)
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Echo))
	case iso.QROrderCreateRequest, iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		iso.BuildQRRequest(m, d.QR(), r, cupF60(cup601Mgmt, env.Batch, cup603None))
	default:
		return nil, fmt.Errorf("%w: %s request", iso.ErrUnsupported, r.Kind())
	}
	return m, nil
}

// buildUpload spells a batch-upload 0320. Sales and voids go packed, up to
// eight in F48 with 60.3 201 (CaoEnXin/LiaoYang_POS Src/tranproc.c
// BatchMagOnLineTrans). A refund goes alone, as the refund it was: proc
// 200000, its card, amount and trace (F11), F37 and F61 naming the sale it
// refunded, F63 the card organisation ("000" when unknown), 60.1 25 and
// 60.3 000 (BatchSendOffTrans2_Refund; Src/globalvar.c TrTable
// POS_REFUND_BAT {"00","25","000"}). The packed form cannot carry a refund:
// its records have no processing code, so the host would count it a sale.
func (d *cupDialect) buildUpload(m *iso.Message, env iso.Envelope, r iso.BatchUploadRequest) error {
	m.MTI = "0320"
	for _, e := range r.Entries {
		if e.Kind == iso.KindRefund && len(r.Entries) != 1 {
			return iso.InvalidField("Entries", "CUP uploads a refund alone in its 0320, not packed with other records")
		}
	}
	if e := r.Entries[0]; e.Kind == iso.KindRefund {
		m.Set(3, "200000")
		if e.PAN != "" {
			m.Set(2, e.PAN.Digits())
		}
		iso.SetAmount(m, e.Amount)
		m.Set(11, e.STAN.String())
		m.Set(37, rrnOrZeros(e.Original.RRN))
		f61 := batchOrZeros(e.Original.Batch) + stanOrZeros(e.Original.STAN)
		if !e.Original.Time.IsZero() {
			f61 += e.Original.Time.Format("0102")
		}
		m.Set(61, f61)
		m.Set(63, iso.RefundF63(e.CardOrg))
		m.Set(60, cupF60(cup601Refund, env.Batch, cup603None))
		return nil
	}
	if len(r.Entries) > cupPackedPerUpload {
		return iso.InvalidField("Entries", "CUP packs at most %d entries in one upload", cupPackedPerUpload)
	}
	// No F49: CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField
	// returns before F25/F49 for POS_BATCH_UP, so the packed amounts
	// are in the dialect's currency, which every entry must be in.
	for i, e := range r.Entries {
		if e.Amount.Currency != d.currency {
			return iso.InvalidField(fmt.Sprintf("Entries[%d].Amount.Currency", i),
				"CUP's batch upload carries no currency; amounts must be in %s (WithCurrency)", d.currency.Alpha)
		}
	}
	m.Set(48, cupUploadF48(r.Entries))
	m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Settle))
	return nil
}

// financial sets what every CUP financial request carries.
func (d *cupDialect) financial(m *iso.Message, mti, proc string, batch iso.BatchNumber, txnType string, a iso.Amount) {
	m.MTI = mti
	m.Set(3, proc)
	iso.SetAmount(m, a)
	m.Set(25, "00")
	m.Set(60, cupF60(txnType, batch, cup603None))
	m.Set(64, iso.MACPlaceholder)
}

func rrnOrZeros(r iso.RRN) string {
	if r == "" {
		return strings.Repeat("0", 12) // CUP: an unknown original RRN travels as zeros
	}
	return string(r)
}

func batchOrZeros(b iso.BatchNumber) string {
	if b == 0 {
		return "000000"
	}
	return b.String()
}

func stanOrZeros(s iso.STAN) string {
	if s == 0 {
		return "000000"
	}
	return s.String()
}

// Requirement reads the processing-requirement nibble of a CUP reply
// header (the low nibble of its third byte; CaoEnXin/LiaoYang_POS
// Src/trancomm.c OnlineDownOrUp).
func (d *cupDialect) Requirement(reply iso.Frame) iso.HostRequirement { return cupRequirement(reply) }

package iso

import (
	"fmt"
	"strings"
	"time"
)

// cupDialect spells the China UnionPay POS-terminal specification as public
// terminals implement it (CaoEnXin/LiaoYang_POS Src/tranproc.c,
// Src/trancomm.c; alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c).
// See the package doc for the field map.
type cupDialect struct{ base }

// CUP returns the CUP dialect: 2-byte binary length, a 5-byte TPDU (default
// 60 0000 0000; set yours with WithTPDU), the 6-byte CUP header (default
// 60 31 00 00 00 00; set yours with WithCUPHeader), BCD fields,
// CUP ECB MAC in F64.
func CUP(opts ...Option) (Dialect, error) {
	d := &cupDialect{base{
		codec:             newCodec(cupWireSpec, false, redactCUP),
		framing:           Framing{Prefix: LengthBinary2, TPDU: true, HeaderLen: cupHeaderLen},
		tpdu:              TPDU{0x60, 0, 0, 0, 0},
		header:            DefaultCUPHeader().Bytes(),
		clock:             time.Now,
		qr:                QROrderMapping{MTI: "0100", CreateCode: "910000", QueryCode: "920000", CloseCode: "930000", Field: 59},
		reversalDoneCodes: []ResponseCode{CodeInvalidTxn, CodeOriginalNotFound},
		newMAC:            newCUPMAC,
		keyBlocks:         cupKeyBlocks,
		codeField:         59,
		currency:          CNY,
		name:              "CUP",
	}}
	if err := d.apply(opts); err != nil {
		return nil, err
	}
	return d, nil
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
// tracks (see withCipherTracks).
var cupWireSpec = withCipherTracks(cupSpec)

var cupSchemeCodes = map[KeyScheme]string{KeysSingleDES: "001", KeysDoubleDES: "003", KeysDoubleDESTrack: "004"}

func cupF60(txnType string, batch BatchNumber, netCode string) string {
	return txnType + batch.String() + netCode
}

// operatorF63 spells 63.1: the operator code as an3, space padded.
func operatorF63(o OperatorCode) string {
	if o == "" {
		o = "01"
	}
	return fmt.Sprintf("%-3s", string(o))
}

// BuildRequest spells r, then applies the variant's field rules (WithVariant).
func (d *cupDialect) BuildRequest(env Envelope, r Request) (*Message, error) {
	m, err := d.buildRequest(env, r)
	if err != nil {
		return nil, err
	}
	return d.applyRules(env, r, m)
}

func (d *cupDialect) buildRequest(env Envelope, r Request) (*Message, error) {
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
	m.Set(11, env.STAN.String())
	m.Set(41, string(env.Terminal))
	m.Set(42, string(env.Merchant))
	switch r := r.(type) {
	case SaleRequest:
		d.financial(m, "0200", "000000", env.Batch, cup601Sale, r.Amount)
		if err := setCardFields(m, r.Card, "D", cupSecurityOf(env)); err != nil {
			return nil, err
		}
	case PaymentCodeSaleRequest:
		d.financial(m, "0200", "000000", env.Batch, cup601Sale, r.Amount)
		m.Set(22, EntryMode{Method: EntryBarcode}.wire())
		m.Set(d.codeField, formatTLV([]tlvElem{{tagPaymentCode, string(r.Code)}}))
	case BalanceInquiryRequest:
		m.MTI = "0200"
		m.Set(3, "310000")
		m.Set(25, "00")
		m.Set(49, r.Currency.Numeric)
		m.Set(60, cupF60(cup601Balance, env.Batch, cup603None))
		if err := setCardFields(m, r.Card, "D", cupSecurityOf(env)); err != nil {
			return nil, err
		}
		m.Set(64, macPlaceholder)
	case VoidRequest:
		d.financial(m, "0200", "200000", env.Batch, cup601Void, r.Original.Amount)
		// Without a card (a payment-code or QR void) there is no PAN, so F22
		// is the dialect's choice, 032 by default (WithQRVoidEntryMode); with
		// one, setCardFields writes the card's F2/F35 and entry mode.
		m.Set(22, d.qrVoidEntryMode().wire())
		if r.Card != nil {
			if err := setCardFields(m, *r.Card, "D", cupSecurityOf(env)); err != nil {
				return nil, err
			}
		}
		m.Set(37, rrnOrZeros(r.Original.RRN))
		if r.Original.AuthCode != "" {
			m.Set(38, string(r.Original.AuthCode))
		}
		if err := r.Original.Batch.Validate(); err != nil {
			return nil, prefixField("Original", err)
		}
		m.Set(61, r.Original.Batch.String()+r.Original.STAN.String())
	case RefundRequest:
		d.financial(m, "0220", "200000", env.Batch, cup601Refund, r.Amount)
		if err := setCardFields(m, r.Card, "D", cupSecurityOf(env)); err != nil {
			return nil, err
		}
		m.Set(37, string(r.Original.RRN))
		m.Set(61, batchOrZeros(r.Original.Batch)+stanOrZeros(r.Original.STAN)+r.Original.Time.Format("0102"))
		m.Set(63, refundF63(r.CardOrg))
	case SettlementRequest:
		if r.AfterUpload {
			return nil, fmt.Errorf("%w: CUP closes an upload with a batch-upload end, not a second settlement", ErrUnsupported)
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
	case BatchUploadRequest:
		if err := d.buildUpload(m, env, r); err != nil {
			return nil, err
		}
	case BatchUploadEndRequest:
		m.MTI = "0320"
		m.Set(48, fmt.Sprintf("%04d", r.Count))
		code := cup603UploadEndU
		if r.Balanced {
			code = cup603UploadEndB
		}
		m.Set(60, cupF60(cup601Mgmt, env.Batch, code))
	case SignOnRequest:
		m.MTI = "0800"
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cupSchemeCodes[r.Scheme]))
		m.Set(63, operatorF63(env.Operator))
	case SignOffRequest:
		m.MTI = "0820"
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603SignOff))
	case EchoRequest:
		m.MTI = "0820"
		// No F11: CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField
		// leaves the trace number out of RESPONSE_TEST (60.3 301). The
		// reply is matched on MTI class and terminal ID instead.
		m.Unset(11)
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Echo))
	case QROrderCreateRequest, QROrderQueryRequest, QROrderCloseRequest:
		buildQRRequest(m, d.qr, r, cupF60(cup601Mgmt, env.Batch, cup603None))
	default:
		return nil, fmt.Errorf("%w: %s request", ErrUnsupported, r.Kind())
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
func (d *cupDialect) buildUpload(m *Message, env Envelope, r BatchUploadRequest) error {
	m.MTI = "0320"
	for _, e := range r.Entries {
		if e.Kind == KindRefund && len(r.Entries) != 1 {
			return invalid("Entries", "CUP uploads a refund alone in its 0320, not packed with other records")
		}
	}
	if e := r.Entries[0]; e.Kind == KindRefund {
		m.Set(3, "200000")
		if e.PAN != "" {
			m.Set(2, e.PAN.Digits())
		}
		setAmount(m, e.Amount)
		m.Set(11, e.STAN.String())
		m.Set(37, rrnOrZeros(e.Original.RRN))
		f61 := batchOrZeros(e.Original.Batch) + stanOrZeros(e.Original.STAN)
		if !e.Original.Time.IsZero() {
			f61 += e.Original.Time.Format("0102")
		}
		m.Set(61, f61)
		m.Set(63, refundF63(e.CardOrg))
		m.Set(60, cupF60(cup601Refund, env.Batch, cup603None))
		return nil
	}
	if len(r.Entries) > cupPackedPerUpload {
		return invalid("Entries", "CUP packs at most %d entries in one upload", cupPackedPerUpload)
	}
	// No F49: CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField
	// returns before F25/F49 for POS_BATCH_UP, so the packed amounts
	// are in the dialect's currency, which every entry must be in.
	for i, e := range r.Entries {
		if e.Amount.Currency != d.currency {
			return invalid(fmt.Sprintf("Entries[%d].Amount.Currency", i),
				"CUP's batch upload carries no currency; amounts must be in %s (WithCurrency)", d.currency.Alpha)
		}
	}
	m.Set(48, cupUploadF48(r.Entries))
	m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Settle))
	return nil
}

// financial sets what every CUP financial request carries.
func (d *cupDialect) financial(m *Message, mti, proc string, batch BatchNumber, txnType string, a Amount) {
	m.MTI = mti
	m.Set(3, proc)
	setAmount(m, a)
	m.Set(25, "00")
	m.Set(60, cupF60(txnType, batch, cup603None))
	m.Set(64, macPlaceholder)
}

func rrnOrZeros(r RRN) string {
	if r == "" {
		return strings.Repeat("0", 12) // CUP: an unknown original RRN travels as zeros
	}
	return string(r)
}

func batchOrZeros(b BatchNumber) string {
	if b == 0 {
		return "000000"
	}
	return b.String()
}

func stanOrZeros(s STAN) string {
	if s == 0 {
		return "000000"
	}
	return s.String()
}

// buildQRRequest spells a QR order request with the mapping's MTI, code and
// private field. Shared by both dialects: only the mapping differs.
func buildQRRequest(m *Message, q QROrderMapping, r Request, f60 string) {
	m.MTI = q.MTI
	m.Set(25, "00")
	m.Set(60, f60)
	switch r := r.(type) {
	case QROrderCreateRequest:
		m.Set(3, q.CreateCode)
		setAmount(m, r.Amount)
		m.Set(q.Field, qrTLV(QROrder{}, r.Validity))
	case QROrderQueryRequest:
		m.Set(3, q.QueryCode)
		m.Set(q.Field, qrTLV(QROrder{Ref: r.OrderRef}, 0))
	case QROrderCloseRequest:
		m.Set(3, q.CloseCode)
		m.Set(q.Field, qrTLV(QROrder{Ref: r.OrderRef}, 0))
	}
	m.Set(64, macPlaceholder)
}

// Requirement reads the processing-requirement nibble of a CUP reply
// header (the low nibble of its third byte; CaoEnXin/LiaoYang_POS
// Src/trancomm.c OnlineDownOrUp).
func (d *cupDialect) Requirement(reply Frame) HostRequirement { return cupRequirement(reply) }

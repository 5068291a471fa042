package iso

import (
	"fmt"
	"strings"
	"time"
)

// cupDialect spells the China UnionPay POS-terminal specification
// (domain.md §1–§3, §7.1). See the package doc for the field map.
type cupDialect struct{ base }

// CUP header defaults: application type 60 (POS), software version 31,
// status 0 (normal) with processing requirement 0, sub-version 000000.
var defaultCUPHeader = []byte{0x60, 0x31, 0x00, 0x00, 0x00, 0x00}

// CUP returns the CUP dialect: 2-byte binary length, a 5-byte TPDU (default
// 60 0000 0000; set yours with WithTPDU), the 6-byte CUP header, BCD fields,
// CUP ECB MAC in F64.
func CUP(opts ...Option) (Dialect, error) {
	d := &cupDialect{base{
		codec:             newCodec(cupWireSpec, false, redactCUP),
		framing:           Framing{Prefix: LengthBinary2, TPDU: true, HeaderLen: len(defaultCUPHeader)},
		tpdu:              TPDU{0x60, 0, 0, 0, 0},
		header:            append([]byte(nil), defaultCUPHeader...),
		clock:             time.Now,
		qr:                QROrderMapping{MTI: "0100", CreateCode: "910000", QueryCode: "920000", CloseCode: "930000", Field: 59},
		reversalDoneCodes: []ResponseCode{CodeInvalidTxn, CodeOriginalNotFound},
		newMAC:            newCUPMAC,
		keyBlocks:         cupKeyBlocks,
		codeField:         59,
		name:              "CUP",
	}}
	if err := d.apply(opts); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *cupDialect) Name() string { return "CUP" }

// CUP F60.1 transaction types (domain.md §2.1) and 60.3 network codes (§3).
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

func (d *cupDialect) BuildRequest(env Envelope, r Request) (*Message, error) {
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
		m.Set(22, EntryMode{Method: EntryManual}.wire())
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
		m.Set(63, "CUP")
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
		if len(r.Entries) > d.UploadBatchSize() {
			return nil, invalid("Entries", "CUP packs at most %d entries in one upload", d.UploadBatchSize())
		}
		m.MTI = "0320"
		m.Set(48, cupUploadF48(r.Entries))
		m.Set(49, r.Entries[0].Amount.Currency.Numeric)
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Settle))
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
		m.Set(60, cupF60(cup601Mgmt, env.Batch, cup603Echo))
	case QROrderCreateRequest, QROrderQueryRequest, QROrderCloseRequest:
		buildQRRequest(m, d.qr, r, cupF60(cup601Mgmt, env.Batch, cup603None))
	default:
		return nil, fmt.Errorf("%w: %s request", ErrUnsupported, r.Kind())
	}
	return m, nil
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

// SignOnRequested reads the processing-requirement nibble of the CUP
// header (the low nibble of its third byte; domain.md §1.1): 3 asks for a
// new sign-on.
func (d *cupDialect) SignOnRequested(reply Frame) bool {
	return len(reply.Header) == len(defaultCUPHeader) && reply.Header[2]&0x0F == 3
}

package iso

import (
	"fmt"
	"time"
)

// Envelope is what every request carries besides its own content: who sends
// it, its trace number and when. The journal assigns STAN and batch; the
// terminal's configuration supplies the IDs.
type Envelope struct {
	Terminal TerminalID
	Merchant MerchantID
	STAN     STAN
	Batch    BatchNumber
	Time     time.Time    // the terminal's local date and time of the request
	Operator OperatorCode // optional; CUP puts it in F63 of sign-on and settlement

	// KeyScheme is the scheme of the working keys the terminal signed on
	// with. CUP spells it in 53.2: 0 for single-length (001), 6 for
	// double-length (003, 004). Zero means the terminal's default,
	// double-length.
	KeyScheme KeyScheme
	// Tracks, when set, enciphers track data under the track-data key of
	// a scheme 004 sign-on: CUP then sends F35 enciphered with 53.3 = 1.
	// Nil sends tracks clear, and so does ISO87, whose private mapping has
	// no track-encryption indicator. It is an interface so that the key can live
	// in a security module; WorkingKeys implements it in software and
	// prints masked.
	Tracks TrackEncrypter
	// Invoice is the receipt number ISO87's terminal profile sends in F62;
	// zero sends the STAN (resza/MAB source/tranproc.c PackInvoice).
	Invoice Invoice
}

func (e Envelope) validate() error {
	for _, err := range []error{e.Terminal.Validate(), e.Merchant.Validate(), e.STAN.Validate(), e.Batch.Validate()} {
		if err != nil {
			return err
		}
	}
	if e.Time.IsZero() {
		return InvalidField("Time", "required")
	}
	if e.KeyScheme < 0 || e.KeyScheme > KeysDoubleDESTrack {
		return InvalidField("KeyScheme", "unknown key scheme")
	}
	if err := e.Invoice.Validate(); err != nil {
		return err
	}
	if e.Operator != "" {
		return e.Operator.Validate()
	}
	return nil
}

// Request is one typed request. The set is closed: each dialect knows how to
// spell every one of them or says ErrUnsupported.
type Request interface {
	Kind() Kind
	validate() error
}

// Original identifies an earlier transaction a void, refund or reversal
// refers to. A dialect uses the parts its host needs and refuses the request
// with a FieldError when one of those is missing.
type Original struct {
	STAN     STAN
	Batch    BatchNumber
	Time     time.Time // local date and time of the original
	RRN      RRN
	AuthCode AuthCode
	Amount   Amount
	// Invoice is the original's receipt number (ISO87 terminal profile
	// F62 of a void); zero means it was the original's STAN.
	Invoice Invoice
}

// SaleRequest charges a card.
type SaleRequest struct {
	Amount Amount
	Card   Card
}

// PaymentCodeSaleRequest charges the customer's wallet through the one-time
// code the terminal scanned from the customer's phone (C2B, entry mode 03).
type PaymentCodeSaleRequest struct {
	Amount Amount
	Code   PaymentCode
}

// BalanceInquiryRequest asks for a card's available balance. Nothing moves.
type BalanceInquiryRequest struct {
	Card     Card
	Currency Currency
}

// VoidRequest cancels an approved sale of the open batch, for its full
// amount (Original.Amount). Card is set when the host wants the card again.
type VoidRequest struct {
	Original Original
	Card     *Card
}

// RefundRequest returns money for a sale of a settled batch; Amount may be
// less than the original's. CardOrg is the original card's organisation
// when the terminal knows it (CUP sends it in F63, "000" when unknown).
type RefundRequest struct {
	Amount   Amount
	Card     Card
	Original Original
	CardOrg  CardOrg
}

// ReversalRequest is a reversal as a host reads it. Terminals do not build
// it: they ask the dialect for the reversal of the message they sent.
type ReversalRequest struct {
	Of       Kind         // what is being reversed
	Amount   Amount       // the original amount
	Original Original     // STAN (and time, for ISO87) of the reversed message
	Reason   ResponseCode // the reason as the dialect spells it in F39
	Advice   bool         // store-and-forward advice (0420/0421)
	Repeat   bool         // a retransmission (0401/0421)
}

// SettlementRequest asks the host to reconcile the batch with the terminal's
// totals. AfterUpload is the ISO87 close after a batch upload (960000).
type SettlementRequest struct {
	Totals      Totals
	Currency    Currency
	AfterUpload bool
}

// BatchUploadRequest sends batch entries after the host reported the batch
// out of balance; Dialect.PlanUpload says which go in one message.
type BatchUploadRequest struct {
	Entries []BatchEntry
}

// BatchUploadEndRequest ends a CUP batch upload with the number of entries
// sent; Balanced echoes the settlement verdict (60.3 207 rather than 202).
type BatchUploadEndRequest struct {
	Count    int
	Balanced bool
}

// KeyScheme is the working-key set a sign-on asks for (CUP 60.3).
type KeyScheme int

const (
	KeysSingleDES      KeyScheme = iota + 1 // 001: single-length PIK and MAK
	KeysDoubleDES                           // 003: double-length PIK; CUP's MAK stays single-length (ISO87's is double)
	KeysDoubleDESTrack                      // 004: as 003 plus a double-length track-data key (TDK)
)

// schemeCodes are the schemes' CUP 60.3 codes, which ISO87 carries in
// F48 tag K1 too.
var schemeCodes = map[KeyScheme]string{KeysSingleDES: "001", KeysDoubleDES: "003", KeysDoubleDESTrack: "004"}

// String is the scheme's CUP 60.3 code ("001", "003", "004").
func (s KeyScheme) String() string {
	if c, ok := schemeCodes[s]; ok {
		return c
	}
	return fmt.Sprintf("KeyScheme(%d)", int(s))
}

// SignOnRequest asks for working keys (and, in CUP, the host's batch number).
type SignOnRequest struct {
	Scheme KeyScheme
}

// SignOffRequest ends the session.
type SignOffRequest struct{}

// EchoRequest is the keep-alive.
type EchoRequest struct{}

// QROrderCreateRequest asks the host for a merchant-presented code: the
// terminal shows it and the customer's wallet scans and pays it.
type QROrderCreateRequest struct {
	Amount   Amount
	Validity time.Duration // whole seconds, 1 s to 24 h
}

// QROrderQueryRequest asks where an order stands.
type QROrderQueryRequest struct {
	OrderRef string
}

// QROrderCloseRequest closes an order while it is still unpaid.
type QROrderCloseRequest struct {
	OrderRef string
}

func (SaleRequest) Kind() Kind            { return KindSale }
func (PaymentCodeSaleRequest) Kind() Kind { return KindPaymentCodeSale }
func (BalanceInquiryRequest) Kind() Kind  { return KindBalanceInquiry }
func (VoidRequest) Kind() Kind            { return KindVoid }
func (RefundRequest) Kind() Kind          { return KindRefund }
func (ReversalRequest) Kind() Kind        { return KindReversal }
func (SettlementRequest) Kind() Kind      { return KindSettlement }
func (BatchUploadRequest) Kind() Kind     { return KindBatchUpload }
func (BatchUploadEndRequest) Kind() Kind  { return KindBatchUploadEnd }
func (SignOnRequest) Kind() Kind          { return KindSignOn }
func (SignOffRequest) Kind() Kind         { return KindSignOff }
func (EchoRequest) Kind() Kind            { return KindEcho }
func (QROrderCreateRequest) Kind() Kind   { return KindQROrderCreate }
func (QROrderQueryRequest) Kind() Kind    { return KindQROrderQuery }
func (QROrderCloseRequest) Kind() Kind    { return KindQROrderClose }

func (r SaleRequest) validate() error {
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	return r.Card.Validate()
}

func (r PaymentCodeSaleRequest) validate() error {
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	return r.Code.Validate()
}

func (r BalanceInquiryRequest) validate() error {
	if err := r.Currency.validate(); err != nil {
		return err
	}
	return r.Card.Validate()
}

func (r VoidRequest) validate() error {
	if r.Original.STAN == 0 {
		return InvalidField("Original", "a void needs its original transaction")
	}
	if err := r.Original.Amount.Validate(); err != nil {
		return PrefixField("Original", err)
	}
	if r.Card != nil {
		return r.Card.Validate()
	}
	return nil
}

func (r RefundRequest) validate() error {
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	if r.Original.RRN == "" {
		return InvalidField("Original.RRN", "a refund needs the original's RRN")
	}
	if err := r.Original.RRN.Validate(); err != nil {
		return PrefixField("Original", err)
	}
	if r.Original.Time.IsZero() {
		return InvalidField("Original.Time", "a refund needs the original's date")
	}
	if r.Original.Amount.Minor != 0 && r.Amount.Minor > r.Original.Amount.Minor {
		return InvalidField("Amount", "more than the original amount")
	}
	if err := r.CardOrg.Validate(); err != nil {
		return err
	}
	return r.Card.Validate()
}

func (r ReversalRequest) validate() error { return r.Amount.Validate() }

func (r SettlementRequest) validate() error { return r.Currency.validate() }

func (r BatchUploadRequest) validate() error {
	if len(r.Entries) == 0 {
		return InvalidField("Entries", "at least one entry")
	}
	for _, e := range r.Entries {
		if err := e.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (r BatchUploadEndRequest) validate() error {
	if r.Count < 0 || r.Count > 9999 {
		return InvalidField("Count", "must be 0 to 9999")
	}
	return nil
}

func (r SignOnRequest) validate() error {
	if r.Scheme < KeysSingleDES || r.Scheme > KeysDoubleDESTrack {
		return InvalidField("Scheme", "unknown key scheme")
	}
	return nil
}

func (SignOffRequest) validate() error { return nil }
func (EchoRequest) validate() error    { return nil }

func (r QROrderCreateRequest) validate() error {
	if err := r.Amount.Validate(); err != nil {
		return err
	}
	if r.Validity < time.Second || r.Validity > 24*time.Hour || r.Validity%time.Second != 0 {
		return InvalidField("Validity", "must be whole seconds from 1 s to 24 h")
	}
	return nil
}

func (r QROrderQueryRequest) validate() error { return validateOrderRef(r.OrderRef) }
func (r QROrderCloseRequest) validate() error { return validateOrderRef(r.OrderRef) }

func validateOrderRef(ref string) error {
	if len(ref) == 0 || len(ref) > 64 || !printable(ref) {
		return InvalidField("OrderRef", "must be 1 to 64 printable characters")
	}
	return nil
}

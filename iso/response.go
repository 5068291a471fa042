package iso

import (
	"time"
)

// Response is one typed reply.
type Response interface {
	Kind() Kind
	Result() ResponseCode
}

// Reply is what every typed response carries.
type Reply struct {
	Code     ResponseCode
	HostTime time.Time // host's local date and time (F12/F13), zero when absent
	RRN      RRN       // when the host assigned one
	AuthCode AuthCode  // on approvals that carry one
}

// Result is the response code.
func (r Reply) Result() ResponseCode { return r.Code }

// FinancialResponse answers a sale, payment-code sale, balance inquiry, void
// or refund. Of says which.
type FinancialResponse struct {
	Reply
	Of      Kind
	Amount  Amount  // the amount the host approved (differs on partial approval)
	Balance *Amount // available balance, on a balance inquiry
	// CardOrg is the card organisation the host names (CUP F63.1, "" when
	// the reply has none); CUP settles and uploads by it.
	CardOrg CardOrg
}

// ReversalResponse answers a reversal or reversal advice.
type ReversalResponse struct {
	Reply
	Advice bool
}

// Verdict is the host's reconciliation result.
type Verdict int

const (
	VerdictNone         Verdict = iota // class not reported (no transactions of it)
	VerdictBalanced                    // host's totals equal the terminal's
	VerdictOutOfBalance                // they differ: upload the batch
	VerdictError                       // host could not reconcile
)

func (v Verdict) String() string {
	return [...]string{"none", "balanced", "out of balance", "error"}[v]
}

// SettlementResponse answers a settlement. Verdict is the overall result;
// CUP reports domestic and foreign cards separately, ISO87 only Domestic.
// A host may leave Reply.Code empty: the dialect then spells the verdict
// its way (CUP: 00 with the verdict in F48; ISO87: 00 or 95).
type SettlementResponse struct {
	Reply
	AfterUpload bool
	Verdict     Verdict
	Domestic    Verdict
	Foreign     Verdict
}

// BatchUploadResponse answers a batch upload or its end.
type BatchUploadResponse struct {
	Reply
	End bool
}

// SignOnKeys are the working keys of a sign-on reply, each enciphered under
// the terminal master key with the check value of the clear key. Unwrap them
// with UnwrapKey. Their lengths must be the dialect's for the scheme asked
// for (SignOnKeyLengths): BuildResponse refuses others with ErrKeyLength,
// and ParseResponse refuses a key block of another layout as malformed.
type SignOnKeys struct {
	PIK WrappedKey
	MAK WrappedKey
	TDK *WrappedKey // with KeysDoubleDESTrack
}

// SignOnResponse answers a sign-on.
type SignOnResponse struct {
	Reply
	Batch BatchNumber // CUP: the host's current batch, which the terminal adopts
	Keys  SignOnKeys
}

// NetworkResponse answers a sign-off or an echo.
type NetworkResponse struct {
	Reply
	Of Kind
}

// QRStatus is where a merchant-presented QR order stands.
type QRStatus byte

const (
	QRWaiting QRStatus = 'W' // shown, not paid yet
	QRPaid    QRStatus = 'P' // the customer paid: an approved transaction
	QRClosed  QRStatus = 'C' // closed by the merchant before payment
	QRExpired QRStatus = 'E' // validity ran out unpaid
)

func (s QRStatus) String() string {
	switch s {
	case QRWaiting:
		return "waiting"
	case QRPaid:
		return "paid"
	case QRClosed:
		return "closed"
	case QRExpired:
		return "expired"
	}
	return "unknown"
}

func (s QRStatus) valid() bool {
	return s == QRWaiting || s == QRPaid || s == QRClosed || s == QRExpired
}

// QROrder is a merchant-presented order as the host describes it.
type QROrder struct {
	Ref     string
	Payload string    // what the terminal renders as a QR code (create only)
	Expires time.Time // UTC, to the second (create only)
	Status  QRStatus
}

// QROrderResponse answers a QR order create, query or close. When Status is
// QRPaid the Reply carries the RRN and auth code of the payment.
type QROrderResponse struct {
	Reply
	Of     Kind
	Amount Amount
	Order  QROrder
}

func (r FinancialResponse) Kind() Kind { return r.Of }
func (ReversalResponse) Kind() Kind    { return KindReversal }
func (SettlementResponse) Kind() Kind  { return KindSettlement }
func (r BatchUploadResponse) Kind() Kind {
	return map[bool]Kind{false: KindBatchUpload, true: KindBatchUploadEnd}[r.End]
}
func (SignOnResponse) Kind() Kind    { return KindSignOn }
func (r NetworkResponse) Kind() Kind { return r.Of }
func (r QROrderResponse) Kind() Kind { return r.Of }

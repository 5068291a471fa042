package iso

// Dialect is how one acquirer host spells ISO 8583. It is the only place in
// posswitch that knows a host's layout: packages above iso ask it questions
// ("build a void", "what undoes this message", "what closes a batch") and
// never branch on its name.
//
// A Dialect is immutable after construction and safe for concurrent use.
type Dialect interface {
	// Name is "CUP" or "ISO87" for the shipped dialects.
	Name() string

	// Framing is the TCP frame layout; Frame wraps a request body in it
	// with the configured TPDU and header, ReplyFrame wraps a reply body
	// the way a host answers that request (TPDU swapped).
	Framing() Framing
	Frame(body []byte) Frame
	ReplyFrame(req Frame, body []byte) Frame

	// SignOnRequested reports whether a reply's frame asks the terminal to
	// sign on again (CUP: processing requirement 3 in the header).
	SignOnRequested(reply Frame) bool

	// Encode packs a message. A message that carries a MAC field (64, or
	// 128 when a secondary bitmap is present) is signed with mac over the
	// dialect's MAC block; without a mac that is ErrNoMACKey. Decode
	// unpacks a body; every failure matches ErrMalformed.
	Encode(m *Message, mac MAC) ([]byte, error)
	Decode(body []byte) (*Message, error)
	// NewMAC binds the dialect's MAC algorithm to a working MAK: CUP's
	// ECB MAC under the single-length (8-byte) MAK of every CUP key scheme,
	// refusing any other length with ErrKeyLength; ISO87's X9.19 under a
	// 16-byte MAK (X9.9 under 8).
	NewMAC(mak []byte) (MAC, error)

	// BuildRequest validates a typed request and spells it; invalid input
	// is a *FieldError and nothing is built. ParseRequest is the host's
	// inverse.
	BuildRequest(env Envelope, r Request) (*Message, error)
	ParseRequest(m *Message) (Envelope, Request, error)
	// BuildResponse spells a host's reply to req; ParseResponse is the
	// terminal's inverse. ParseResponse trusts nothing: run CheckReply first.
	BuildResponse(req *Message, r Response) (*Message, error)
	ParseResponse(req, reply *Message) (Response, error)

	// Recovery says what a request of this kind needs when its outcome is
	// unknown. Reversal builds the attempt-th (from 0) message of the
	// reversal ladder of a RecoveryReverse request; Repeat builds the
	// attempt-th retransmission of a RecoveryRepeat one.
	Recovery(req *Message) (Recovery, error)
	Reversal(orig *Message, reason ReversalReason, attempt int) (*Message, error)
	Repeat(orig *Message, attempt int) (*Message, error)
	// ReversalDone reports whether a reversal reply's code ends the
	// reversal (approved, or nothing to reverse).
	ReversalDone(code ResponseCode) bool

	// BatchLimit is how many transactions one batch may hold and still be
	// settled (CUP: 999, the width of F48's counts); 0 means no limit. A
	// terminal settles before it goes past it.
	BatchLimit() int
	// Totals adds a batch up the way this host settles it.
	Totals(entries []BatchEntry) Totals
	// UploadBatchSize is how many entries one batch-upload message carries.
	UploadBatchSize() int
	// CloseAfterUpload is the request that ends a batch upload: CUP's
	// upload-end 0320, ISO87's second settlement 0500 960000.
	CloseAfterUpload(totals Totals, currency Currency, uploaded int, balanced bool) Request
}

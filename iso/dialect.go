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

	// Requirement is what a reply's frame asks the terminal to do next:
	// CUP's processing requirement in the header (RequireSignOn: sign on
	// again; others: downloads and uploads). ISO87: always RequireNone.
	Requirement(reply Frame) HostRequirement

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
	// RecoveryOutcome says what a reply's code means for a record that
	// recovers by r: a reversal ends (OutcomeReversed) or is sent again
	// (OutcomeRetry); a repeat is approved, declined, sent again (a code
	// saying the host did not act on it), or a duplicate the terminal must
	// match with CheckDuplicate before it counts as approved.
	RecoveryOutcome(r Recovery, code ResponseCode) RecoveryOutcome
	// Rules are the host's rules a terminal checks before it sends: the
	// void window, whether the journal must keep PANs, recovery limits.
	Rules() Rules

	// BatchLimit is how many transactions one batch may hold and still be
	// settled (CUP: 999, the width of F48's counts); 0 means no limit. A
	// terminal settles before it goes past it.
	BatchLimit() int
	// Totals adds a batch up the way this host settles it.
	Totals(entries []BatchEntry) Totals
	// PlanUpload answers "what do I upload for this verdict, in what
	// messages, and what closes the batch". v is the host's settlement
	// reply; pending are the batch's entries not yet acknowledged in an
	// upload (in journal order) and uploaded how many were before (a
	// resumed upload). The plan is a function of its arguments only, so an
	// upload interrupted anywhere and planned again from what is still
	// pending sends exactly the messages that were not acknowledged.
	// CUP uploads only the card classes the host found not balanced,
	// magstripe-style sales and voids packed eight a 0320, refunds one a
	// 0320, and always ends with the upload-end 0320 (202, or 207 when both
	// classes balanced); ISO87 uploads every entry one a 0320 when out of
	// balance and closes with 0500 960000, and a balanced verdict closes
	// the batch with nothing more.
	PlanUpload(v SettlementResponse, pending []BatchEntry, uploaded int, totals Totals, currency Currency) (UploadPlan, error)
}

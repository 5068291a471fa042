package iso

// ResponseCode is F39 of a reply, two characters.
type ResponseCode string

// Response codes posswitch acts on by name: ISO 8583:1987 meanings, CUP's
// where CUP differs (the terminal texts of CaoEnXin/LiaoYang_POS
// Src/globalvar.c sRetErrInfo).
const (
	CodeApproved          ResponseCode = "00"
	CodePartialApproval   ResponseCode = "10"
	CodeDoNotHonour       ResponseCode = "05"
	CodeInvalidTxn        ResponseCode = "12"
	CodeInvalidAmount     ResponseCode = "13"
	CodeCustomerCancel    ResponseCode = "17"
	CodeOutsideWindow     ResponseCode = "22"
	CodeOriginalNotFound  ResponseCode = "25"
	CodeFormatError       ResponseCode = "30"
	CodeInsufficientFunds ResponseCode = "51"
	CodeExpiredCard       ResponseCode = "54"
	CodeAmountMismatch    ResponseCode = "64"
	CodeLateResponse      ResponseCode = "68"
	CodeDuplicate         ResponseCode = "94"
	CodeReconcileError    ResponseCode = "95"
	CodeSystemMalfunction ResponseCode = "96"
	CodeIssuerTimeout     ResponseCode = "98"
	CodeMACError          ResponseCode = "A0"
)

// Action is what a terminal should do with a reply, the CUP action classes
// (as quoted in https://sxfpos.com/408734): A approve, B retry, C decline,
// D operator, E system fault, with the codes that demand a new sign-on
// split out of E.
type Action int

const (
	ActionDecline  Action = iota // C: failed, do not retry (also unknown codes)
	ActionApprove                // A: approved
	ActionRetry                  // B: failed, may succeed if tried again later
	ActionOperator               // D: the operator or customer must do something (re-enter PIN)
	ActionSystem                 // E: terminal or host configuration fault; retrying will not help
	ActionResignOn               // E: keys or batch out of step; sign on again
)

func (a Action) String() string {
	return [...]string{"decline", "approve", "retry", "operator", "system", "re-sign-on"}[a]
}

type codeInfo struct {
	meaning string
	action  Action
}

var codeTable = map[ResponseCode]codeInfo{
	"00": {"approved", ActionApprove},
	"01": {"refer to card issuer", ActionDecline},
	"03": {"invalid merchant", ActionSystem},
	"04": {"pick up card", ActionDecline},
	"05": {"do not honour", ActionDecline},
	"06": {"error", ActionDecline},
	"10": {"partial approval", ActionApprove},
	"12": {"invalid transaction", ActionDecline},
	"13": {"invalid amount", ActionDecline},
	"14": {"invalid card number", ActionDecline},
	"17": {"customer cancellation", ActionDecline},
	"22": {"suspected malfunction or outside the allowed days", ActionDecline},
	"25": {"unable to locate original", ActionDecline},
	"30": {"format error", ActionRetry},
	"51": {"insufficient funds", ActionDecline},
	"54": {"expired card", ActionDecline},
	"55": {"incorrect PIN", ActionOperator},
	"61": {"exceeds amount limit", ActionDecline},
	// ISO 8583:1987 63 security violation; posswitch's ISO87 hosts answer
	// it to a missing or bad MAC and to a terminal without working keys.
	"63": {"security violation, sign on again", ActionResignOn},
	"64": {"original amount incorrect", ActionDecline},
	"65": {"exceeds frequency limit", ActionDecline},
	"68": {"response received too late", ActionRetry},
	"75": {"PIN tries exceeded", ActionDecline},
	"77": {"batch number mismatch, sign on again", ActionResignOn},
	"90": {"cut-off in progress", ActionRetry},
	"91": {"issuer or switch inoperative", ActionRetry},
	"94": {"duplicate transmission", ActionDecline},
	"95": {"reconcile error", ActionDecline},
	"96": {"system malfunction", ActionRetry},
	"97": {"terminal not registered", ActionSystem},
	"98": {"issuer timeout", ActionRetry},
	"99": {"PIN format error, sign on again", ActionResignOn},
	"A0": {"MAC error, sign on again", ActionResignOn},
	"A2": {"approved, confirm with issuer", ActionApprove},
	"A4": {"approved, confirm with issuer", ActionApprove},
	"A5": {"approved, confirm with issuer", ActionApprove},
	"A6": {"approved, confirm with issuer", ActionApprove},
}

// Meaning is a short English description; unknown codes read "declined".
func (c ResponseCode) Meaning() string {
	if info, ok := codeTable[c]; ok {
		return info.meaning
	}
	return "declined (unknown code)"
}

// Action says what the terminal should do; unknown codes decline.
func (c ResponseCode) Action() Action {
	if info, ok := codeTable[c]; ok {
		return info.action
	}
	return ActionDecline
}

// Approved reports whether the host approved (action class A).
func (c ResponseCode) Approved() bool { return c.Action() == ActionApprove }

func (c ResponseCode) String() string { return string(c) + " " + c.Meaning() }

// ReversalReason is why a terminal reverses. Each dialect spells it in F39 of
// the reversal: CUP as CaoEnXin/LiaoYang_POS Src/trancomm.c
// UpdateReversalFile and ReverseTranProc do (98, A0, 06), ISO87 with the
// ISO 8583:1987 response codes of the same meaning.
type ReversalReason int

const (
	ReasonTimeout        ReversalReason = iota + 1 // no reply within the deadline
	ReasonBadReply                                 // reply unreadable or failed the checks
	ReasonBadMAC                                   // reply's MAC did not verify
	ReasonCannotComplete                           // host approved, terminal could not finish
	ReasonLateReply                                // a reply came after the reversal was decided
	ReasonCustomerCancel                           // the customer cancelled while the outcome was unknown
	// ReasonRefused: the host answered an earlier reversal of this
	// transaction with a code that does not end it. CUP terminals then
	// rewrite F39 to 06 before the next try (CaoEnXin/LiaoYang_POS
	// Src/trancomm.c ReverseTranProc).
	ReasonRefused
	// ReasonConnectionLost: the connection failed while the request was
	// out, a reply cut off in the middle of its frame included. On the
	// wire it is a reply that never came: F39 says what ReasonTimeout
	// says (Wire).
	ReasonConnectionLost
	// ReasonCancelled: the caller gave up waiting (its context was
	// cancelled) after the request went out. F39 says what ReasonTimeout
	// says (Wire).
	ReasonCancelled
)

// Wire is the reason a reversal's F39 spells r as. A lost connection and
// a cancelled wait are, to the host, a reply that never came: both are
// sent as ReasonTimeout (CUP 98, ISO87 68); every other reason is itself.
// The journal keeps r, so its record and exports say what happened.
func (r ReversalReason) Wire() ReversalReason {
	if r == ReasonConnectionLost || r == ReasonCancelled {
		return ReasonTimeout
	}
	return r
}

func (r ReversalReason) String() string {
	switch r {
	case ReasonTimeout:
		return "timeout"
	case ReasonBadReply:
		return "bad reply"
	case ReasonBadMAC:
		return "bad MAC"
	case ReasonCannotComplete:
		return "cannot complete"
	case ReasonLateReply:
		return "late reply"
	case ReasonCustomerCancel:
		return "customer cancellation"
	case ReasonRefused:
		return "refused before"
	case ReasonConnectionLost:
		return "connection lost"
	case ReasonCancelled:
		return "cancelled"
	}
	return "unknown"
}

// Package isoswitch is the API a terminal application embeds to talk to its
// acquirer host, and the host side simulators run. It wires a connection, a
// dialect (package iso) and a journal with its recovery engine (package
// reversal) into typed calls.
//
// The folder is named switch; the package is isoswitch, since switch is a
// Go keyword (as protobuf's struct folder holds package structpb).
//
// # A transaction
//
// Every financial call (Sale, PaymentCodeSale, BalanceInquiry, Void,
// Refund) runs the same lifecycle: the request is built and validated and
// the journal records it prepared, its reversal armed, before a byte is
// sent; older pending reversals go first (the call fails with
// reversal.ErrRecoveryPending while one cannot clear); the reply is
// checked (iso.CheckReply: MTI, echoed fields, MAC); then the journal
// records approved or declined, or — no reply, a bad reply, a bad MAC, a
// lost connection — recovery-pending, and the engine sends the reversal at
// once. The error says which: *DeclinedError, *OutcomeUnknownError,
// *NotAllowedError, *AuthError, iso.ErrInvalidInput (an expired keyed card
// is *iso.ExpiredCardError), ErrUnreachable.
//
// An unknown outcome names the transaction: the call's Result carries its
// record id, trace and batch, and so does the *OutcomeUnknownError, whose
// message is one sentence ("outcome of trace 000012 unknown: no reply in
// 30s; reversal queued"). Its Reason, the journal record's reason and the
// exports' reason column say what happened: a timeout (ErrTimeout), the
// caller's cancellation (ErrCancelled, also context.Canceled), a lost
// connection or a reply cut mid-frame (ErrConnectionLost), an unreadable
// reply (ErrUnreadableReply) or one that failed its checks
// (iso.ErrBadReply), a bad MAC (iso.ErrMACMismatch). Settlement, which is
// never reversed, returns the same sentinels.
//
// Void refuses what cannot be voided and says what to do instead; where
// the host voids only a sale of the same day and batch (CUP) it refuses
// another day's with a *VoidWindowError before sending. A void without the
// card carries the sale's PAN and expiry from the journal, keyed, so a CUP
// terminal needs a journal with a data key (New fails with
// ErrDataKeyRequired). Refund takes settled sales, or open-batch sales the
// host no longer voids, never more than is left; Cancel decides between
// reversal, void, refund, closing a QR order or nothing, and says why.
// Settle is resumable at every step and advances the batch number only
// when the host has accepted the close. Before the totals go it resolves
// every QR order of the batch still waiting (query, then close; a payment
// found is booked into the batch), and refuses with a *QROrderPendingError
// naming the order when the host does not confirm the close, nothing sent;
// an order still waiting when a batch closes ends with it on both sides.
//
// # Recoveries end
//
// A reversal ends on 00 or on a code that leaves nothing to undo (12, 25);
// a repeated refund or ISO87 host-to-host void is approved on 00 or on a 94 that echoes
// its terminal, STAN and amount, sent again on a code that says the host
// did not act on it (the retry and re-sign-on classes: 30, 96, A0, 63...),
// and declined on any other code. No record
// is resent forever: after the dialect's sends (CUP 4 in the first drain,
// the reference terminal's resend count 3; ISO87 12) a recovery ends
// reversal.StateUnconfirmed, and the next call that drains (a financial
// call, Drain, Start) returns a *reversal.UnconfirmedError naming its
// trace, once; a financial call that reports it sends nothing, and the
// call after goes. Settle goes on past them and lists the batch's in
// SettleResult.Unconfirmed. A supervisor may end a pending recovery sooner
// with Override (reversal.StateGivenUp), giving a note.
//
// # The host side
//
// Server is the acquirer side (switchtest's simulator runs on it). It
// refuses on its own what a real host refuses, before its Handler sees a
// request: a body that does not decode, an unknown message or a missing
// mandatory field gets 30 (a body whose MTI, F11 and F41 cannot be read
// closes the connection); a terminal Terminals does not know gets CUP 97 /
// ISO87 03; a terminal without working keys, and a financial request
// without a valid MAC, get CUP A0 / ISO87 63. The rules are the dialect's
// (iso.HostRules), taken from published terminal specifications; Stats
// counts the refusals and Permissive turns the request checks off.
//
// # Connections
//
// A connection runs on moov-io/iso8583-connection with posswitch's framing
// as its message reader, and matches replies itself on MTI class + STAN +
// terminal ID. It never calls the connection's Send, whose v0.9.0
// implementation deadlocks when a send's deadline or its reply races a
// connection failure; a caller's deadline is a select on its context, and
// closing a connection ends every pending request at once.
// TestNoDeadlockWhenDeadlineRacesFailure races deadlines, replies and
// failures 3,000 times on 127.0.0.1 and fails on any hang or goroutine
// left behind.
//
// A CUP host can put a processing requirement in a reply's header
// (iso.HostRequirement). The terminal acts on RequireSignOn itself: it
// signs on again before its next request. The others (parameter, CA key,
// IC parameter, blacklist or TMS download, status upload) go to the
// application through WithHostNotices; none of them changes the outcome of
// the transaction whose reply carried it. A Server handler sets one with
// Call.Requirement.
//
// # Operators
//
// A POS terminal is shared by several people, and the actions that
// move money back or close the day (void, refund, cancel, settle, and giving
// up a stuck reversal) must be limited to the people allowed to take them and
// traceable to whoever took them. Following CUP practice, a terminal has
// cashiers (codes such as "01", up to 100 of them), one supervisor (code "00")
// whose password is demanded for voids, refunds and operator administration,
// and a system administrator ("99") who looks after parameters. Each operator
// has a Role, and the role decides which Actions it may take (Role.Allows).
// Before such an action the application gives the Credentials typed at the
// terminal to an Authoriser; on success the Authoriser returns the operator
// code, which goes on the journal record so every transaction names who
// started it. Operators is the built-in Authoriser: it keeps only bcrypt
// hashes, locks an operator out for a while after repeated wrong passwords,
// and can be saved and restored as JSON by the application. Passwords never
// appear in errors, logs or formatted output.
//
// One limit no Go type can close: fmt prints a Credentials held in an
// unexported struct field by reflection, password included, as it would
// any string; keep credentials in exported fields or pass them along.
package isoswitch

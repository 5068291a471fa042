// Package iso is posswitch's wire model: what an ISO 8583 POS message means
// and how each host spells it. It does no I/O beyond io.Reader and io.Writer,
// keeps no state and knows nothing of sockets or disks.
//
// # The flow of a sale through this package
//
//	SaleRequest{Amount, Card}                        typed, validated input
//	  └─ Dialect.BuildRequest(Envelope, req)          → *Message (wire text, MAC placeholder)
//	       └─ Dialect.Encode(msg, mac)                → body bytes, MAC computed over the MAC block
//	            └─ Framing.WriteFrame(w, d.Frame(body))   length prefix, TPDU, header
//	  host …
//	  Framing.ReadFrame(r) → Dialect.Decode(body)     → *Message
//	    └─ CheckReply(req, reply, mac)                MTI, F3/F11/F41 echoed, F42, F4, MAC on approvals
//	         └─ Dialect.ParseResponse(req, reply)     → FinancialResponse{Reply{Code, RRN, AuthCode}}
//
// A host runs the mirror image: ParseRequest, BuildResponse, Encode. Before
// it acts on a request it applies the dialect's HostRules (the mandatory
// fields of the published specification, which kinds must carry a MAC or a
// prior sign-on, and the codes a refusal is answered with); Salvage reads
// the MTI and leading fields of a body Decode refused, so a format error
// can still be answered.
// Packages above iso (the journal, the terminal and host sessions) only ever
// ask the Dialect; none of them branches on a dialect's name.
//
// # Invariants this package keeps
//
//   - Bad input never reaches the wire: BuildRequest validates first and
//     returns a *FieldError (errors.Is ErrInvalidInput) naming the field,
//     never its value, and no message. Amounts are int64 minor units in a
//     known ISO 4217 currency and must fit n12; PANs must pass the Luhn check.
//     Nothing is silently truncated: a total wider than its field is refused.
//   - Card data prints masked everywhere: PAN and payment codes as first 6 /
//     last 4, expiry, tracks, PIN blocks and keys starred, through String,
//     every fmt verb, slog and text/JSON marshalling; Message.Dump applies the
//     dialect's own redaction (CUP upload records carry PANs in F48).
//   - A decoded message is exactly its bytes: trailing bytes are malformed,
//     every decode failure is a *MalformedError (errors.Is ErrMalformed)
//     naming the field and not its content, and no input panics (fuzzed).
//     The pad nibble of an odd-length BCD field (CUP) must be 0; any other
//     is a *MalformedError naming the field ("pad nibble 3, want 0").
//   - A reversal carries no track data, PIN block or PIN control data, and
//     of the ICC data only tags 95, 9F1E, 9F10, 9F36 and DF31.
//
// # Dialects
//
// A Dialect is how one host spells ISO 8583. Two are shipped, each in its own
// package built only on this package's exported API: iso/cup (cup.New) and
// iso/iso87 (iso87.New); their package docs hold the field maps. A third is
// written the same way: embed a Base, Init it with a BaseConfig (message
// spec, framing, MAC, key blocks), and spell the messages with the helpers
// here. WithFraming, WithTPDU, WithClock, WithQROrderMapping,
// WithReversalDoneCodes and WithVariant configure any dialect; each dialect
// package has its own options (cup.WithHeader, iso87.WithProfile...), which
// refuse another dialect with a *FieldError.
//
// # Private-use mappings
//
// No public specification spells the merchant-presented QR order (the
// terminal shows a code, the customer's wallet pays it), and hosts differ.
// Both dialects default to MTI 0100 (no funds move at creation) with
// processing codes from the 90–99 range ISO 8583:1987 leaves to private use
// — create 910000, query 920000, close 930000 — and carry the order in the
// dialect's private field (CUP F59, ISO87 F48) as posswitch's TLV: a
// two-character tag, a three-digit length, the value.
//
//	A3  payment code scanned from the customer (the tag CUP's QR variant uses)
//	Q1  order reference (host's)          Q2  payload to show as a QR code
//	Q3  validity in seconds (request)     Q4  expiry, YYYYMMDDhhmmss UTC
//	Q5  status: W waiting, P paid, C closed, E expired
//	K1  ISO87 sign-on key scheme (001, 003, 004 as CUP's 60.3)
//
// A host with its own spelling is served by WithQROrderMapping (MTI,
// processing codes, field). A paid order's reply carries the payment's RRN
// and auth code like any approval, and is MACed.
//
// # Acquirer variants
//
// An acquirer whose host speaks CUP or ISO87 with its own differences is
// served without a fork: describe the differences as a Variant and pass it
// to the dialect's constructor with WithVariant. A Variant replaces field
// formats in the message spec (moov-io field specs by field number), adds
// or removes fields on the requests of given kinds (FieldRule; the MAC
// covers them, a reversal carries its original's), replaces the codes a
// host refuses with, and the QR order mapping. The dialect's header and
// framing have their own options (cup.WithHeader, WithTPDU, WithFraming).
// The same dialect value run as a simulator (switchtest) decodes with the
// variant's spec and requires the fields its rules add, so a terminal and
// a host built from one value agree. examples/variant builds one from
// outside this package and runs a sale and a settlement against it.
//
// # Sources
//
// Each layout, code and rule is cited where it is coded, by public repository
// and path or by standard: public CUP terminal applications
// (CaoEnXin/LiaoYang_POS, alon0808/ProjectAfcApp, wuxinxi/unionpay,
// chfenix/iso8583) for the CUP dialect; resza/MAB and jpos/jPOS's
// ISO87APackager for ISO87; ISO 8583:1987 field formats (as in
// knovichikhin/pyiso8583 and moov-io/iso8583's specs); ANSI X9.19 and ISO/IEC
// 9797-1 for MACs; ISO 9564-1 for the PIN block.
package iso

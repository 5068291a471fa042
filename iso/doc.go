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
// Two are shipped; WithFraming, WithTPDU, WithClock, WithQROrderMapping and
// WithReversalDoneCodes configure both, WithCUPHeader, WithCurrency,
// WithVoidReversalF61 and WithQRVoidEntryMode the CUP one, WithISO87Profile,
// WithNII, WithPINEntryCapability, WithBinaryBitmap and WithAdviceAfter the
// ISO87 one. The CUP options WithVoidReversalF61 and WithQRVoidEntryMode
// settle points where the public CUP terminal sources disagree; each one's
// doc says which default was picked, why, and from which source.
//
// CUP follows the China UnionPay POS-terminal specification as public
// terminal code implements it (CaoEnXin/LiaoYang_POS Src/pack8583.c,
// Src/tranproc.c, Src/trancomm.c; alon0808/ProjectAfcApp
// code/AfcCore/UnionPay/qpboc_8583.c): 2-byte binary length, 5-byte TPDU
// (default 60 0000 0000), 6-byte header 60 31 00 00 00 00, MTI as 2 BCD
// bytes, one 8-byte binary bitmap, n fields as BCD, LL/LLL lengths as BCD
// numbers, text as ASCII, MAC = CUP "ECB" MAC in F64 over the message from
// the MTI up to F64. An odd digit count is padded with one 0 nibble: first
// in fixed-length n fields (right-aligned), last in variable-length n
// fields F2, F32, F48, F60, F61 (left-aligned: LiaoYang_POS iPackElement
// packs n..LLVAR and n...LLLVAR from the first digit; ProjectAfcApp
// Build_qpboc_8583_60_login sends 60.3 003 as 00 30), in F22 (left-aligned,
// LiaoYang_POS UpdateEntryModeByPIN) and in tracks F35/F36. So a sale's F60
// 22 000001 000 is 00 11 22 00 00 01 00 00 on the wire.
// WithCUPHeader sets the header (CUPHeader: application type, version,
// terminal status, sub-version; LiaoYang_POS Src/trancomm.c MakeReqPacket
// sends 60 31 00 + its BCD version). A reply header's processing
// requirement nibble is read by Dialect.Requirement (HostRequirement: 3 sign
// on again, 1/2/4–7 downloads and uploads) and set by a host with
// SetHostRequirement.
//
//	sale                 0200 000000, F60.1 22; card in F2/F14/F22/F23/F35, PIN in F26/F52,
//	                     F53 with a PIN or a track (53.1 2 with a PIN, 53.2 6 for double-length
//	                     keys, 53.3 1 for TDK-enciphered tracks)
//	payment-code sale    0200 000000, F22 032, code in F59 tag A3
//	balance inquiry      0200 310000, F60.1 01
//	void                 0200 200000, F60.1 23, F37/F38 and F61 (batch + trace) of the original;
//	                     without the card F2/F14 of the sale, keyed (F22 012); a payment-code or
//	                     QR void has no PAN: F22 032 (WithQRVoidEntryMode); same day and batch only
//	refund               0220 200000, F60.1 25, F37 and F61 (batch + trace + MMDD), F63 the sale's
//	                     card organisation ("000" when unknown)
//	reversal             0400 copied from the request minus F26/F35/F36/F37/F52/F53, F39 reason
//	                     (98 timeout, lost connection or cancelled wait, 06 bad reply / cannot
//	                     complete / after a refusal, A0 bad MAC); ends on 00, 12, 25; 4 sends, then
//	                     the record ends unconfirmed; a void's keeps its F61 (the sale's) unless
//	                     WithVoidReversalF61 says so
//	refund repeat        the same 0220 resent (an advice, not reversed): 00 approves, 94 approves
//	                     if it echoes the same terminal, STAN and amount, any other code declines
//	financial replies    F63.1 = card organisation ("CUP", "VIS", "MCC"...): "CUP" cards settle in the
//	                     domestic class, the others in the foreign class
//	settlement           0500, F48 = 62 digits of totals (domestic, foreign), F60.3 201, F63 operator;
//	                     totals are gross: a voided sale stays a debit, its void is a credit, refunds
//	                     are credits (CaoEnXin/LiaoYang_POS Src/posfiles.c ComputeTransTotal);
//	                     the reply's F48 result digits say balanced (1), not (2), error (3) per class
//	batch upload         only the classes not balanced: sales and voids packed, 0320, F48 = count +
//	                     up to 8 records (org, trace, PAN n20, amount), F60.3 201, no F49 (amounts in the
//	                     dialect's currency, WithCurrency); a refund alone,
//	                     0320 200000, F60.1 25, F60.3 000, its F2/F4/F11, F37/F61 of its sale, F63
//	batch upload end     always: 0320, F48 = records uploaded n4, F60.3 202, or 207 when both
//	                     classes balanced (CaoEnXin/LiaoYang_POS Src/tranproc.c PosBatchUp)
//	sign-on              0800, F60.3 001/003/004, F63 operator; reply F62 = keys + check values:
//	                     001 PIK 8 + CV 4 + MAK 8 + CV 4; 003 PIK 16 + CV 4 + MAK 8 + 8 x 00 + CV 4;
//	                     004 the 003 block + TDK 16 + CV 4
//	sign-off, echo       0820, F60.3 002 / 301; the echo carries no F11 (LiaoYang_POS
//	                     SetCommReqField), its reply pairs on MTI class and terminal ID
//
// CUP working keys are as the CUP specification has them (quoted in
// chfenix/iso8583 src/main/java/cn/agiledata/iso8583/entity/SignResponse.java;
// CaoEnXin/LiaoYang_POS Src/pospin.c LogonDivKey): the MAK is single-length in
// every scheme, its check value single DES, and the MAC is single DES under it
// (NewMAC refuses other lengths); PIK and TDK are double-length 3DES under 003
// and 004. SignOnKeyLengths gives the lengths per dialect and scheme. Under 004
// a terminal sets Envelope.Tracks and F35 goes out with the 8 packed bytes
// before its last byte enciphered under the TDK (CaoEnXin/LiaoYang_POS
// Src/tranproc.c EncrypteFieldTrac23); a host deciphers it with DecryptTracks
// before ParseRequest, which refuses enciphered tracks.
//
// ISO87 is generic ISO 8583:1987 in ASCII (field formats as jpos/jPOS
// jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java declares
// them): 2-byte binary length and no TPDU by default, MTI and fields in
// ASCII, the bitmap as 16 hex characters with a secondary bitmap only when a
// field above 64 is set, b fields as hex text, MAC = ANSI X9.19 in F64, or
// F128 when the secondary bitmap is present. F22's third digit is the
// terminal's PIN entry capability (1, or 2 after
// WithPINEntryCapability(false)), not whether a PIN came with the card; F54
// is read as up to six 20-character amounts, the available one (type 02)
// taken. Reversals keep the STAN and carry a fresh F7 (transmission time).
//
// It speaks two conventions, chosen with WithISO87Profile. ProfileTerminal,
// the default, is how Hypercom/TSYS-style terminals talk to their host
// (resza/MAB source/global.c glTranConfig and source/tranproc.c
// SetCommReqField, PackInvoice, TransVoid, TranReversal, TransSettleSubNew,
// TransUpLoad; MohamedHassanNasr/EDC-ANDROID-SUNMI .../utils/TransConstant.java
// and .../transaction/sale/PackTrans.java):
//
//	sale                 0200 000000, F7 (UTC), F12/F13 (local), F24 NII, F25 00, F60 batch, F62 invoice
//	payment-code sale    0200 000000, F22 03x, code in F48 tag A3
//	balance inquiry      0200 310000, F24
//	void                 0200 020000, the original's amount, F12/F13, F37, F38 and invoice (F62),
//	                     F2/F14 from the journal when it holds the PAN (F22 01x); reversible
//	refund               0200 200000, F37 of the original
//	reversal             a copy of the request (sale, refund or void) as 0400, repeats 0401, after
//	                     WithAdviceAfter attempts (default 3) the advice 0420, repeats 0421; F39 reason
//	                     (68 timeout, 06 bad reply or MAC, 22 cannot complete, 17 customer
//	                     cancellation, 06 after a refusal), no F90, track PAN moved to F2/F14;
//	                     4 sends a drain, 12 in all (Rules().Recovery)
//	settlement           0500 920000, F60 batch, F63 LLL 90: sales count n3 + amount n12, refunds
//	                     count n3 + amount n12, 60 zeros (a voided sale and its void left out);
//	                     reply F39 00 or 95; at most 999 a batch (BatchLimit)
//	batch upload         0320 per sale or refund (no void, no voided sale), proc code with last
//	                     digit 1, F22, F25, F37, F38, F39 00, F62, F60 = MTI + STAN + 12 spaces:
//	                     no batch number travels, a host files it in the batch being settled
//	settlement after upload  0500 960000
//
// F24 is WithNII's, else the last three digits of the TPDU's destination
// address (WithTPDU), else 000. F62 is Envelope.Invoice, the STAN when zero.
//
// ProfileHostToHost is the acquirer-to-network convention:
//
//	void                 0400 000000, F39 17 customer cancellation (F25 stays 00: ISO 8583:1987
//	                     F25 17 means returned item), F37/F38 and F90 of the original; it is itself
//	                     a reversal, so an unknown outcome is repeated as 0401 (fresh F7), not
//	                     reversed; the repeat's reply is read as a refund repeat's is
//	reversal             as above with F90 = original MTI + STAN + F7 + 22 zeros (F128 MAC)
//	settlement           0500 920000, totals in F74–F77, F86–F89, F97 (a void is a debit reversal)
//	batch upload         0320 per entry, voids included, F60 = MTI + STAN + RRN
//
// and no F24 or F62. Both profiles sign on with 0800 F70 001 (key scheme in
// F48 tag K1; reply F125 = keys + check values) and sign off / echo with
// 0800 F70 002 / 301, the host-to-host network codes; terminal hosts that
// log on with 0800 920000 (MAB) need their own mapping.
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
// framing have their own options (WithCUPHeader, WithTPDU, WithFraming).
// The same dialect value run as a simulator (switchtest) decodes with the
// variant's spec and requires the fields its rules add, so a terminal and
// a host built from one value agree. examples/variant builds one from
// outside this package and runs a sale and a settlement against it.
//
// # Sources
//
// The message layouts, codes and rules are summarised, with their public
// sources, in the project's domain notes: the CUP terminal field usage
// (public CUP terminal applications), ISO 8583:1987 field formats (as in
// pyiso8583 and moov-io's spec), ANSI X9.19 and ISO/IEC 9797-1 for MACs, ISO
// 9564-1 for the PIN block, and the ISO 87 response-code tables.
package iso

// Package cup is the CUP dialect of package iso (cup.New). Its options are
// WithHeader, WithCurrency, WithVoidReversalF61 and WithQRVoidEntryMode, on
// top of iso's (iso.WithTPDU, iso.WithClock, iso.WithVariant...). The
// options WithVoidReversalF61 and WithQRVoidEntryMode settle points where the
// public CUP terminal sources disagree; each one's doc says which default
// was picked, why, and from which source.
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
// WithHeader sets the header (Header: application type, version,
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
package cup

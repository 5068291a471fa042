// Package iso87 is the ISO87 dialect of package iso (iso87.New). Its options
// are WithProfile, WithNII, WithPINEntryCapability, WithBinaryBitmap and
// WithAdviceAfter, on top of iso's (iso.WithFraming, iso.WithClock,
// iso.WithVariant...).
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
// It speaks two conventions, chosen with WithProfile. ProfileTerminal,
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
package iso87

package iso87

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// iso87Spec builds the generic ISO 8583:1987 ASCII layout: every field as
// ASCII text with ASCII LL/LLL lengths (formats as in ISO 8583:1987, as
// jpos/jPOS jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java
// declares them), a secondary bitmap only when a field above 64 is set.
//
// binaryBitmap chooses how the bitmap and the b fields (52, 55, 64, 128)
// travel. false (the default): the bitmap as 16 hex characters and b fields
// as hex text, so the whole message is printable. true: both as raw bytes.
// In hex-text mode the wire text of a b field is its hex, which is also how
// the wire model holds binary values, so no conversion happens.
func iso87Spec(binaryBitmap bool) *iso8583.MessageSpec {
	bitmap := field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed})
	b := func(desc string, n int) field.Field { return str(desc, 2*n, encoding.ASCII, prefix.ASCII.Fixed) }
	bLLL := func(desc string, n int) field.Field { return str(desc, 2*n, encoding.ASCII, prefix.ASCII.LLL) }
	if binaryBitmap {
		bitmap = field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary, Pref: prefix.Binary.Fixed})
		b = func(desc string, n int) field.Field { return bin(desc, n, prefix.Binary.Fixed) }
		bLLL = func(desc string, n int) field.Field { return bin(desc, n, prefix.ASCII.LLL) }
	}
	n := func(desc string, length int) field.Field {
		return str(desc, length, encoding.ASCII, prefix.ASCII.Fixed)
	}
	nLL := func(desc string, length int) field.Field { return str(desc, length, encoding.ASCII, prefix.ASCII.LL) }
	anLLL := func(desc string, length int) field.Field { return str(desc, length, encoding.ASCII, prefix.ASCII.LLL) }
	return &iso8583.MessageSpec{
		Name: "ISO 8583:1987 ASCII",
		Fields: map[int]field.Field{
			0:   n("Message Type Indicator", 4),
			1:   bitmap,
			2:   nLL("Primary Account Number", 19),
			3:   n("Processing Code", 6),
			4:   n("Amount, Transaction", 12),
			7:   n("Transmission Date & Time", 10),
			11:  n("System Trace Audit Number", 6),
			12:  n("Time, Local Transaction", 6),
			13:  n("Date, Local Transaction", 4),
			14:  n("Date, Expiration", 4),
			15:  n("Date, Settlement", 4),
			22:  n("POS Entry Mode", 3),
			23:  n("Card Sequence Number", 3),
			24:  n("Network International ID", 3),
			25:  n("POS Condition Code", 2),
			32:  nLL("Acquiring Institution ID", 11),
			35:  nLL("Track 2 Data", 37),
			37:  n("Retrieval Reference Number", 12),
			38:  n("Authorization ID Response", 6),
			39:  n("Response Code", 2),
			41:  n("Card Acceptor Terminal ID", 8),
			42:  n("Card Acceptor ID Code", 15),
			48:  anLLL("Additional Data - Private", 999),
			49:  n("Currency Code, Transaction", 3),
			52:  b("PIN Data", 8),
			54:  anLLL("Additional Amounts", 120),
			55:  bLLL("ICC Data", 255),
			60:  anLLL("Reserved Private - Batch Number", 999),
			62:  anLLL("Reserved Private - Invoice", 999),
			63:  anLLL("Reserved Private", 999),
			64:  b("Message Authentication Code", 8),
			70:  n("Network Management Information Code", 3),
			74:  n("Credits, Number", 10),
			75:  n("Credits, Reversal Number", 10),
			76:  n("Debits, Number", 10),
			77:  n("Debits, Reversal Number", 10),
			86:  n("Credits, Amount", 16),
			87:  n("Credits, Reversal Amount", 16),
			88:  n("Debits, Amount", 16),
			89:  n("Debits, Reversal Amount", 16),
			90:  n("Original Data Elements", 42),
			97:  n("Amount, Net Settlement", 17),
			125: anLLL("Network Management Information", 999),
			128: b("Message Authentication Code", 8),
		},
	}
}

// str and bin are the field spec constructors of the table above: one line
// per ISO field.
func str(desc string, length int, enc encoding.Encoder, pref prefix.Prefixer) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: enc, Pref: pref})
}

func bin(desc string, length int, pref prefix.Prefixer) field.Field {
	return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
}

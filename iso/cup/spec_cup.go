package cup

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"

	"github.com/posswitch/posswitch/iso"
)

// cupSpec is the CUP POS-terminal message layout, as the public CUP
// terminal CaoEnXin/LiaoYang_POS implements it (Src/st8583.c field table,
// Src/pack8583.c packer): MTI as 2 BCD bytes, one 8-byte binary bitmap and
// never a secondary one, numeric fields as BCD, LL/LLL lengths as BCD
// numbers, text as ASCII, binary as raw bytes. Fixed n fields are
// right-aligned (pad 0 first); variable n fields (2, 32, 48, 60, 61), F22
// and the tracks are left-aligned (pad 0 last). See bcd for the sources.
var cupSpec = &iso8583.MessageSpec{
	Name: "CUP POS terminal",
	Fields: map[int]field.Field{
		0: str("Message Type Indicator", 4, iso.BCDNumber, prefix.BCD.Fixed),
		1: field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.Binary,
			Pref: prefix.Binary.Fixed, DisableAutoExpand: true}),
		2:  str("Primary Account Number", 19, iso.BCDVar, iso.BCDLL),
		3:  str("Processing Code", 6, iso.BCDNumber, prefix.BCD.Fixed),
		4:  str("Amount, Transaction", 12, iso.BCDNumber, prefix.BCD.Fixed),
		11: str("System Trace Audit Number", 6, iso.BCDNumber, prefix.BCD.Fixed),
		12: str("Time, Local Transaction", 6, iso.BCDNumber, prefix.BCD.Fixed),
		13: str("Date, Local Transaction", 4, iso.BCDNumber, prefix.BCD.Fixed),
		14: str("Date, Expiration", 4, iso.BCDNumber, prefix.BCD.Fixed),
		15: str("Date, Settlement", 4, iso.BCDNumber, prefix.BCD.Fixed),
		22: str("POS Entry Mode", 3, iso.BCDLeft, prefix.BCD.Fixed),
		23: str("Card Sequence Number", 3, iso.BCDNumber, prefix.BCD.Fixed),
		25: str("POS Condition Code", 2, iso.BCDNumber, prefix.BCD.Fixed),
		26: str("POS PIN Capture Code", 2, iso.BCDNumber, prefix.BCD.Fixed),
		32: str("Acquiring Institution ID", 11, iso.BCDVar, iso.BCDLL),
		35: str("Track 2 Data", 37, iso.BCDTrack, iso.BCDLL),
		36: str("Track 3 Data", 104, iso.BCDTrack, iso.BCDLLL),
		37: str("Retrieval Reference Number", 12, encoding.ASCII, prefix.ASCII.Fixed),
		38: str("Authorization ID Response", 6, encoding.ASCII, prefix.ASCII.Fixed),
		39: str("Response Code", 2, encoding.ASCII, prefix.ASCII.Fixed),
		41: str("Card Acceptor Terminal ID", 8, encoding.ASCII, prefix.ASCII.Fixed),
		42: str("Card Acceptor ID Code", 15, encoding.ASCII, prefix.ASCII.Fixed),
		44: str("Additional Response Data", 25, encoding.ASCII, iso.BCDLL),
		48: str("Additional Data - Private", 322, iso.BCDVar, iso.BCDLLL),
		49: str("Currency Code, Transaction", 3, encoding.ASCII, prefix.ASCII.Fixed),
		52: bin("PIN Data", 8, prefix.Binary.Fixed),
		53: str("Security Related Control Information", 16, iso.BCDNumber, prefix.BCD.Fixed),
		54: str("Additional Amounts", 20, encoding.ASCII, iso.BCDLLL),
		55: bin("ICC Data", 255, iso.BCDLLL),
		59: str("Private - QR and Terminal Data", 999, encoding.ASCII, iso.BCDLLL),
		60: str("Private - Transaction Type, Batch, Network Code", 17, iso.BCDVar, iso.BCDLLL),
		61: str("Original Message Data", 29, iso.BCDVar, iso.BCDLLL),
		62: bin("Private - Terminal Info / Working Keys", 512, iso.BCDLLL),
		63: str("Private - Operator / Card Organisation", 163, encoding.ASCII, iso.BCDLLL),
		64: bin("Message Authentication Code", 8, prefix.Binary.Fixed),
	},
}

// str and bin are the field spec constructors of the table above: one line
// per ISO field.
func str(desc string, length int, enc encoding.Encoder, pref prefix.Prefixer) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: enc, Pref: pref})
}

func bin(desc string, length int, pref prefix.Prefixer) field.Field {
	return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
}

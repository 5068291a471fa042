package iso

import (
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// Field spec constructors shared by the dialects' MessageSpecs. A dialect's
// spec is data: a table of these, one line per ISO field.

func str(desc string, length int, enc encoding.Encoder, pref prefix.Prefixer) field.Field {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: enc, Pref: pref})
}

func bin(desc string, length int, pref prefix.Prefixer) field.Field {
	return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
}

package iso

import (
	"fmt"

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

// trackBCD packs track data ('z' fields: digits and the 'D' field separator)
// two characters a byte, left-aligned, an odd length padded with a 0 nibble.
// moov's BCD encoder accepts digits only, so the separator needs this.
type trackBCD struct{}

func (trackBCD) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	for i, ch := range src {
		var nib byte
		switch {
		case ch >= '0' && ch <= '9':
			nib = ch - '0'
		case ch == 'D' || ch == '=':
			nib = 0xD
		default:
			return nil, fmt.Errorf("track character at %d is not a digit or separator", i)
		}
		if i%2 == 0 {
			out[i/2] = nib << 4
		} else {
			out[i/2] |= nib
		}
	}
	return out, nil
}

func (trackBCD) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("negative length")
	}
	n := (length + 1) / 2
	if len(src) < n {
		return nil, 0, fmt.Errorf("need %d bytes, have %d", n, len(src))
	}
	out := make([]byte, length)
	for i := range length {
		b := src[i/2]
		nib := b & 0x0F
		if i%2 == 0 {
			nib = b >> 4
		}
		switch {
		case nib <= 9:
			out[i] = '0' + nib
		case nib == 0xD:
			out[i] = 'D'
		default:
			return nil, 0, fmt.Errorf("nibble %X is not a track character", nib)
		}
	}
	return out, n, nil
}

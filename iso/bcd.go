package iso

import (
	"fmt"
	"strings"
)

// bcd packs decimal text two characters a byte for CUP's n and z fields.
// It replaces moov-io's BCD encoder in the CUP spec because that one builds
// its lookup tables on every call, which was 80% of a CUP sale's encoding
// time (BENCHMARKS.md). The wire bytes are the same.
type bcd struct {
	// leftAligned puts an odd length's pad nibble last (CUP F22, track
	// data); otherwise it goes first, as for numbers.
	leftAligned bool
	// track accepts the track field separator ('D', or '=' on input) as
	// nibble D.
	track bool
}

var (
	bcdNumber = bcd{}
	bcdLeft   = bcd{leftAligned: true}
	bcdTrack  = bcd{leftAligned: true, track: true}
)

func (c bcd) Encode(src []byte) ([]byte, error) {
	n := len(src)
	out := make([]byte, (n+1)/2)
	pad := 0
	if n%2 == 1 && !c.leftAligned {
		pad = 1 // the first nibble is the pad
	}
	for i, ch := range src {
		var nib byte
		switch {
		case ch >= '0' && ch <= '9':
			nib = ch - '0'
		case c.track && (ch == 'D' || ch == '='):
			nib = 0xD
		default:
			return nil, fmt.Errorf("character %d is not a digit", i)
		}
		pos := i + pad
		if pos%2 == 0 {
			out[pos/2] = nib << 4
		} else {
			out[pos/2] |= nib
		}
	}
	return out, nil
}

// Decode reads length characters. The pad nibble is not checked (hosts pad
// with 0 or F); the MAC covers the raw bytes either way.
func (c bcd) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("negative length")
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("need %d bytes, have %d", read, len(src))
	}
	pad := 0
	if length%2 == 1 && !c.leftAligned {
		pad = 1
	}
	out := make([]byte, length)
	for i := range out {
		pos := i + pad
		nib := src[pos/2] & 0x0F
		if pos%2 == 0 {
			nib = src[pos/2] >> 4
		}
		switch {
		case nib <= 9:
			out[i] = '0' + nib
		case c.track && nib == 0xD:
			out[i] = 'D'
		default:
			return nil, 0, fmt.Errorf("nibble %X is not a digit", nib)
		}
	}
	return out, read, nil
}

// bcdLength is a variable-length prefix of digits decimal digits, BCD
// packed (CUP LL: one byte, LLL: two bytes).
type bcdLength struct{ digits int }

var (
	bcdLL  = bcdLength{2}
	bcdLLL = bcdLength{3}
)

func (p bcdLength) EncodeLength(maxLen, length int) ([]byte, error) {
	if length > maxLen {
		return nil, fmt.Errorf("length %d above the maximum %d", length, maxLen)
	}
	text := fmt.Sprintf("%0*d", p.digits, length)
	if len(text) > p.digits {
		return nil, fmt.Errorf("length %d does not fit %d digits", length, p.digits)
	}
	return bcdNumber.Encode([]byte(text))
}

func (p bcdLength) DecodeLength(maxLen int, data []byte) (int, int, error) {
	digits, read, err := bcdNumber.Decode(data, p.digits)
	if err != nil {
		return 0, 0, err
	}
	n := 0
	for _, d := range digits {
		n = n*10 + int(d-'0')
	}
	if n > maxLen {
		return 0, 0, fmt.Errorf("length %d above the maximum %d", n, maxLen)
	}
	return n, read, nil
}

func (p bcdLength) Inspect() string { return "BCD." + strings.Repeat("L", p.digits) }

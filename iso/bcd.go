package iso

import (
	"fmt"
	"strings"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/prefix"
)

// bcd packs decimal text two characters a byte for CUP's n and z fields.
// It replaces moov-io's BCD encoder in the CUP spec because that one builds
// its lookup tables on every call, which was 80% of a CUP sale's encoding
// time (BENCHMARKS.md). The wire bytes are the same.
//
// Where an odd digit count's pad nibble goes is the one layout question a
// CUP host is strict about. The public CUP terminal sources agree:
//
//   - fixed-length n fields are right-aligned, the pad nibble 0 first
//     (CaoEnXin/LiaoYang_POS Src/pack8583.c iPackElement, Attr_n Attr_fix,
//     fills the output from its last byte);
//   - variable-length n fields (n..LLVAR, n...LLLVAR: F2, F32, F48, F60,
//     F61) are left-aligned, the pad nibble 0 last: the same iPackElement
//     packs Attr_var1/Attr_var2 from the first digit on, the odd pad being
//     the string's terminating NUL, and iUnPackElement reads the digits back
//     from the first nibble; alon0808/ProjectAfcApp
//     code/AfcCore/UnionPay/qpboc_8583.c Build_qpboc_8583_60_login sends
//     60.3 "003" as the bytes 00 30; wuxinxi/unionpay util/EncodeUtil.java
//     pads an odd BCD string with a 0 on the right;
//   - F22 is left-aligned even though it is fixed (LiaoYang_POS
//     Src/tranproc.c UpdateEntryModeByPIN: "CUP要求bit 22左对齐");
//   - tracks F35/F36 (Attr_z) are left-aligned and padded with 0 the same
//     way as the variable n fields (iPackElement Attr_z var1/var2).
//
// Every decoder refuses a pad nibble other than 0 (*padError): no source
// pads with anything else, and a non-zero pad means the peer aligned the
// field the other way, so its digits would be read shifted by one.
type bcd struct {
	// leftAligned puts an odd length's pad nibble last (variable-length n
	// fields, F22, track data); otherwise it goes first (fixed n fields and
	// the LL/LLL length prefixes).
	leftAligned bool
	// track accepts the track field separator ('D', or '=' on input) as
	// nibble D.
	track bool
}

// The BCD field encoders, for a dialect's moov-io MessageSpec (iso/cup's
// is built from them). Each refuses a non-zero pad nibble on decode.
var (
	// BCDNumber: fixed-length n, right-aligned.
	BCDNumber encoding.Encoder = bcd{}
	// BCDLeft: F22, fixed but left-aligned.
	BCDLeft encoding.Encoder = bcd{leftAligned: true}
	// BCDVar: variable-length n (LL/LLL), left-aligned, pad 0 last.
	BCDVar encoding.Encoder = bcd{leftAligned: true}
	// BCDTrack: tracks 2 and 3, left-aligned, separator D.
	BCDTrack encoding.Encoder = bcd{leftAligned: true, track: true}
)

// padError is a BCD field whose odd digit count's pad nibble is not 0.
// The codec turns it into a *MalformedError naming the field.
type padError struct {
	nibble byte
	prefix bool // in the LLL length prefix, not in the value
}

func (e *padError) Error() string {
	if e.prefix {
		return fmt.Sprintf("length prefix pad nibble %X, want 0", e.nibble)
	}
	return fmt.Sprintf("pad nibble %X, want 0", e.nibble)
}

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

// Decode reads length characters. An odd length's pad nibble must be 0
// (see bcd): anything else is a *padError.
func (c bcd) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("negative length")
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("need %d bytes, have %d", read, len(src))
	}
	pad := 0
	if length%2 == 1 {
		var nib byte
		if c.leftAligned {
			nib = src[read-1] & 0x0F
		} else {
			pad = 1
			nib = src[0] >> 4
		}
		if nib != 0 {
			return nil, 0, &padError{nibble: nib}
		}
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

// The BCD length prefixes of variable-length fields (CUP's LL and LLL).
var (
	BCDLL  prefix.Prefixer = bcdLength{2} // LL: one BCD byte
	BCDLLL prefix.Prefixer = bcdLength{3} // LLL: two BCD bytes, pad nibble first
)

func (p bcdLength) EncodeLength(maxLen, length int) ([]byte, error) {
	if length > maxLen {
		return nil, fmt.Errorf("length %d above the maximum %d", length, maxLen)
	}
	text := fmt.Sprintf("%0*d", p.digits, length)
	if len(text) > p.digits {
		return nil, fmt.Errorf("length %d does not fit %d digits", length, p.digits)
	}
	return BCDNumber.Encode([]byte(text))
}

func (p bcdLength) DecodeLength(maxLen int, data []byte) (int, int, error) {
	digits, read, err := BCDNumber.Decode(data, p.digits)
	if err != nil {
		if pe, ok := err.(*padError); ok {
			return 0, 0, &padError{nibble: pe.nibble, prefix: true}
		}
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

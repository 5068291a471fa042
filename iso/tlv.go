package iso

import (
	"fmt"
	"strconv"
	"strings"
)

// Private-use TLV: the text format posswitch puts in a dialect's private
// field (CUP F59, ISO87 F48) for payment codes and QR orders. Each element is
// a two-character tag, a three-digit decimal length and the value, e.g.
// "A3018134567890123456789012". It follows the shape the CUP QR variant uses
// for its tag A3 (alon0808/ProjectAfcApp
// code/AfcCore/UnionPay/qpboc_8583.c Build_qpboc_8583_59); the Q tags are posswitch's own,
// documented in the package doc and overridable through QROrderMapping.
const (
	TagPaymentCode = "A3" // the customer's payment code (C2B), as in CUP's variant
	tagOrderRef    = "Q1" // host's QR order reference
	tagPayload     = "Q2" // the code payload (usually a URL) the terminal shows
	tagValidity    = "Q3" // requested validity in seconds
	tagExpires     = "Q4" // expiry instant, YYYYMMDDhhmmss UTC
	tagStatus      = "Q5" // order status letter: W waiting, P paid, C closed, E expired
)

// TLVElem is one element of posswitch's private TLV: a two-character tag
// and its value.
type TLVElem struct {
	Tag   string
	Value string
}

// FormatTLV spells elems as tag, three-digit length, value, in order.
func FormatTLV(elems []TLVElem) string {
	var b strings.Builder
	for _, e := range elems {
		fmt.Fprintf(&b, "%s%03d%s", e.Tag, len(e.Value), e.Value)
	}
	return b.String()
}

// ParseTLV splits a private field. Tags start with a letter, so digit-only
// fields (CUP F48 totals) are never mistaken for TLV.
func ParseTLV(s string) ([]TLVElem, error) {
	var out []TLVElem
	for len(s) > 0 {
		if len(s) < 5 || s[0] < 'A' || s[0] > 'Z' || !IsDigits(s[2:5]) {
			return nil, fmt.Errorf("not a private TLV")
		}
		n, _ := strconv.Atoi(s[2:5])
		if len(s) < 5+n {
			return nil, fmt.Errorf("TLV element longer than the field")
		}
		out = append(out, TLVElem{s[:2], s[5 : 5+n]})
		s = s[5+n:]
	}
	return out, nil
}

// TLVValue is the value of the first element with tag.
func TLVValue(elems []TLVElem, tag string) (string, bool) {
	for _, e := range elems {
		if e.Tag == tag {
			return e.Value, true
		}
	}
	return "", false
}

package iso

import (
	"fmt"
	"strconv"
)

// TerminalID is the card acceptor terminal identification, F41 (ans8).
type TerminalID string

// MerchantID is the card acceptor identification code, F42 (ans15).
type MerchantID string

// Validate accepts exactly 8 printable characters.
func (t TerminalID) Validate() error { return fixedText("TerminalID", string(t), 8) }

// Validate accepts exactly 15 printable characters.
func (m MerchantID) Validate() error { return fixedText("MerchantID", string(m), 15) }

// STAN is the system trace audit number, F11: 000001–999999, unique per
// terminal among open transactions. The journal assigns it; the wire model
// only checks its range.
type STAN uint32

// MaxSTAN is the largest STAN; the next one wraps to 1.
const MaxSTAN STAN = 999999

// Validate accepts 1–999999.
func (s STAN) Validate() error {
	if s < 1 || s > MaxSTAN {
		return InvalidField("STAN", "must be 1 to 999999")
	}
	return nil
}

// Next returns the STAN after s, wrapping 999999 to 1.
func (s STAN) Next() STAN {
	if s >= MaxSTAN {
		return 1
	}
	return s + 1
}

func (s STAN) String() string { return fmt.Sprintf("%06d", uint32(s)) }

// BatchNumber identifies a settlement batch (CUP F60.2, ISO87 F60), n6.
type BatchNumber uint32

// Validate accepts 1–999999.
func (b BatchNumber) Validate() error {
	if b < 1 || b > 999999 {
		return InvalidField("Batch", "must be 1 to 999999")
	}
	return nil
}

// Next returns the batch after b, wrapping 999999 to 1.
func (b BatchNumber) Next() BatchNumber {
	if b >= 999999 {
		return 1
	}
	return b + 1
}

func (b BatchNumber) String() string { return fmt.Sprintf("%06d", uint32(b)) }

// RRN is the retrieval reference number the host assigns, F37 (an12).
type RRN string

// Validate accepts exactly 12 printable characters.
func (r RRN) Validate() error { return fixedText("RRN", string(r), 12) }

// AuthCode is the authorization identification response, F38 (an6).
type AuthCode string

// Validate accepts exactly 6 printable characters.
func (a AuthCode) Validate() error { return fixedText("AuthCode", string(a), 6) }

// OperatorCode identifies the cashier or supervisor at the terminal. CUP
// sends it in F63.1 as an3 ("01 "); posswitch keeps up to three characters.
type OperatorCode string

// Validate accepts one to three printable characters.
func (o OperatorCode) Validate() error {
	if len(o) == 0 || len(o) > 3 || !printable(string(o)) {
		return InvalidField("Operator", "must be 1 to 3 printable characters")
	}
	return nil
}

func fixedText(name, s string, n int) error {
	if len(s) != n {
		return InvalidField(name, "must be exactly %d characters", n)
	}
	if !printable(s) {
		return InvalidField(name, "must be printable ASCII")
	}
	return nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ParseN6 reads an n6 field (F11, a batch number) as a number.
func ParseN6(field int, s string) (uint32, error) {
	if len(s) != 6 || !IsDigits(s) {
		return 0, Malformed(field, "want 6 digits")
	}
	v, _ := strconv.ParseUint(s, 10, 32)
	return uint32(v), nil
}

package iso

import "fmt"

// Invoice is the terminal's receipt number, n6 (ISO87 terminal profile
// F62: resza/MAB source/tranproc.c PackInvoice). Zero means "the STAN",
// which is what posswitch numbers invoices by unless the app gives one.
type Invoice uint32

// Validate checks the range 0–999999.
func (i Invoice) Validate() error {
	if i > 999999 {
		return InvalidField("Invoice", "must be at most 999999")
	}
	return nil
}

// String is the six-digit wire form.
func (i Invoice) String() string { return fmt.Sprintf("%06d", uint32(i)) }

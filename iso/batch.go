package iso

import "time"

// BatchEntry is one approved transaction of a batch, as settlement and batch
// upload need it. The journal produces these; the dialect decides how they
// add up (Dialect.Totals) and how they are uploaded.
type BatchEntry struct {
	Kind     Kind // KindSale, KindPaymentCodeSale, KindVoid or KindRefund
	STAN     STAN
	Time     time.Time
	Amount   Amount
	RRN      RRN
	AuthCode AuthCode
	// PAN is the clear PAN when the journal holds it encrypted and could
	// decrypt it, else empty: an upload then carries zeros where CUP wants
	// the PAN, and ISO87 leaves F2 out.
	PAN     PAN
	Foreign bool // card of a foreign scheme (CUP settles these separately)
	Voided  bool // a sale a later void in this batch cancelled
}

func (e BatchEntry) validate() error {
	switch e.Kind {
	case KindSale, KindPaymentCodeSale, KindVoid, KindRefund:
	default:
		return invalid("Entries.Kind", "%s is not a batch transaction", e.Kind)
	}
	if err := e.STAN.Validate(); err != nil {
		return prefixField("Entries", err)
	}
	if e.PAN != "" {
		if err := e.PAN.Validate(); err != nil {
			return prefixField("Entries", err)
		}
	}
	return prefixField("Entries", e.Amount.Validate())
}

// ClassTotals are counts and amounts (minor units) of one card class.
// Reversal counts are the ISO87 F75/F77/F87/F89 totals; CUP leaves them zero
// and counts voids as credits instead.
type ClassTotals struct {
	DebitCount, CreditCount                   int
	DebitAmount, CreditAmount                 int64
	DebitReversalCount, CreditReversalCount   int
	DebitReversalAmount, CreditReversalAmount int64
}

// Net is debits less credits, each net of its reversals.
func (c ClassTotals) Net() int64 {
	return c.DebitAmount - c.DebitReversalAmount - (c.CreditAmount - c.CreditReversalAmount)
}

// Totals are a batch's settlement totals. Dialects that do not split card
// classes (ISO87) use Domestic only.
type Totals struct {
	Domestic ClassTotals
	Foreign  ClassTotals
}

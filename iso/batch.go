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
	PAN PAN
	// CardOrg is the card organisation the host named when it approved
	// the transaction (CUP F63.1); CUP totals and uploads foreign cards
	// apart (Foreign).
	CardOrg CardOrg
	Voided  bool // a sale a later void in this batch cancelled
	// Original is the sale a void or refund undoes, when the journal
	// knows it: a CUP refund upload repeats the refund's F37 and F61.
	Original Original
	// Entry is how the card was read (F22's method), when the journal
	// knows it; Invoice the receipt number it went with (zero: the
	// STAN). ISO87's terminal-profile upload repeats both
	// (resza/MAB source/tranproc.c TransUpLoad).
	Entry   EntryMethod
	Invoice Invoice
}

// Foreign reports whether the entry settles in the foreign-card class.
func (e BatchEntry) Foreign() bool { return e.CardOrg.Foreign() }

func (e BatchEntry) validate() error {
	switch e.Kind {
	case KindSale, KindPaymentCodeSale, KindVoid, KindRefund:
	default:
		return InvalidField("Entries.Kind", "%s is not a batch transaction", e.Kind)
	}
	if err := e.STAN.Validate(); err != nil {
		return PrefixField("Entries", err)
	}
	if e.PAN != "" {
		if err := e.PAN.Validate(); err != nil {
			return PrefixField("Entries", err)
		}
	}
	if err := e.CardOrg.Validate(); err != nil {
		return PrefixField("Entries", err)
	}
	return PrefixField("Entries", e.Amount.Validate())
}

// ClassTotals are counts and amounts (minor units) of one card class.
// Reversal counts are the ISO87 F75/F77/F87/F89 totals; CUP leaves them zero
// and counts gross instead: a voided sale stays a debit and its void is a
// credit (CaoEnXin/LiaoYang_POS Src/posfiles.c ComputeTransTotal), so a day
// with two voids shows two credits, and Net is the same either way.
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

// UploadPlan is what follows a settlement's verdict, as the dialect spells
// it (Dialect.PlanUpload): the upload messages, in the order they go, and
// the request that closes the batch. A plan with no Close means the
// verdict itself closed the batch.
type UploadPlan struct {
	Steps []UploadStep
	Close Request
}

// UploadStep is one upload message and the pending entries it carries
// (indexes into the entries the plan was made from): when its reply is an
// approval those entries are acknowledged, in one journal write.
type UploadStep struct {
	Request Request
	Entries []int
}

// Count is how many entries the plan uploads.
func (p UploadPlan) Count() int {
	n := 0
	for _, s := range p.Steps {
		n += len(s.Entries)
	}
	return n
}

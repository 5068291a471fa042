package iso

import (
	"fmt"
	"strings"
)

// Totals adds a batch the CUP way (domain.md §7.3, S1 ComputeTransTotal):
// gross. A sale counts as a debit even when a later void cancelled it, and
// the void counts as a credit; refunds are credits. Domestic and foreign
// cards are totalled apart.
func (d *cupDialect) Totals(entries []BatchEntry) Totals {
	var t Totals
	for _, e := range entries {
		class := &t.Domestic
		if e.Foreign {
			class = &t.Foreign
		}
		switch e.Kind {
		case KindSale, KindPaymentCodeSale:
			class.DebitCount++
			class.DebitAmount += e.Amount.Minor
		case KindVoid, KindRefund:
			class.CreditCount++
			class.CreditAmount += e.Amount.Minor
		}
	}
	return t
}

// BatchLimit: F48 counts debits and credits of a class in three digits, so
// a batch past 999 transactions could not be settled.
func (d *cupDialect) BatchLimit() int { return 999 }

// UploadBatchSize: CUP packs up to eight magstripe-style records in F48.
func (d *cupDialect) UploadBatchSize() int { return 8 }

// CloseAfterUpload: CUP ends an upload with a 0320 upload end; there is no
// second 0500 (domain.md §7.1 step 5).
func (d *cupDialect) CloseAfterUpload(_ Totals, _ Currency, uploaded int, balanced bool) Request {
	return BatchUploadEndRequest{Count: uploaded, Balanced: balanced}
}

// cupTotalsF48 spells the 62 digits of a 0500 F48: for domestic then foreign
// cards, debit amount n12, debit count n3, credit amount n12, credit count
// n3 and a result digit (0 in a request; the host's verdict in the reply).
// Totals wider than the digits are refused, never truncated.
func cupTotalsF48(t Totals, results ...byte) (string, error) {
	var b strings.Builder
	for i, c := range []ClassTotals{t.Domestic, t.Foreign} {
		if c.DebitCount > 999 || c.CreditCount > 999 {
			return "", invalid("Totals", "CUP settles at most 999 debits and 999 credits per card class")
		}
		if c.DebitAmount < 0 || c.CreditAmount < 0 || c.DebitAmount > maxAmount || c.CreditAmount > maxAmount {
			return "", invalid("Totals", "amount outside the 12 digits of F48")
		}
		r := byte('0')
		if i < len(results) {
			r = results[i]
		}
		fmt.Fprintf(&b, "%012d%03d%012d%03d%c", c.DebitAmount, c.DebitCount, c.CreditAmount, c.CreditCount, r)
	}
	return b.String(), nil
}

// parseCUPTotalsF48 reads the totals and the two result digits.
func parseCUPTotalsF48(s string) (Totals, [2]Verdict, error) {
	var t Totals
	var v [2]Verdict
	if len(s) != 62 || !isDigits(s) {
		return t, v, malformed(48, "want 62 digits of totals")
	}
	for i, c := range []*ClassTotals{&t.Domestic, &t.Foreign} {
		blk := s[i*31 : i*31+31]
		fmt.Sscanf(blk[:12], "%d", &c.DebitAmount)
		fmt.Sscanf(blk[12:15], "%d", &c.DebitCount)
		fmt.Sscanf(blk[15:27], "%d", &c.CreditAmount)
		fmt.Sscanf(blk[27:30], "%d", &c.CreditCount)
		switch blk[30] {
		case '0':
			v[i] = VerdictNone
		case '1':
			v[i] = VerdictBalanced
		case '2':
			v[i] = VerdictOutOfBalance
		case '3':
			v[i] = VerdictError
		default:
			return t, v, malformed(48, "unknown reconciliation result")
		}
	}
	return t, v, nil
}

var cupVerdictDigits = map[Verdict]byte{VerdictNone: '0', VerdictBalanced: '1', VerdictOutOfBalance: '2', VerdictError: '3'}

// overallVerdict: balanced only when no class is out of balance or in error.
func overallVerdict(classes ...Verdict) Verdict {
	out := VerdictBalanced
	for _, c := range classes {
		if c == VerdictError {
			return VerdictError
		}
		if c == VerdictOutOfBalance {
			out = VerdictOutOfBalance
		}
	}
	return out
}

// cupUploadF48 packs upload records (domain.md §3.5): count n2, then per
// entry card-organisation flag n2 (00 domestic, 01 foreign), trace n6, PAN
// n20 right-aligned (zeros when the journal holds only a masked PAN) and
// amount n12.
func cupUploadF48(entries []BatchEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%02d", len(entries))
	for _, e := range entries {
		org := "00"
		if e.Foreign {
			org = "01"
		}
		fmt.Fprintf(&b, "%s%s%020s%s", org, e.STAN, e.PAN.Digits(), e.Amount.n12())
	}
	return b.String()
}

func parseCUPUploadF48(s string, currency Currency) ([]BatchEntry, error) {
	if len(s) < 2 || !isDigits(s) {
		return nil, malformed(48, "want digits")
	}
	var n int
	fmt.Sscanf(s[:2], "%d", &n)
	if len(s) != 2+40*n {
		return nil, malformed(48, "record count disagrees with length")
	}
	out := make([]BatchEntry, n)
	for i := range out {
		rec := s[2+40*i : 2+40*(i+1)]
		stan, _ := parseN6(48, rec[2:8])
		pan := strings.TrimLeft(rec[8:28], "0")
		amount, _ := parseN12(48, rec[28:40])
		out[i] = BatchEntry{Kind: KindSale, STAN: STAN(stan), PAN: PAN(pan), Foreign: rec[:2] == "01",
			Amount: Amount{Minor: amount, Currency: currency}}
	}
	return out, nil
}

// redactCUP masks as the default table does, except F48, whose layout CUP
// fixes: totals and counts are shown, the PANs of upload records are masked.
func redactCUP(id int, v string) string {
	if id != 48 || !isDigits(v) {
		return redactDefault(id, v)
	}
	entries, err := parseCUPUploadF48(v, CNY)
	if err != nil || len(v) < 42 {
		return v // settlement totals or an upload-end count: no card data
	}
	var b strings.Builder
	b.WriteString(v[:2])
	for i, e := range entries {
		rec := v[2+40*i : 2+40*(i+1)]
		fmt.Fprintf(&b, " %s%s[%s]%s", rec[:2], rec[2:8], e.PAN.Masked(), rec[28:])
	}
	return b.String()
}

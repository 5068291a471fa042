package cup

import (
	"fmt"
	"strings"

	"github.com/posswitch/posswitch/iso"
)

// Totals adds a batch the CUP way: gross. CaoEnXin/LiaoYang_POS
// Src/posfiles.c ComputeTransTotal counts every sale record as a debit
// without looking at its voided flag (it checks that flag only for its
// separate sale statistics), and Src/ChkOption.c ChkIfCreditTxn makes a
// sale's void and a refund credits. So a voided sale shows on both sides:
// two voids of the day read "2 credits", and the voided sales are among the
// debits; the net (ClassTotals.Net) is what the merchant is paid. Cards
// whose organisation is "CUP" are totalled in the domestic block, the
// others in the foreign block.
func (d *cupDialect) Totals(entries []iso.BatchEntry) iso.Totals {
	var t iso.Totals
	for _, e := range entries {
		class := &t.Domestic
		if e.Foreign() {
			class = &t.Foreign
		}
		switch e.Kind {
		case iso.KindSale, iso.KindPaymentCodeSale:
			class.DebitCount++
			class.DebitAmount += e.Amount.Minor
		case iso.KindVoid, iso.KindRefund:
			class.CreditCount++
			class.CreditAmount += e.Amount.Minor
		}
	}
	return t
}

// BatchLimit: F48 counts debits and credits of a class in three digits, so
// a batch past 999 transactions could not be settled.
func (d *cupDialect) BatchLimit() int { return 999 }

// cupPackedPerUpload: CUP packs up to eight magstripe-style records in F48.
const cupPackedPerUpload = 8

// PlanUpload follows CaoEnXin/LiaoYang_POS Src/tranproc.c PosSettleTran and
// PosBatchUp. The 0510's two result digits pick the scope: a class the host
// found balanced is not uploaded (RMBLOG / FRNLOG / EMVLOG; when both are
// balanced only chip TC records would go, and posswitch has none). Within the
// scope, sales and voids go packed eight a 0320 (BatchMagOnLineTrans), then
// refunds one a 0320 (BatchSendOffTrans2_Refund). The upload-end 0320 is
// sent whatever the verdict ("二代平台对账平也需要批结束报文"): 60.3 207 when
// both classes balanced, else 202, F48 the number of records uploaded,
// those of an earlier, interrupted run included. There is no second 0500.
func (d *cupDialect) PlanUpload(v iso.SettlementResponse, pending []iso.BatchEntry, uploaded int, _ iso.Totals, _ iso.Currency) (iso.UploadPlan, error) {
	if v.Domestic == iso.VerdictError || v.Foreign == iso.VerdictError || v.Verdict == iso.VerdictError {
		return iso.UploadPlan{}, iso.InvalidField("Verdict", "the host could not reconcile the batch; there is nothing to upload against")
	}
	upload := func(e iso.BatchEntry) bool {
		c := v.Domestic
		if e.Foreign() {
			c = v.Foreign
		}
		return c == iso.VerdictOutOfBalance
	}
	var plan iso.UploadPlan
	var packed, refunds []int
	for i, e := range pending {
		if !upload(e) {
			continue
		}
		if e.Kind == iso.KindRefund {
			refunds = append(refunds, i)
		} else {
			packed = append(packed, i)
		}
	}
	for len(packed) > 0 {
		n := min(cupPackedPerUpload, len(packed))
		es := make([]iso.BatchEntry, n)
		for j, i := range packed[:n] {
			es[j] = pending[i]
		}
		plan.Steps = append(plan.Steps, iso.UploadStep{Request: iso.BatchUploadRequest{Entries: es}, Entries: packed[:n:n]})
		packed = packed[n:]
	}
	for _, i := range refunds {
		plan.Steps = append(plan.Steps, iso.UploadStep{Request: iso.BatchUploadRequest{Entries: []iso.BatchEntry{pending[i]}}, Entries: []int{i}})
	}
	balanced := func(c iso.Verdict) bool { return c == iso.VerdictBalanced || c == iso.VerdictNone }
	plan.Close = iso.BatchUploadEndRequest{Count: uploaded + plan.Count(), Balanced: balanced(v.Domestic) && balanced(v.Foreign)}
	return plan, nil
}

// cupTotalsF48 spells the 62 digits of a 0500 F48: for domestic then foreign
// cards, debit amount n12, debit count n3, credit amount n12, credit count
// n3 and a result digit (0 in a request; the host's verdict in the reply).
// Totals wider than the digits are refused, never truncated.
func cupTotalsF48(t iso.Totals, results ...byte) (string, error) {
	var b strings.Builder
	for i, c := range []iso.ClassTotals{t.Domestic, t.Foreign} {
		if c.DebitCount > 999 || c.CreditCount > 999 {
			return "", iso.InvalidField("Totals", "CUP settles at most 999 debits and 999 credits per card class")
		}
		if c.DebitAmount < 0 || c.CreditAmount < 0 || c.DebitAmount > iso.MaxAmount || c.CreditAmount > iso.MaxAmount {
			return "", iso.InvalidField("Totals", "amount outside the 12 digits of F48")
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
func parseCUPTotalsF48(s string) (iso.Totals, [2]iso.Verdict, error) {
	var t iso.Totals
	var v [2]iso.Verdict
	if len(s) != 62 || !iso.IsDigits(s) {
		return t, v, iso.Malformed(48, "want 62 digits of totals")
	}
	for i, c := range []*iso.ClassTotals{&t.Domestic, &t.Foreign} {
		blk := s[i*31 : i*31+31]
		fmt.Sscanf(blk[:12], "%d", &c.DebitAmount)
		fmt.Sscanf(blk[12:15], "%d", &c.DebitCount)
		fmt.Sscanf(blk[15:27], "%d", &c.CreditAmount)
		fmt.Sscanf(blk[27:30], "%d", &c.CreditCount)
		switch blk[30] {
		case '0':
			v[i] = iso.VerdictNone
		case '1':
			v[i] = iso.VerdictBalanced
		case '2':
			v[i] = iso.VerdictOutOfBalance
		case '3':
			v[i] = iso.VerdictError
		default:
			return t, v, iso.Malformed(48, "unknown reconciliation result")
		}
	}
	return t, v, nil
}

var cupVerdictDigits = map[iso.Verdict]byte{iso.VerdictNone: '0', iso.VerdictBalanced: '1', iso.VerdictOutOfBalance: '2', iso.VerdictError: '3'}

// overallVerdict: balanced only when no class is out of balance or in error.
func overallVerdict(classes ...iso.Verdict) iso.Verdict {
	out := iso.VerdictBalanced
	for _, c := range classes {
		if c == iso.VerdictError {
			return iso.VerdictError
		}
		if c == iso.VerdictOutOfBalance {
			out = iso.VerdictOutOfBalance
		}
	}
	return out
}

// cupUploadF48 packs upload records (CaoEnXin/LiaoYang_POS Src/tranproc.c
// BatchMagOnLineTrans): count n2, then per entry card-organisation flag n2
// (00 for a "CUP" card, 01 for the others), trace n6, PAN n20 right-aligned
// and zero-filled (zeros when the journal holds only a masked PAN) and
// amount n12.
func cupUploadF48(entries []iso.BatchEntry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%02d", len(entries))
	for _, e := range entries {
		org := "00"
		if e.Foreign() {
			org = "01"
		}
		fmt.Fprintf(&b, "%s%s%020s%s", org, e.STAN, e.PAN.Digits(), e.Amount.N12())
	}
	return b.String()
}

func parseCUPUploadF48(s string, currency iso.Currency) ([]iso.BatchEntry, error) {
	if len(s) < 2 || !iso.IsDigits(s) {
		return nil, iso.Malformed(48, "want digits")
	}
	var n int
	fmt.Sscanf(s[:2], "%d", &n)
	if len(s) != 2+40*n {
		return nil, iso.Malformed(48, "record count disagrees with length")
	}
	out := make([]iso.BatchEntry, n)
	for i := range out {
		rec := s[2+40*i : 2+40*(i+1)]
		stan, _ := iso.ParseN6(48, rec[2:8])
		pan := strings.TrimLeft(rec[8:28], "0")
		amount, _ := iso.ParseN12(48, rec[28:40])
		// The flag says only the class: a foreign record's organisation is
		// not on the wire, so the host reads it from its own ledger.
		org := iso.CardOrgCUP
		if rec[:2] != "00" {
			org = iso.CardOrgForeign
		}
		out[i] = iso.BatchEntry{Kind: iso.KindSale, STAN: iso.STAN(stan), PAN: iso.PAN(pan), CardOrg: org,
			Amount: iso.Amount{Minor: amount, Currency: currency}}
	}
	return out, nil
}

// redactCUP masks as the default table does, except F48, whose layout CUP
// fixes: totals and counts are shown, the PANs of upload records are masked.
func redactCUP(id int, v string) string {
	if id != 48 || !iso.IsDigits(v) {
		return iso.RedactDefault(id, v)
	}
	entries, err := parseCUPUploadF48(v, iso.CNY)
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

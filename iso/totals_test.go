package iso_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// TestTotalsPerDialect: CUP settles gross (a voided sale stays a debit and
// its void is a credit), domestic and foreign apart; ISO87 host-to-host
// counts the void as a debit reversal, so its net is sales net of voids;
// the terminal profile leaves the voided sale and its void out (resza/MAB
// source/tranproc.c TransSettleSubNew totals sales and refunds).
func TestTotalsPerDialect(t *testing.T) {
	amt := func(m int64) iso.Amount { return iso.Amount{Minor: m, Currency: iso.CNY} }
	batch := []iso.BatchEntry{
		{Kind: iso.KindSale, STAN: 1, Amount: amt(10000)},
		{Kind: iso.KindSale, STAN: 2, Amount: amt(20000), Voided: true},
		{Kind: iso.KindVoid, STAN: 3, Amount: amt(20000)},
		{Kind: iso.KindPaymentCodeSale, STAN: 4, Amount: amt(700)},
		{Kind: iso.KindRefund, STAN: 5, Amount: amt(5000)},
		{Kind: iso.KindSale, STAN: 6, Amount: amt(3000), CardOrg: iso.CardOrgVisa},
		{Kind: iso.KindSale, STAN: 7, Amount: amt(400), CardOrg: iso.CardOrgCUP},
	}
	ds := dialects(t)
	cup := ds["cup"].d.Totals(batch)
	wantCUP := iso.Totals{
		Domestic: iso.ClassTotals{DebitCount: 4, DebitAmount: 31100, CreditCount: 2, CreditAmount: 25000},
		Foreign:  iso.ClassTotals{DebitCount: 1, DebitAmount: 3000},
	}
	if diff := cmp.Diff(wantCUP, cup); diff != "" {
		t.Errorf("CUP totals (-want +got):\n%s", diff)
	}
	term := ds["iso87"].d.Totals(batch)
	wantTerm := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 4, DebitAmount: 14100, CreditCount: 1, CreditAmount: 5000}}
	if diff := cmp.Diff(wantTerm, term); diff != "" {
		t.Errorf("ISO87 terminal totals (-want +got):\n%s", diff)
	}
	i87 := ds["iso87_h2h"].d.Totals(batch)
	wantISO := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 5, DebitAmount: 34100, DebitReversalCount: 1,
		DebitReversalAmount: 20000, CreditCount: 1, CreditAmount: 5000}}
	if diff := cmp.Diff(wantISO, i87); diff != "" {
		t.Errorf("ISO87 totals (-want +got):\n%s", diff)
	}
	if net := i87.Domestic.Net(); net != 34100-20000-5000 {
		t.Errorf("ISO87 net %d", net)
	}
}

// TestPlanUpload: what each dialect uploads for each verdict, in what
// messages, and what closes the batch. CUP follows CaoEnXin/LiaoYang_POS
// Src/tranproc.c PosBatchUp: only a class the host found not balanced goes
// up, sales and voids eight a 0320, refunds one a 0320 after them, and the
// upload end is always sent (202, or 207 when both classes balanced) with
// the count of records uploaded, earlier runs included.
func TestPlanUpload(t *testing.T) {
	ds := dialects(t)
	amt := func(m int64) iso.Amount { return iso.Amount{Minor: m, Currency: iso.CNY} }
	var pending []iso.BatchEntry
	for i := 1; i <= 10; i++ { // ten foreign sales
		pending = append(pending, iso.BatchEntry{Kind: iso.KindSale, STAN: iso.STAN(i), Amount: amt(100), CardOrg: iso.CardOrgVisa})
	}
	pending = append(pending,
		iso.BatchEntry{Kind: iso.KindRefund, STAN: 11, Amount: amt(50), CardOrg: iso.CardOrgVisa},
		iso.BatchEntry{Kind: iso.KindSale, STAN: 12, Amount: amt(100), CardOrg: iso.CardOrgCUP},
		iso.BatchEntry{Kind: iso.KindRefund, STAN: 13, Amount: amt(50), CardOrg: iso.CardOrgCUP},
		iso.BatchEntry{Kind: iso.KindVoid, STAN: 14, Amount: amt(100), CardOrg: iso.CardOrgMC},
	)
	totals := ds["cup"].d.Totals(pending)
	stans := func(p iso.UploadPlan) [][]iso.STAN {
		var out [][]iso.STAN
		for _, s := range p.Steps {
			var row []iso.STAN
			for j, i := range s.Entries {
				if s.Request.(iso.BatchUploadRequest).Entries[j] != pending[i] {
					t.Errorf("step entry %d is not pending[%d]", j, i)
				}
				row = append(row, pending[i].STAN)
			}
			out = append(out, row)
		}
		return out
	}
	foreignOnly := iso.SettlementResponse{Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictBalanced, Foreign: iso.VerdictOutOfBalance}
	p, err := ds["cup"].d.PlanUpload(foreignOnly, pending, 3, totals, iso.CNY)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]iso.STAN{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 14}, {11}}
	if diff := cmp.Diff(want, stans(p)); diff != "" {
		t.Errorf("CUP foreign not balanced: steps (-want +got):\n%s", diff)
	}
	if p.Close != (iso.BatchUploadEndRequest{Count: 3 + 12}) {
		t.Errorf("CUP closes with %#v, want the 202 end counting 15", p.Close)
	}

	both := iso.SettlementResponse{Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictOutOfBalance, Foreign: iso.VerdictOutOfBalance}
	p, _ = ds["cup"].d.PlanUpload(both, pending, 0, totals, iso.CNY)
	want = [][]iso.STAN{{1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 12, 14}, {11}, {13}}
	if diff := cmp.Diff(want, stans(p)); diff != "" {
		t.Errorf("CUP neither balanced: steps (-want +got):\n%s", diff)
	}

	balanced := iso.SettlementResponse{Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced, Foreign: iso.VerdictBalanced}
	p, _ = ds["cup"].d.PlanUpload(balanced, pending, 0, totals, iso.CNY)
	if len(p.Steps) != 0 || p.Close != (iso.BatchUploadEndRequest{Count: 0, Balanced: true}) {
		t.Errorf("CUP balanced: %d steps, close %#v; want none and the 207 end", len(p.Steps), p.Close)
	}
	if _, err := ds["cup"].d.PlanUpload(iso.SettlementResponse{Verdict: iso.VerdictError, Domestic: iso.VerdictError}, pending, 0, totals, iso.CNY); err == nil {
		t.Error("CUP planned an upload against a reconciliation error")
	}

	usdTotals := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 1, DebitAmount: 5}}
	p, _ = ds["iso87"].d.PlanUpload(iso.SettlementResponse{Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced}, pending, 0, usdTotals, iso.USD)
	if len(p.Steps) != 0 || p.Close != nil {
		t.Errorf("ISO87 balanced: %d steps, close %#v; want the batch closed", len(p.Steps), p.Close)
	}
	p, _ = ds["iso87_h2h"].d.PlanUpload(iso.SettlementResponse{Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictOutOfBalance}, pending, 0, usdTotals, iso.USD)
	if len(p.Steps) != len(pending) || p.Close != (iso.SettlementRequest{Totals: usdTotals, Currency: iso.USD, AfterUpload: true}) {
		t.Errorf("ISO87 host-to-host out of balance: %d steps, close %#v; want one a 0320 and 960000", len(p.Steps), p.Close)
	}
	// The terminal profile uploads neither a voided sale nor its void
	// (resza/MAB source/tranproc.c TransUpLoad skips TS_VOID records).
	p, _ = ds["iso87"].d.PlanUpload(iso.SettlementResponse{Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictOutOfBalance}, pending, 0, usdTotals, iso.USD)
	if want := []iso.STAN{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}; !cmp.Equal(want, iso87Stans(p)) || p.Close != (iso.SettlementRequest{Totals: usdTotals, Currency: iso.USD, AfterUpload: true}) {
		t.Errorf("ISO87 terminal out of balance: STANs %v, close %#v; want %v and 960000", iso87Stans(p), p.Close, want)
	}
}

// TestSettlementVerdicts: CUP reads the verdict per card class from F48,
// ISO87 from F39 (00 balanced, 95 out of balance).
func TestSettlementVerdicts(t *testing.T) {
	for name, tc := range dialects(t) {
		for _, f := range tc.fixtures {
			want, ok := f.resp.(iso.SettlementResponse)
			if !ok {
				continue
			}
			ex := spell(t, tc.d, f)
			got, err := tc.d.ParseResponse(ex.req, decode(t, tc.d, ex.replyFrame, nil))
			if err != nil {
				t.Fatal(err)
			}
			if got.(iso.SettlementResponse).Verdict != want.Verdict {
				t.Errorf("%s %s: verdict %s, want %s", name, f.name, got.(iso.SettlementResponse).Verdict, want.Verdict)
			}
		}
	}
	i87 := dialects(t)["iso87"].d
	req, _ := i87.BuildRequest(env(1), iso.SettlementRequest{Currency: iso.USD})
	_, err := i87.BuildResponse(req, iso.SettlementResponse{Reply: iso.Reply{Code: "00"}, Verdict: iso.VerdictOutOfBalance})
	if err == nil {
		t.Error("an ISO87 reply saying 00 and out of balance was built")
	}
}

func iso87Stans(p iso.UploadPlan) []iso.STAN {
	var out []iso.STAN
	for _, s := range p.Steps {
		for _, e := range s.Request.(iso.BatchUploadRequest).Entries {
			out = append(out, e.STAN)
		}
	}
	return out
}

package iso_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// TestTotalsPerDialect: CUP settles gross (a voided sale stays a debit and
// its void is a credit), domestic and foreign apart; ISO87 counts the void
// as a debit reversal, so its net is sales net of voids.
func TestTotalsPerDialect(t *testing.T) {
	amt := func(m int64) iso.Amount { return iso.Amount{Minor: m, Currency: iso.CNY} }
	batch := []iso.BatchEntry{
		{Kind: iso.KindSale, STAN: 1, Amount: amt(10000)},
		{Kind: iso.KindSale, STAN: 2, Amount: amt(20000), Voided: true},
		{Kind: iso.KindVoid, STAN: 3, Amount: amt(20000)},
		{Kind: iso.KindPaymentCodeSale, STAN: 4, Amount: amt(700)},
		{Kind: iso.KindRefund, STAN: 5, Amount: amt(5000)},
		{Kind: iso.KindSale, STAN: 6, Amount: amt(3000), Foreign: true},
	}
	ds := dialects(t)
	cup := ds["cup"].d.Totals(batch)
	wantCUP := iso.Totals{
		Domestic: iso.ClassTotals{DebitCount: 3, DebitAmount: 30700, CreditCount: 2, CreditAmount: 25000},
		Foreign:  iso.ClassTotals{DebitCount: 1, DebitAmount: 3000},
	}
	if diff := cmp.Diff(wantCUP, cup); diff != "" {
		t.Errorf("CUP totals (-want +got):\n%s", diff)
	}
	i87 := ds["iso87"].d.Totals(batch)
	wantISO := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 4, DebitAmount: 33700, DebitReversalCount: 1,
		DebitReversalAmount: 20000, CreditCount: 1, CreditAmount: 5000}}
	if diff := cmp.Diff(wantISO, i87); diff != "" {
		t.Errorf("ISO87 totals (-want +got):\n%s", diff)
	}
	if net := i87.Domestic.Net(); net != 33700-20000-5000 {
		t.Errorf("ISO87 net %d", net)
	}
}

// TestCloseAfterUpload: the dialect names the request that ends an upload.
func TestCloseAfterUpload(t *testing.T) {
	ds := dialects(t)
	totals := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 1, DebitAmount: 5}}
	if got := ds["cup"].d.CloseAfterUpload(totals, iso.CNY, 12, true); got != (iso.BatchUploadEndRequest{Count: 12, Balanced: true}) {
		t.Errorf("CUP closes with %#v", got)
	}
	want := iso.SettlementRequest{Totals: totals, Currency: iso.USD, AfterUpload: true}
	if got := ds["iso87"].d.CloseAfterUpload(totals, iso.USD, 12, false); got != want {
		t.Errorf("ISO87 closes with %#v", got)
	}
	if ds["cup"].d.UploadBatchSize() != 8 || ds["iso87"].d.UploadBatchSize() != 1 {
		t.Error("upload batch sizes: CUP packs 8, ISO87 sends 1")
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

package switchtest_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestRefundOfVoidedSaleRefused: a sale voided in its batch and then
// settled has returned all its money; a refund of it must be refused by
// the terminal before anything is sent, not left to the host (which
// refuses it with 12 here, and which a laxer host might pay out twice).
// Found by TestChaos (seed 20261202, CUP and ISO87): the refund op picked
// a settled voided sale, Terminal.Refund sent it, and the host declined it.
func TestRefundOfVoidedSaleRefused(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, j := terminal(t, h, d, "TERM0003")
			sale, err := term.Sale(ctx(t), "01", cny(2500), visa)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN}); err != nil {
				t.Fatal(err)
			}
			settledBalanced(t, term)
			before := len(h.Transactions())
			n, _ := j.Find(func(reversal.Record) bool { return true })
			_, err = term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: sale.HostTime}, cny(1000), visa)
			var na *isoswitch.NotAllowedError
			if !errors.As(err, &na) {
				t.Fatalf("refund of a voided sale: %v, want a *NotAllowedError", err)
			}
			if after := len(h.Transactions()); after != before {
				t.Errorf("the host got the refund: %d transactions, had %d", after, before)
			}
			if m, _ := j.Find(func(reversal.Record) bool { return true }); len(m) != len(n) {
				t.Errorf("the refusal journaled a record: %d records, had %d", len(m), len(n))
			}
			if rec, _ := j.Get(sale.RecordID); rec.Refundable() != 0 {
				t.Errorf("a voided sale has %d left to refund, want 0", rec.Refundable())
			}
		})
	}
}

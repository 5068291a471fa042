package switchtest_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestRefundRepeatAnsweredAsTheFirstTime: the host approves a refund that
// uses up the sale's refundable amount, but its reply is lost; the CUP
// terminal resends the same 0220. The host must recognise the repeat (same
// terminal, batch and STAN) before it checks the remainder, which the first
// already used, and answer 00 with the first RRN again, not 13. The
// terminal books the refund once.
func TestRefundRepeatAnsweredAsTheFirstTime(t *testing.T) {
	d := dialects(t)["cup"]
	h := switchtest.NewHost(t, d)
	term, j := terminal(t, h, d, "TERM0009")
	sale, err := term.Sale(ctx(t), "01", cny(1000), visa)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.Settle(ctx(t), supervisor, nil); err != nil {
		t.Fatal(err)
	}
	h.SetFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindRefund, Times: 1})
	_, err = term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: sale.HostTime}, cny(1000), visa)
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) || unknown.Recovery != iso.RecoveryRepeat {
		t.Fatalf("refund with its reply dropped: %v", err)
	}
	if err := term.Drain(ctx(t)); err != nil {
		t.Fatalf("the repeat did not end the refund: %v", err)
	}
	refund, _ := j.Get(unknown.RecordID)
	orig, _ := j.Get(sale.RecordID)
	if refund.State != reversal.StateApproved || refund.Code != "00" || orig.Refunded != 1000 || orig.Refundable() != 0 {
		t.Fatalf("refund %s (%s), original refunded %d", refund.State, refund.Code, orig.Refunded)
	}
	var refunds []switchtest.Txn
	for _, x := range h.Transactions() {
		if x.Kind == iso.KindRefund {
			refunds = append(refunds, x)
		}
	}
	if len(refunds) != 1 || refunds[0].State != switchtest.Approved || refunds[0].RRN != refund.RRN {
		t.Errorf("host ledger refunds %+v, want the one approved with RRN %s", refunds, refund.RRN)
	}
	// A second refund under a new STAN is a new request: nothing is left.
	if _, err := term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: sale.HostTime}, cny(1), visa); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("a refund past the remainder: %v", err)
	}
}

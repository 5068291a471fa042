package switchtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestRepeatedVoidKeepsItsReference: an ISO87 void whose reply comes too
// late is repeated (0401); the host answers the repeat as it answered the
// void, with the same RRN and auth code, so the journal's void carries the
// reference the host's ledger holds. Found by TestChaos (seed 20261202,
// ISO87): the host answered the repeat with a fresh RRN, and the journal
// kept a reference the host had never filed the void under.
func TestRepeatedVoidKeepsItsReference(t *testing.T) {
	d := dialects(t)["iso87"]
	h := switchtest.NewHost(t, d)
	term, j := terminal(t, h, d, "TERM0004")
	sale, err := term.Sale(ctx(t), "01", cny(3100), visa)
	if err != nil {
		t.Fatal(err)
	}
	h.SetFaults(1, switchtest.Fault{Action: switchtest.Delay, Kind: iso.KindVoid, Times: 1, Delay: time.Second})
	_, err = term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN})
	var ou *isoswitch.OutcomeUnknownError
	if !errors.As(err, &ou) || ou.Recovery != iso.RecoveryRepeat {
		t.Fatalf("void with a late reply: %v, want an unknown outcome under repeat", err)
	}
	if err := term.Drain(ctx(t)); err != nil {
		t.Fatal(err)
	}
	void, err := j.Get(ou.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	if void.State != reversal.StateApproved || void.Attempts == 0 {
		t.Fatalf("void %s after %d repeats, want approved by a repeat", void.State, void.Attempts)
	}
	var host *switchtest.Txn
	for _, x := range h.Transactions() {
		if x.Kind == iso.KindVoid && x.STAN == void.STAN {
			host = &x
		}
	}
	if host == nil || host.State != switchtest.Approved {
		t.Fatalf("host ledger: %+v, want the void approved", host)
	}
	if void.RRN != host.RRN || void.AuthCode != host.AuthCode {
		t.Errorf("journal void RRN %s auth %s, host filed it as RRN %s auth %s", void.RRN, void.AuthCode, host.RRN, host.AuthCode)
	}
	settledBalanced(t, term)
}

package switchtest_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

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
	d := dialects(t)["iso87_h2h"] // the profile whose void is repeated, not reversed
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

// TestRepeatRefusedUnreadIsNotADecline: an ISO87 void whose reply is lost
// is repeated; the host answers the repeat 63 (its MAC is under keys the
// host no longer holds: the terminal ID signed on elsewhere meanwhile).
// The host did not read the repeat, so 63 says nothing of the void, which
// the host approved at the first send: the repeat must go again after a
// new sign-on, not end the void declined. Before the fix the journal
// declined the void while the host had voided the sale: the sale stood in
// the terminal's batch and the settlement went out of balance. (TestChaos,
// seed 20261202, 500 operations, ISO87: "journal declined void; host
// approved void".)
func TestRepeatRefusedUnreadIsNotADecline(t *testing.T) {
	d := dialects(t)["iso87_h2h"] // the profile whose void is repeated, not reversed
	h := switchtest.NewHost(t, d)
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	// One attempt per drain, so the test decides when the repeat goes.
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: "TERM0005", Merchant: "898310048161234",
		MasterKey: h.TMK, Journal: j}, isoswitch.WithTimeout(300*time.Millisecond), isoswitch.WithAuthoriser(ops),
		isoswitch.WithReversalPolicy(reversal.Policy{AttemptsPerDrain: 1, Backoff: func(int) time.Duration { return 0 }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if err := term.Start(ctx(t), "01"); err != nil {
		t.Fatal(err)
	}
	sale, err := term.Sale(ctx(t), "01", cny(3100), visa)
	if err != nil {
		t.Fatal(err)
	}
	// The void's reply is lost, and that of the repeat the background
	// drain sends (one attempt per drain).
	h.SetFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindVoid, Times: 2})
	_, err = term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN})
	var ou *isoswitch.OutcomeUnknownError
	if !errors.As(err, &ou) {
		t.Fatalf("void: %v, want an unknown outcome", err)
	}
	for n := 0; n < 100; n++ {
		if r, _ := j.Get(ou.RecordID); r.Attempts == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // past the repeat's deadline: the background drain is over
	if r, _ := j.Get(ou.RecordID); r.State != reversal.StateRecoveryPending || r.Attempts != 1 {
		t.Fatalf("the void is %s after %d repeats, want pending after 1", r.State, r.Attempts)
	}
	// The terminal ID signs on from elsewhere: the host now holds other keys.
	terminal(t, h, d, "TERM0005")
	err = term.Drain(ctx(t))
	if r, _ := j.Get(ou.RecordID); r.State != reversal.StateRecoveryPending {
		t.Fatalf("after a 63 to the repeat the void is %s (%s; drain: %v), want still pending", r.State, r.Code, err)
	}
	// The next call signs on again and sends the repeat, which the host
	// answers as it answered the void.
	if _, err := term.Sale(ctx(t), "01", cny(200), visa); err != nil {
		t.Fatalf("the next sale: %v", err)
	}
	void, _ := j.Get(ou.RecordID)
	orig, _ := j.Get(sale.RecordID)
	if void.State != reversal.StateApproved || orig.VoidedBy != void.ID {
		t.Fatalf("void %s, sale voided by %d: want the void approved and applied", void.State, orig.VoidedBy)
	}
	settledBalanced(t, term)
}

package reversal_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// TestUntrustedReplyKeepsItsAuthCode: the F38 of a reply that failed its
// checks is kept in the stored request (CaoEnXin/LiaoYang_POS
// Src/trancomm.c MakeReversalPack sends the received F38 in the 0400); a
// void keeps its original's code; a malformed code is refused and changes
// nothing.
func TestUntrustedReplyKeepsItsAuthCode(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 700)
	if _, err := j.MarkUntrustedReply(sale.ID, iso.ReasonBadMAC, "12345"); !errors.Is(err, iso.ErrInvalidInput) {
		t.Fatalf("a 5-character auth code: %v", err)
	}
	if r, _ := j.Get(sale.ID); r.State != reversal.StatePrepared || r.Request["38"] != "" {
		t.Fatalf("a refused auth code changed the record: %s, F38 %q", r.State, r.Request["38"])
	}
	got, err := j.MarkUntrustedReply(sale.ID, iso.ReasonBadMAC, "AP0001")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != reversal.StateRecoveryPending || got.Request["38"] != "AP0001" {
		t.Fatalf("state %s, stored F38 %q", got.State, got.Request["38"])
	}
	rev, err := d.Reversal(mustFields(t, got.Request), got.Reason, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Value(38) != "AP0001" || rev.Value(39) != "A0" {
		t.Errorf("reversal F38 %q F39 %q, want AP0001 A0", rev.Value(38), rev.Value(39))
	}

	other := tjSale(t, j, d, 800)
	other, _ = j.Approve(other.ID, tjApproved("000000000021"))
	void := tjVoid(t, j, d, other)
	own := void.Request["38"]
	got, err = j.MarkUntrustedReply(void.ID, iso.ReasonBadReply, "ZZ9999")
	if err != nil {
		t.Fatal(err)
	}
	if got.Request["38"] != own {
		t.Errorf("void's F38 %q replaced by the untrusted reply's, want its original %q", got.Request["38"], own)
	}
}

func mustFields(t *testing.T, f map[string]string) *iso.Message {
	t.Helper()
	m, err := iso.MessageFromFields(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

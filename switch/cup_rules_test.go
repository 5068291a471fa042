package isoswitch_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestReversalCarriesTheReceivedAuthCode: over real TCP, the host approves
// a sale with auth code AP0001 but the reply's MAC is wrong. The sale is
// reversed, and the 0400 carries F38 AP0001, as CaoEnXin/LiaoYang_POS
// Src/trancomm.c MakeReversalPack puts the received authorization code in
// the reversal. A sale that timed out has no code to carry.
func TestReversalCarriesTheReceivedAuthCode(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			h.setScript(moveFor(badMAC, iso.KindSale))
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			var ou *isoswitch.OutcomeUnknownError
			if !errors.As(err, &ou) || ou.Reason != iso.ReasonBadMAC {
				t.Fatalf("err = %v", err)
			}
			waitState(t, j, ou.RecordID, reversal.StateReversed)

			h.setScript(silentFor(iso.KindSale))
			_, err = term.Sale(ctx5(t), "01", cny10, visa)
			if !errors.As(err, &ou) || ou.Reason != iso.ReasonTimeout {
				t.Fatalf("err = %v", err)
			}
			waitState(t, j, ou.RecordID, reversal.StateReversed)

			h.mu.Lock()
			defer h.mu.Unlock()
			var auths []string
			for _, m := range h.seen {
				if m.MTI == "0400" || m.MTI == "0401" {
					auths = append(auths, m.Value(38))
				}
			}
			if len(auths) != 2 || auths[0] != "AP0001" || auths[1] != "" {
				t.Errorf("reversals carried F38 %q, want [AP0001 \"\"]", auths)
			}
		})
	}
}

// TestTerminalAdoptsTheHostBatch: over real TCP, a CUP host's sign-on reply
// says batch 000008 in F60.2. F60 is an n...LLLVAR field, packed
// left-aligned with the pad nibble last (CaoEnXin/LiaoYang_POS
// Src/pack8583.c iPackElement; the bytes 00 11 00 00 00 08 00 30 are checked
// by iso's TestCUPHostBatchIsReadLeftAligned). The terminal adopts 000008
// (not 000080): its next sale's F60 says 22 000008 000.
func TestTerminalAdoptsTheHostBatch(t *testing.T) {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, d)
	h.batch.Store(8)
	term, j := newTerminal(t, h)
	if b, err := j.OpenBatch(); err != nil || b != 8 {
		t.Fatalf("open batch %s, %v; want 000008", b, err)
	}
	res, err := term.Sale(ctx5(t), "01", cny10, visa)
	if err != nil || res.Batch != 8 {
		t.Fatalf("sale %+v, %v", res, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	last := h.seen[len(h.seen)-1]
	if last.MTI != "0200" || last.Value(60) != "22000008000" {
		t.Errorf("sale %s F60 %q, want 0200 22000008000", last.MTI, last.Value(60))
	}
}

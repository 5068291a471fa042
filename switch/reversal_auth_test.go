package isoswitch_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
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

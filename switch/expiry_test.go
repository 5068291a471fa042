package isoswitch_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestExpiredKeyedCardRefused: a keyed card whose expiry month has ended by
// the terminal's clock is refused before anything is journaled or sent; a
// swiped card is the host's to judge.
func TestExpiredKeyedCardRefused(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			now := time.Date(2029, 1, 1, 0, 0, 1, 0, time.Local) // visa expires 2812
			term, j := newTerminal(t, h, isoswitch.WithTerminalClock(func() time.Time { return now }))
			before := len(h.requests())
			for what, call := range map[string]func() error{
				"sale":    func() error { _, err := term.Sale(ctx5(t), "01", cny10, visa); return err },
				"balance": func() error { _, err := term.BalanceInquiry(ctx5(t), "01", visa, iso.CNY); return err },
			} {
				err := call()
				var ee *iso.ExpiredCardError
				if !errors.As(err, &ee) || !errors.Is(err, iso.ErrCardExpired) || !errors.Is(err, iso.ErrInvalidInput) {
					t.Errorf("%s with an expired keyed card: %v", what, err)
				}
			}
			if recs, err := j.Find(func(reversal.Record) bool { return true }); err != nil || len(recs) != 0 {
				t.Errorf("the journal holds %d records (%v)", len(recs), err)
			}
			if got := h.requests(); len(got) != before {
				t.Errorf("the host saw %v after the refusals", got[before:])
			}
			now = time.Date(2028, 12, 31, 23, 59, 0, 0, time.Local) // its last month: still good
			if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
				t.Errorf("a sale in the card's last month: %v", err)
			}
		})
	}
}

package switchtest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestExpiredCardDeclined54: the host declines a sale whose card expired
// (54, expired card), whatever its rule says, and files it declined; a
// card good this month is approved. The terminal is told it is still 2020,
// so it lets the keyed card through to the host.
func TestExpiredCardDeclined54(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d, switchtest.WithRule(func(iso.Request) iso.ResponseCode { return "" }))
			term, _ := terminal(t, h, d, "TERM0001", isoswitch.WithTerminalClock(func() time.Time {
				return time.Date(2020, 1, 1, 0, 0, 0, 0, time.Local)
			}))
			lastMonth := time.Now().AddDate(0, -1, 0).Format("0601")
			expired := iso.Card{PAN: "4111111111111111", Expiry: iso.Expiry(lastMonth), Entry: iso.EntryMode{Method: iso.EntryManual}}
			_, err := term.Sale(ctx(t), "01", cny(1000), expired)
			var de *isoswitch.DeclinedError
			if !errors.As(err, &de) || de.Code != iso.CodeExpiredCard {
				t.Fatalf("sale with a card expired %s: %v, want declined 54", lastMonth, err)
			}
			good := expired
			good.Expiry = iso.Expiry(time.Now().Format("0601"))
			if _, err := term.Sale(ctx(t), "01", cny(1000), good); err != nil {
				t.Errorf("a card good this month: %v", err)
			}
			txns := h.Transactions()
			if len(txns) != 2 || txns[0].State != switchtest.Declined || txns[0].Code != "54" || txns[1].State != switchtest.Approved {
				t.Errorf("ledger %+v", txns)
			}
		})
	}
}

package iso_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// A card is good through the last day of its expiry month (YYMM, 20YY).
func TestExpiryExpired(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		e    iso.Expiry
		at   time.Time
		want bool
	}{
		{"2611", time.Date(2026, 11, 30, 23, 59, 59, 0, loc), false},
		{"2611", time.Date(2026, 12, 1, 0, 0, 0, 0, loc), true},
		{"2612", time.Date(2026, 12, 31, 12, 0, 0, 0, loc), false},
		{"2612", time.Date(2027, 1, 1, 0, 0, 0, 0, loc), true}, // December rolls into the next year
		{"2001", time.Date(2026, 12, 2, 0, 0, 0, 0, loc), true},
		{"9912", time.Date(2026, 12, 2, 0, 0, 0, 0, loc), false},
		{"2613", time.Date(2030, 1, 1, 0, 0, 0, 0, loc), false}, // invalid: Validate's to refuse
		{"", time.Date(2030, 1, 1, 0, 0, 0, 0, loc), false},
	} {
		if got := c.e.Expired(c.at); got != c.want {
			t.Errorf("%s at %s: expired %v, want %v", string(c.e), c.at, got, c.want)
		}
	}
}

func TestCardCheckExpiry(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	keyed := iso.Card{PAN: "4111111111111111", Expiry: "2611", Entry: iso.EntryMode{Method: iso.EntryManual}}
	err := keyed.CheckExpiry(now)
	var ee *iso.ExpiredCardError
	if !errors.As(err, &ee) || !errors.Is(err, iso.ErrCardExpired) || !errors.Is(err, iso.ErrInvalidInput) {
		t.Fatalf("expired keyed card: %v", err)
	}
	if strings.Contains(err.Error(), "2611") || strings.Contains(err.Error(), "4111") {
		t.Errorf("the error shows card data: %v", err)
	}
	track := iso.Card{Track2: "4111111111111111=26111010000000000000", Entry: iso.EntryMode{Method: iso.EntryMagstripe}}
	if err := track.CheckExpiry(now); !errors.Is(err, iso.ErrCardExpired) {
		t.Errorf("expired track 2: %v", err)
	}
	if err := (iso.Card{PAN: "4111111111111111"}).CheckExpiry(now); err != nil {
		t.Errorf("a card without an expiry: %v", err)
	}
	keyed.Expiry = "2612"
	if err := keyed.CheckExpiry(now); err != nil {
		t.Errorf("a card good this month: %v", err)
	}
}

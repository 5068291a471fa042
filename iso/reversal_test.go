package iso_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
)

var swipedWithPIN = func(t *testing.T) iso.Card {
	return iso.Card{Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: pinBlock(t)}
}

// TestReversalCarriesNoSensitiveData: a reversal is built from the request
// it reverses minus track, PIN and ICC data outside the reversal tag list,
// keeps the STAN, and states the reason as its dialect spells it.
func TestReversalCarriesNoSensitiveData(t *testing.T) {
	reasons := map[string]map[iso.ReversalReason]string{
		"cup":   {iso.ReasonTimeout: "98", iso.ReasonBadReply: "06", iso.ReasonBadMAC: "A0", iso.ReasonCannotComplete: "06"},
		"iso87": {iso.ReasonTimeout: "68", iso.ReasonBadReply: "06", iso.ReasonBadMAC: "06", iso.ReasonCannotComplete: "22", iso.ReasonCustomerCancel: "17"},
	}
	for name, tc := range dialects(t) {
		sale, err := tc.d.BuildRequest(env(42), iso.SaleRequest{Amount: usdOrCNY(name), Card: swipedWithPIN(t)})
		if err != nil {
			t.Fatal(err)
		}
		// ICC data: track-2 equivalent (57), TVR (95) and ATC (9F36).
		sale.Set(55, "5708411111111111111F95050000008000"+"9F36020012")
		for reason, code := range reasons[name] {
			r, err := tc.d.Reversal(sale, reason, 0)
			if err != nil {
				t.Fatalf("%s %s: %v", name, reason, err)
			}
			if r.MTI != "0400" {
				t.Errorf("%s: MTI %s, want 0400", name, r.MTI)
			}
			for _, id := range []int{26, 35, 36, 52, 53} {
				if r.Has(id) {
					t.Errorf("%s %s: reversal carries F%d", name, reason, id)
				}
			}
			if got := r.Value(55); got != "95050000008000"+"9F36020012" {
				t.Errorf("%s: F55 = %s, want only tags 95 and 9F36", name, got)
			}
			if r.Value(11) != "000042" || r.Value(39) != code {
				t.Errorf("%s %s: F11 %s F39 %s, want 000042 and %s", name, reason, r.Value(11), r.Value(39), code)
			}
			if sale.Has(35) != true {
				t.Fatalf("building a reversal changed the original")
			}
		}
	}
}

func usdOrCNY(dialect string) iso.Amount {
	if dialect == "cup" {
		return cny
	}
	return usd
}

// TestReversalLadder: CUP resends the same 0400; ISO87 climbs 0400, 0401,
// then 0420 and 0421 after the configured attempts, with F90 naming the
// original and the PAN moved out of the stripped track.
func TestReversalLadder(t *testing.T) {
	ds := dialects(t)
	cupSale, _ := ds["cup"].d.BuildRequest(env(42), iso.SaleRequest{Amount: cny, Card: swipedWithPIN(t)})
	first, _ := ds["cup"].d.Reversal(cupSale, iso.ReasonTimeout, 0)
	for attempt := 1; attempt < 6; attempt++ {
		again, _ := ds["cup"].d.Reversal(cupSale, iso.ReasonTimeout, attempt)
		if again.String() != first.String() {
			t.Errorf("CUP attempt %d differs from the first 0400", attempt)
		}
	}

	for _, tc := range []struct {
		after int
		want  []string
	}{
		{3, []string{"0400", "0401", "0401", "0420", "0421", "0421"}},
		{1, []string{"0400", "0420", "0421"}},
		{0, []string{"0400", "0401", "0401", "0401"}},
	} {
		d, err := iso.ISO87(iso.WithClock(fixedClock), iso.WithAdviceAfter(tc.after))
		if err != nil {
			t.Fatal(err)
		}
		sale, _ := d.BuildRequest(env(42), iso.SaleRequest{Amount: usd, Card: swipedWithPIN(t)})
		for attempt, want := range tc.want {
			r, err := d.Reversal(sale, iso.ReasonTimeout, attempt)
			if err != nil {
				t.Fatal(err)
			}
			if r.MTI != want {
				t.Errorf("advice after %d, attempt %d: MTI %s, want %s", tc.after, attempt, r.MTI, want)
			}
			if r.Value(2) != panVisa.Digits() || r.Value(14) != "2812" {
				t.Errorf("PAN and expiry not moved out of the stripped track: F2 %q F14 %q", iso.PAN(r.Value(2)), r.Value(14))
			}
			if want := "0200" + "000042" + "0314103015" + "0000000000000000000000"; r.Value(90) != want {
				t.Errorf("F90 = %s, want %s", r.Value(90), want)
			}
		}
	}
}

// TestRecoveryPerKind: what each dialect does with an unknown outcome.
func TestRecoveryPerKind(t *testing.T) {
	want := map[string]map[string]iso.Recovery{
		"cup": {"sale": iso.RecoveryReverse, "payment_code_sale": iso.RecoveryReverse, "void": iso.RecoveryReverse,
			"refund": iso.RecoveryRepeat, "balance_inquiry": iso.RecoveryNone, "sign_on": iso.RecoveryNone,
			"qr_order_create": iso.RecoveryNone, "qr_order_query": iso.RecoveryNone, "settlement": iso.RecoveryNone},
		"iso87": {"sale": iso.RecoveryReverse, "payment_code_sale": iso.RecoveryReverse, "refund": iso.RecoveryReverse,
			"void": iso.RecoveryRepeat, "balance_inquiry": iso.RecoveryNone, "sign_on": iso.RecoveryNone,
			"qr_order_close": iso.RecoveryNone, "settlement": iso.RecoveryNone},
	}
	for name, tc := range dialects(t) {
		for _, f := range tc.fixtures {
			w, ok := want[name][f.name]
			if !ok {
				continue
			}
			req, err := tc.d.BuildRequest(f.env, f.req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.d.Recovery(req)
			if err != nil || got != w {
				t.Errorf("%s %s: recovery %s (%v), want %s", name, f.name, got, err, w)
			}
			_, revErr := tc.d.Reversal(req, iso.ReasonTimeout, 0)
			_, repErr := tc.d.Repeat(req, 1)
			if (revErr == nil) != (w == iso.RecoveryReverse) || (repErr == nil) != (w == iso.RecoveryRepeat) {
				t.Errorf("%s %s: Reversal err %v, Repeat err %v, for recovery %s", name, f.name, revErr, repErr, w)
			}
			if revErr != nil && !errors.Is(revErr, iso.ErrUnsupported) {
				t.Errorf("%s %s: Reversal refused with %v, want ErrUnsupported", name, f.name, revErr)
			}
		}
	}
}

// TestReversalDone: 00, and 12 / 25 (nothing to reverse) end a reversal by
// default; the list is configurable.
func TestReversalDone(t *testing.T) {
	d, _ := iso.CUP()
	for code, want := range map[iso.ResponseCode]bool{"00": true, "12": true, "25": true, "05": false, "96": false, "": false} {
		if d.ReversalDone(code) != want {
			t.Errorf("ReversalDone(%q) = %v", code, !want)
		}
	}
	strict, _ := iso.ISO87(iso.WithReversalDoneCodes())
	if strict.ReversalDone("25") || !strict.ReversalDone("00") {
		t.Error("WithReversalDoneCodes() must leave only 00")
	}
}

// TestDateNearestTheClock: a reply dated 31 December read on 1 January is
// last year's.
func TestDateNearestTheClock(t *testing.T) {
	newYear := time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC)
	d, _ := iso.ISO87(iso.WithClock(func() time.Time { return newYear }))
	req, _ := d.BuildRequest(env(5), iso.EchoRequest{})
	reply, err := d.BuildResponse(req, iso.NetworkResponse{Of: iso.KindEcho, Reply: iso.Reply{Code: "00",
		HostTime: time.Date(2026, 12, 31, 23, 59, 58, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.ParseResponse(req, reply)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.(iso.NetworkResponse).HostTime; got.Year() != 2026 {
		t.Errorf("host time %v, want the year before the clock's", got)
	}
}

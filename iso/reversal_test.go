package iso_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
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
// then 0420 and 0421 after the configured attempts, the PAN moved out of
// the stripped track, a fresh F7 on every attempt; host-to-host F90 names
// the original (MTI, STAN, its F7), the terminal profile sends none
// (resza/MAB source/tranproc.c TranReversal: a copy of the request).
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

	later := fixtureTime.Add(90 * time.Second)
	for _, tc := range []struct {
		after   int
		profile iso87.Profile
		want    []string
	}{
		{3, iso87.ProfileHostToHost, []string{"0400", "0401", "0401", "0420", "0421", "0421"}},
		{1, iso87.ProfileHostToHost, []string{"0400", "0420", "0421"}},
		{0, iso87.ProfileHostToHost, []string{"0400", "0401", "0401", "0401"}},
		{3, iso87.ProfileTerminal, []string{"0400", "0401", "0401", "0420", "0421"}},
	} {
		now := fixtureTime
		d, err := iso87.New(iso.WithClock(func() time.Time { return now }), iso87.WithAdviceAfter(tc.after), iso87.WithProfile(tc.profile))
		if err != nil {
			t.Fatal(err)
		}
		sale, _ := d.BuildRequest(env(42), iso.SaleRequest{Amount: usd, Card: swipedWithPIN(t)})
		now = later // the reversals go out 90 s after the sale
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
			if r.Value(7) != "0314103145" || r.Value(11) != "000042" {
				t.Errorf("F7 %s F11 %s, want a fresh F7 0314103145 and the original's STAN", r.Value(7), r.Value(11))
			}
			want := "0200" + "000042" + "0314103015" + "0000000000000000000000"
			if tc.profile == iso87.ProfileTerminal {
				want = ""
			}
			if r.Value(90) != want {
				t.Errorf("%s: F90 = %q, want %q", tc.profile, r.Value(90), want)
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
			"void": iso.RecoveryReverse, "balance_inquiry": iso.RecoveryNone, "sign_on": iso.RecoveryNone,
			"qr_order_close": iso.RecoveryNone, "settlement": iso.RecoveryNone},
		"iso87_h2h": {"sale": iso.RecoveryReverse, "payment_code_sale": iso.RecoveryReverse, "refund": iso.RecoveryReverse,
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

// TestRecoveryOutcome: each kind of recovery has its own rule, per
// response-code class. A reversal ends on 00 and on 12 / 25 (nothing to
// reverse; configurable) and is retried on anything else; a repeat (CUP
// refund advice, ISO87 void) is approved on an approval code, a duplicate
// on 94, sent again on a code that says the host did not act on it (retry
// and re-sign-on classes: 30, 96, 68, A0, 63), and declined on every other
// code, 12 and 25 included.
func TestRecoveryOutcome(t *testing.T) {
	cupD, _ := cup.New()
	i87, _ := iso87.New()
	rev := map[iso.ResponseCode]iso.RecoveryOutcome{"00": iso.OutcomeReversed, "12": iso.OutcomeReversed,
		"25": iso.OutcomeReversed, "94": iso.OutcomeRetry, "13": iso.OutcomeRetry, "51": iso.OutcomeRetry,
		"64": iso.OutcomeRetry, "96": iso.OutcomeRetry, "30": iso.OutcomeRetry, "05": iso.OutcomeRetry,
		"A0": iso.OutcomeRetry, "": iso.OutcomeRetry}
	rep := map[iso.ResponseCode]iso.RecoveryOutcome{"00": iso.OutcomeApproved, "94": iso.OutcomeDuplicate,
		"12": iso.OutcomeDeclined, "25": iso.OutcomeDeclined, "13": iso.OutcomeDeclined, "51": iso.OutcomeDeclined,
		"64": iso.OutcomeDeclined, "96": iso.OutcomeRetry, "30": iso.OutcomeRetry, "05": iso.OutcomeDeclined,
		"A0": iso.OutcomeRetry, "63": iso.OutcomeRetry, "68": iso.OutcomeRetry, "97": iso.OutcomeDeclined, "": iso.OutcomeDeclined}
	for _, d := range []iso.Dialect{cupD, i87} {
		for code, want := range rev {
			if got := d.RecoveryOutcome(iso.RecoveryReverse, code); got != want {
				t.Errorf("%s reversal answered %q: %s, want %s", d.Name(), code, got, want)
			}
		}
		for code, want := range rep {
			if got := d.RecoveryOutcome(iso.RecoveryRepeat, code); got != want {
				t.Errorf("%s repeat answered %q: %s, want %s", d.Name(), code, got, want)
			}
		}
	}
	strict, _ := iso87.New(iso.WithReversalDoneCodes())
	if strict.RecoveryOutcome(iso.RecoveryReverse, "25") != iso.OutcomeRetry ||
		strict.RecoveryOutcome(iso.RecoveryReverse, "00") != iso.OutcomeReversed {
		t.Error("WithReversalDoneCodes() must leave only 00")
	}
	wide, _ := cup.New(iso.WithReversalDoneCodes("12", "25", "94"))
	if wide.RecoveryOutcome(iso.RecoveryReverse, "94") != iso.OutcomeReversed ||
		wide.RecoveryOutcome(iso.RecoveryRepeat, "25") != iso.OutcomeDeclined {
		t.Error("the reversal done codes must end reversals only, never approve or end a repeat")
	}
}

// TestCheckDuplicate: a 94 counts only when the reply shows the request's
// terminal, STAN and amount.
func TestCheckDuplicate(t *testing.T) {
	req := &iso.Message{MTI: "0220"}
	req.Set(4, "000000001000")
	req.Set(11, "000042")
	req.Set(41, "TERM0001")
	reply := func(f4, f11, f41 string) *iso.Message {
		m := &iso.Message{MTI: "0230"}
		for id, v := range map[int]string{4: f4, 11: f11, 41: f41} {
			if v != "" {
				m.Set(id, v)
			}
		}
		m.Set(39, "94")
		return m
	}
	if err := iso.CheckDuplicate(req, reply("000000001000", "000042", "TERM0001")); err != nil {
		t.Errorf("the same request: %v", err)
	}
	for name, m := range map[string]*iso.Message{
		"other amount":   reply("000000000999", "000042", "TERM0001"),
		"no amount":      reply("", "000042", "TERM0001"),
		"other STAN":     reply("000000001000", "000043", "TERM0001"),
		"other terminal": reply("000000001000", "000042", "TERM0002"),
		"no terminal":    reply("000000001000", "000042", ""),
	} {
		if err := iso.CheckDuplicate(req, m); !errors.Is(err, iso.ErrBadReply) {
			t.Errorf("%s: %v, want a ReplyError", name, err)
		}
	}
}

// TestRules: CUP voids only on the day and batch of the sale, needs the PAN
// after the fact and gives a recovery 4 sends; ISO87 neither, and 12.
func TestRules(t *testing.T) {
	cupD, _ := cup.New()
	if r := cupD.Rules(); !r.VoidSameDay || !r.StoredPAN || r.Recovery != (iso.RecoveryLimits{PerTrigger: 4, Total: 4}) {
		t.Errorf("CUP rules %+v", r)
	}
	i87, _ := iso87.New()
	if r := i87.Rules(); r.VoidSameDay || r.StoredPAN || r.Recovery != (iso.RecoveryLimits{PerTrigger: 4, Total: 12}) {
		t.Errorf("ISO87 rules %+v", r)
	}
	late, _ := iso87.New(iso87.WithAdviceAfter(10))
	if r := late.Rules(); r.Recovery.Total != 18 {
		t.Errorf("with the advice after 10 attempts, %d sends in all, want 18", r.Recovery.Total)
	}
}

// TestReversalAfterRefusal: after a refused reversal the next one says 06.
func TestReversalAfterRefusal(t *testing.T) {
	for _, mk := range []func(...iso.Option) (iso.Dialect, error){cup.New, iso87.New} {
		d, _ := mk()
		cur := iso.CNY
		if d.Name() == "ISO87" {
			cur = iso.USD
		}
		req, err := d.BuildRequest(env(7), iso.SaleRequest{Amount: iso.Amount{Minor: 100, Currency: cur},
			Card: iso.Card{PAN: "4761739001010119", Entry: iso.EntryMode{Method: iso.EntryManual}}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Reversal(req, iso.ReasonRefused, 1)
		if err != nil || r.Value(39) != "06" {
			t.Errorf("%s: F39 %q (%v), want 06", d.Name(), r.Value(39), err)
		}
	}
}

// TestDateNearestTheClock: a reply dated 31 December read on 1 January is
// last year's.
func TestDateNearestTheClock(t *testing.T) {
	newYear := time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC)
	d, _ := iso87.New(iso.WithClock(func() time.Time { return newYear }))
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

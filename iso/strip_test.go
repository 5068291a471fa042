package iso_test

import (
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
)

// TestStripSensitive: the storable copy of a swiped PIN sale keeps what a
// reversal needs (PAN and expiry moved out of the track, STAN, amount) and
// nothing a journal must not hold, and reverses like the original.
func TestStripSensitive(t *testing.T) {
	for name, tc := range dialects(t) {
		card := iso.Card{Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: pinBlock(t)}
		m, err := tc.d.BuildRequest(env(42), iso.SaleRequest{Amount: usdOrCNY(name), Card: card})
		if err != nil {
			t.Fatal(err)
		}
		m.Set(55, "5708411111111111111F"+"9F36020012")
		s := iso.StripSensitive(m)
		for _, id := range []int{26, 35, 36, 45, 52, 53, 64, 128} {
			if s.Has(id) {
				t.Errorf("%s: stored copy has F%d", name, id)
			}
		}
		if s.Value(2) != panVisa.Digits() || s.Value(14) != "2812" || s.Value(11) != "000042" || s.Value(55) != "9F36020012" {
			t.Errorf("%s: stored copy %v", name, s)
		}
		if !m.Has(35) || !m.Has(52) {
			t.Errorf("%s: stripping changed the original", name)
		}
		fromStored, err := tc.d.Reversal(s, iso.ReasonTimeout, 0)
		if err != nil {
			t.Fatal(err)
		}
		fromOriginal, _ := tc.d.Reversal(m, iso.ReasonTimeout, 0)
		fromOriginal.Set(2, panVisa.Digits())
		fromOriginal.Set(14, "2812")
		if fromStored.String() != fromOriginal.String() {
			t.Errorf("%s: reversal from the stored copy\n %s\ndiffers from the original's\n %s", name, fromStored, fromOriginal)
		}
	}
}

// TestCUPUploadWithoutPAN: a journal without a data key keeps only masked
// PANs; CUP's upload record then carries zeros where the PAN goes.
func TestCUPUploadWithoutPAN(t *testing.T) {
	d := dialects(t)["cup"].d
	m, err := d.BuildRequest(env(61), iso.BatchUploadRequest{Entries: []iso.BatchEntry{{Kind: iso.KindSale, STAN: 42, Amount: cny}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "01" + "00" + "000042" + strings.Repeat("0", 20) + "000000012345"; m.Value(48) != want {
		t.Errorf("F48 = %s, want %s", m.Value(48), want)
	}
}

// TestSpecOf: the spec a shipped dialect packs with is the one moov-io's
// own Pack uses to produce the same bytes.
func TestSpecOf(t *testing.T) {
	for name, tc := range dialects(t) {
		spec, ok := iso.SpecOf(tc.d)
		if !ok || spec == nil || spec.Fields[2] == nil {
			t.Fatalf("%s: no spec", name)
		}
	}
	if _, ok := iso.SpecOf(nil); ok {
		t.Error("SpecOf(nil) reported a spec")
	}
}

// TestSignOnRequested: CUP's header asks for a new sign-on with processing
// requirement 3; other values and ISO87 frames do not.
func TestSignOnRequested(t *testing.T) {
	ds := dialects(t)
	for nibble, want := range map[byte]bool{0: false, 1: false, 3: true} {
		fr := iso.Frame{Header: []byte{0x60, 0x31, 0x00 | nibble, 0, 0, 0}}
		if got := ds["cup"].d.SignOnRequested(fr); got != want {
			t.Errorf("CUP nibble %d: %v", nibble, got)
		}
	}
	if ds["iso87"].d.SignOnRequested(iso.Frame{}) {
		t.Error("ISO87 asked for a sign-on")
	}
}

package iso_test

import (
	"bytes"
	"errors"
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

// TestHostRequirement: the low nibble of a CUP reply header's third byte is
// the host's processing requirement (CaoEnXin/LiaoYang_POS Src/trancomm.c
// OnlineDownOrUp: 3 sign on again, 1/2/4–7 downloads and uploads); ISO87
// frames carry none.
func TestHostRequirement(t *testing.T) {
	ds := dialects(t)
	for nibble, want := range map[byte]iso.HostRequirement{0: iso.RequireNone, 1: iso.RequireParameterDownload,
		2: iso.RequireStatusUpload, 3: iso.RequireSignOn, 4: iso.RequireCAPKDownload, 5: iso.RequireICParameterDownload,
		6: iso.RequireTMSDownload, 7: iso.RequireBlacklistDownload, 9: iso.HostRequirement(9)} {
		// Status nibble 1 (test) must not disturb the reading.
		fr := iso.Frame{Header: []byte{0x60, 0x31, 0x10 | nibble, 0, 0, 0}}
		if got := ds["cup"].d.Requirement(fr); got != want {
			t.Errorf("CUP nibble %d: %v, want %v", nibble, got, want)
		}
		set, err := iso.SetHostRequirement(iso.Frame{Header: []byte{0x60, 0x31, 0x10, 0, 0, 0}}, want)
		if err != nil || !bytes.Equal(set.Header, fr.Header) {
			t.Errorf("SetHostRequirement(%v): % X, %v; want % X", want, set.Header, err, fr.Header)
		}
	}
	if got := ds["iso87"].d.Requirement(iso.Frame{}); got != iso.RequireNone {
		t.Errorf("ISO87 frame asked for %v", got)
	}
	if _, err := iso.SetHostRequirement(iso.Frame{}, iso.RequireSignOn); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("SetHostRequirement on a frame without a CUP header: %v", err)
	}
	if _, err := iso.SetHostRequirement(iso.Frame{Header: make([]byte, 6)}, 16); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("SetHostRequirement(16): %v", err)
	}
	if s := iso.RequireCAPKDownload.String(); s != "download IC CA public keys" {
		t.Errorf("String: %q", s)
	}
}

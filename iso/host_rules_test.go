package iso_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// TestRecordedRequestsMeetTheHostRules: every request posswitch records in
// testdata carries the fields the dialect's published specification makes
// mandatory, and a MAC where the host demands one. A builder that drops a
// mandatory field fails here before a strict host refuses it.
func TestRecordedRequestsMeetTheHostRules(t *testing.T) {
	for _, name := range []string{"cup", "iso87", "iso87_h2h"} {
		d := dialectByName(t, name)
		rules, ok := d.(iso.HostRules)
		if !ok {
			t.Fatalf("%s does not implement iso.HostRules", name)
		}
		paths, err := filepath.Glob(filepath.Join("..", "testdata", name, "*.json"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("%s fixtures: %v", name, err)
		}
		checked := 0
		for _, p := range paths {
			if strings.Contains(filepath.Base(p), "_response") {
				continue
			}
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]string
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			m, err := iso.MessageFromFields(fields)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			_, req, err := d.ParseRequest(m)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			for _, id := range rules.MandatoryFields(req) {
				if !m.Has(id) {
					t.Errorf("%s: a %s without mandatory F%d", p, req.Kind(), id)
				}
			}
			if rules.MACRequired(req.Kind()) && !m.Has(64) && !m.Has(128) {
				t.Errorf("%s: a %s without a MAC", p, req.Kind())
			}
			checked++
		}
		if checked < 10 {
			t.Errorf("%s: only %d requests checked", name, checked)
		}
	}
}

// TestSalvage: the MTI and the fields before the first one that does not
// decode come back; bytes that do not even hold an MTI and bitmap give nil.
func TestSalvage(t *testing.T) {
	d := dialectByName(t, "cup")
	// 0200, bitmap with F11, F41 and F60 (00 20 00 00 00 80 00 10), F11
	// 000123, F41 "TERM0001", then F60 with BCD length 0018, over its
	// maximum of 17 digits (CUP n..017).
	body, _ := hex.DecodeString("0200" + "0020000000800010" + "000123" + "5445524D30303031" + "0018" + "220000010000000000")
	if _, err := d.Decode(body); err == nil {
		t.Fatal("Decode accepted an F60 over its maximum")
	}
	m := iso.Salvage(d, body)
	if m == nil || m.MTI != "0200" || m.Value(11) != "000123" || m.Value(41) != "TERM0001" || m.Has(60) {
		t.Fatalf("salvaged %v", m)
	}
	if m := iso.Salvage(d, []byte{0x02}); m != nil {
		t.Errorf("salvaged %v from one byte", m)
	}
}

func dialectByName(t *testing.T, name string) iso.Dialect {
	t.Helper()
	var d iso.Dialect
	var err error
	switch name {
	case "cup":
		d, err = cup.New()
	case "iso87_h2h":
		d, err = iso87.New(iso87.WithProfile(iso87.ProfileHostToHost))
	default:
		d, err = iso87.New()
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestCUPEchoWithoutSTAN: the CUP reference terminal sends its echo test
// with no F11 (CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField); a host
// reads it as an echo, and F11 is not among its mandatory fields.
func TestCUPEchoWithoutSTAN(t *testing.T) {
	d := dialectByName(t, "cup")
	m, err := iso.MessageFromFields(map[string]string{"0": "0820", "41": "TERM0001", "42": "898310048161234", "60": "00000001301"})
	if err != nil {
		t.Fatal(err)
	}
	env, req, err := d.ParseRequest(m)
	if err != nil || req.Kind() != iso.KindEcho || env.Terminal != "TERM0001" {
		t.Fatalf("%v %v %v", env, req, err)
	}
	for _, id := range d.(iso.HostRules).MandatoryFields(req) {
		if !m.Has(id) {
			t.Errorf("F%d mandatory on an echo", id)
		}
	}
}

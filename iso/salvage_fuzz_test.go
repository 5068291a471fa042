package iso_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// Salvage runs on bytes Decode refused, from the network: it must never
// panic, and on bytes Decode accepts it must read the same fields.

func FuzzSalvageCUP(f *testing.F)   { fuzzSalvage(f, "cup") }
func FuzzSalvageISO87(f *testing.F) { fuzzSalvage(f, "iso87") }

func fuzzSalvage(f *testing.F, name string) {
	d := dialects(f)[name].d
	for _, body := range fixtureBodies(f, d, name) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := iso.Salvage(d, body)
		m, err := d.Decode(body)
		if err != nil {
			return
		}
		if s == nil {
			t.Fatal("Salvage read nothing of a message Decode accepts")
		}
		if diff := cmp.Diff(m.Fields(), s.Fields()); diff != "" {
			t.Fatalf("Salvage and Decode disagree:\n%s", diff)
		}
	})
}

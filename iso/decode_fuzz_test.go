package iso_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"encoding/hex"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// Fuzzing every decoder a host or terminal runs on bytes from the network:
// decode, then parse as a request (what a host does) and as a reply to each
// recorded request (what a terminal does). Arbitrary bytes must come back as
// an error or a message, never a panic; a decoded message must survive
// re-encoding with the same fields. The seed corpus under testdata/fuzz is run by plain
// go test; go test -fuzz=FuzzDecodeCUP ./iso explores further.

func FuzzDecodeCUP(f *testing.F)   { fuzzDecode(f, "cup") }
func FuzzDecodeISO87(f *testing.F) { fuzzDecode(f, "iso87") }

// FuzzDecodeISO87HostToHost runs the same over ProfileHostToHost.
func FuzzDecodeISO87HostToHost(f *testing.F) { fuzzDecode(f, "iso87_h2h") }

func fuzzDecode(f *testing.F, name string) {
	tc := dialects(f)[name]
	d := tc.d
	var requests []*iso.Message
	for _, fx := range tc.fixtures {
		requests = append(requests, spell(f, d, fx).req)
	}
	for _, path := range fixtureBodies(f, d, name) {
		f.Add(path)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := d.Decode(body)
		if err != nil {
			if !errors.Is(err, iso.ErrMalformed) {
				t.Fatalf("decode error %v does not match ErrMalformed", err)
			}
			return
		}
		// Decoders are lenient where moov's are, so the bytes may not come
		// back identical; the fields must.
		if again, err := d.Encode(m.Clone(), nil); err == nil {
			m2, err := d.Decode(again)
			if err != nil {
				t.Fatalf("re-encoded message does not decode: %v", err)
			}
			if diff := cmp.Diff(m.Fields(), m2.Fields()); diff != "" {
				t.Fatalf("fields change through encode and decode:\n%s", diff)
			}
		}
		_, _, _ = d.ParseRequest(m)
		_, _ = d.Recovery(m)
		for _, req := range requests {
			_ = iso.CheckReply(req, m, nil)
			_, _ = d.ParseResponse(req, m)
		}
		_ = m.Dump()
	})
}

// fixtureBodies returns the message bodies of the recorded frames, the seeds
// that reach every field of the dialect.
func fixtureBodies(f *testing.F, d iso.Dialect, name string) [][]byte {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", name, "*.hex"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures for %s: %v", name, err)
	}
	var out [][]byte
	for _, p := range paths {
		text, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(text)))
		if err != nil {
			f.Fatal(err)
		}
		fr, err := d.Framing().ParseFrame(raw)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, fr.Body)
	}
	return out
}

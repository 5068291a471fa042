package iso

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// fuzzFramings are the layouts the fuzzer chooses from with its selector
// byte: every prefix × TPDU × header combination, plus small limits so
// that boundary lengths are reachable with short inputs.
var fuzzFramings = append(allFramings(),
	Framing{MaxLength: 16},
	Framing{Prefix: LengthASCII4, TPDU: true, HeaderLen: 6, MaxLength: 20},
)

func FuzzReadFrame(f *testing.F) {
	for i, fr := range fuzzFramings {
		for _, body := range []string{"0", "0800\x82\x20\x00\x00"} {
			wire, err := fr.AppendFrame(nil, sampleFrame(fr, []byte(body)))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(byte(i), wire)
		}
	}
	f.Add(byte(0), []byte{})
	f.Add(byte(4), []byte("00a1"))

	f.Fuzz(func(t *testing.T, sel byte, data []byte) {
		fm := fuzzFramings[int(sel)%len(fuzzFramings)]
		r := bytes.NewReader(data)
		fr, err := fm.ReadFrame(r)
		consumed := len(data) - r.Len()
		pf, perr := fm.ParseFrame(data)
		if perr != nil && !errors.Is(perr, ErrFrame) {
			t.Fatalf("ParseFrame error %v does not match ErrFrame", perr)
		}
		if err != nil {
			if err == io.EOF {
				if len(data) != 0 {
					t.Fatalf("io.EOF on %d bytes of input", len(data))
				}
			} else if !errors.Is(err, ErrFrame) {
				t.Fatalf("ReadFrame error %v does not match ErrFrame", err)
			}
			if perr == nil {
				t.Fatalf("ParseFrame accepted what ReadFrame refused (%v)", err)
			}
			return
		}
		if len(fr.Header) != fm.HeaderLen || len(fr.Body) == 0 {
			t.Fatalf("frame breaks layout: header %d body %d", len(fr.Header), len(fr.Body))
		}
		out, err := fm.AppendFrame(nil, fr)
		if err != nil {
			t.Fatalf("AppendFrame of a read frame: %v", err)
		}
		if !bytes.Equal(out, data[:consumed]) {
			t.Fatalf("re-encoded % X, consumed % X", out, data[:consumed])
		}
		if consumed == len(data) {
			if perr != nil || !framesEqual(pf, fr) {
				t.Fatalf("ParseFrame = %+v, %v; ReadFrame = %+v", pf, perr, fr)
			}
		} else {
			var fe *FrameError
			if !errors.As(perr, &fe) || fe.Reason != FrameLengthMismatch {
				t.Fatalf("trailing bytes: ParseFrame err = %v, want FrameLengthMismatch", perr)
			}
		}
	})
}

package iso

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

var (
	testTPDU   = TPDU{0x60, 0x00, 0x32, 0x00, 0x00}
	testHeader = []byte{0x60, 0x31, 0x00, 0x00, 0x00, 0x00}
)

// allFramings is every prefix × TPDU on/off × header 0/6 combination.
func allFramings() []Framing {
	var out []Framing
	for _, p := range []LengthPrefix{LengthBinary2, LengthASCII4} {
		for _, tp := range []bool{false, true} {
			for _, h := range []int{0, 6} {
				out = append(out, Framing{Prefix: p, TPDU: tp, HeaderLen: h})
			}
		}
	}
	return out
}

// sampleFrame builds a frame that fits f, with the given body.
func sampleFrame(f Framing, body []byte) Frame {
	fr := Frame{Body: body}
	if f.TPDU {
		fr.TPDU = testTPDU
	}
	if f.HeaderLen > 0 {
		fr.Header = testHeader[:f.HeaderLen]
	}
	return fr
}

// expectedWire spells the frame independently of AppendFrame.
func expectedWire(f Framing, fr Frame) []byte {
	var rest []byte
	if f.TPDU {
		rest = append(rest, fr.TPDU[:]...)
	}
	rest = append(append(rest, fr.Header...), fr.Body...)
	if f.Prefix == LengthASCII4 {
		return append([]byte(fmt.Sprintf("%04d", len(rest))), rest...)
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(rest))), rest...)
}

func name(f Framing) string {
	return fmt.Sprintf("%v/tpdu=%v/hdr=%d", f.Prefix, f.TPDU, f.HeaderLen)
}

func framesEqual(a, b Frame) bool {
	return a.TPDU == b.TPDU && bytes.Equal(a.Header, b.Header) && bytes.Equal(a.Body, b.Body)
}

// wantFrameErr asserts err is a *FrameError with the reason and matches ErrFrame.
func wantFrameErr(t *testing.T, err error, reason FrameErrorReason) *FrameError {
	t.Helper()
	var fe *FrameError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want *FrameError %v", err, err, reason)
	}
	if fe.Reason != reason {
		t.Fatalf("reason = %v, want %v (err %v)", fe.Reason, reason, err)
	}
	if !errors.Is(err, ErrFrame) {
		t.Fatalf("errors.Is(%v, ErrFrame) = false", err)
	}
	return fe
}

func TestFrameRoundTrip(t *testing.T) {
	bodies := [][]byte{[]byte("0"), []byte("0800822000000000000004000000000000001"), bytes.Repeat([]byte{0xA5}, 1000)}
	for _, f := range allFramings() {
		t.Run(name(f), func(t *testing.T) {
			var buf bytes.Buffer
			var want []byte
			for _, body := range bodies {
				fr := sampleFrame(f, body)
				exp := expectedWire(f, fr)
				want = append(want, exp...)
				got, err := f.AppendFrame(nil, fr)
				if err != nil || !bytes.Equal(got, exp) {
					t.Fatalf("AppendFrame = % X, %v; want % X", got, err, exp)
				}
				if p, err := f.ParseFrame(got); err != nil || !framesEqual(p, fr) {
					t.Fatalf("ParseFrame = %+v, %v", p, err)
				}
				if err := f.WriteFrame(&buf, fr); err != nil {
					t.Fatalf("WriteFrame: %v", err)
				}
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("stream = % X, want % X", buf.Bytes(), want)
			}
			for _, body := range bodies {
				fr, err := f.ReadFrame(&buf)
				if err != nil || !framesEqual(fr, sampleFrame(f, body)) {
					t.Fatalf("ReadFrame = %+v, %v", fr, err)
				}
			}
			if _, err := f.ReadFrame(&buf); err != io.EOF {
				t.Fatalf("after last frame err = %v, want io.EOF", err)
			}
		})
	}
}

func TestFrameExactLayout(t *testing.T) {
	tp, err := ParseTPDU("6000320000")
	if err != nil {
		t.Fatal(err)
	}
	fr := Frame{TPDU: tp, Header: []byte{0x60, 0x31, 0, 0, 0, 0}, Body: []byte("abc")}
	rest := []byte{0x60, 0x00, 0x32, 0x00, 0x00, 0x60, 0x31, 0x00, 0x00, 0x00, 0x00, 'a', 'b', 'c'}
	cases := []struct {
		f    Framing
		want []byte
	}{
		{Framing{TPDU: true, HeaderLen: 6}, append([]byte{0x00, 0x0E}, rest...)},
		{Framing{Prefix: LengthASCII4, TPDU: true, HeaderLen: 6}, append([]byte("0014"), rest...)},
		{Framing{}, []byte{0x00, 0x03, 'a', 'b', 'c'}},
		{Framing{Prefix: LengthASCII4}, []byte("0003abc")},
	}
	for _, c := range cases {
		in := fr
		if !c.f.TPDU {
			in = Frame{Body: fr.Body}
		}
		var buf bytes.Buffer
		if err := c.f.WriteFrame(&buf, in); err != nil || !bytes.Equal(buf.Bytes(), c.want) {
			t.Errorf("%s: wrote % X, %v; want % X", name(c.f), buf.Bytes(), err, c.want)
		}
	}
}

// writeRecorder records every Write call separately.
type writeRecorder struct{ calls [][]byte }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.calls = append(w.calls, append([]byte(nil), p...))
	return len(p), nil
}

func TestWriteFrameSingleWrite(t *testing.T) {
	for _, f := range allFramings() {
		var w writeRecorder
		fr := sampleFrame(f, []byte("0200hello"))
		if err := f.WriteFrame(&w, fr); err != nil {
			t.Fatal(err)
		}
		if len(w.calls) != 1 || !bytes.Equal(w.calls[0], expectedWire(f, fr)) {
			t.Errorf("%s: writes = %q, want one write", name(f), w.calls)
		}
	}
}

func TestWriteFrameRefuses(t *testing.T) {
	cup := Framing{TPDU: true, HeaderLen: 6}
	cases := []struct {
		name   string
		f      Framing
		fr     Frame
		reason FrameErrorReason
	}{
		{"short header", cup, Frame{TPDU: testTPDU, Header: []byte{1, 2}, Body: []byte("x")}, FrameBadLayout},
		{"missing header", cup, Frame{TPDU: testTPDU, Body: []byte("x")}, FrameBadLayout},
		{"unexpected header", Framing{}, Frame{Header: []byte{1}, Body: []byte("x")}, FrameBadLayout},
		{"unexpected TPDU", Framing{}, Frame{TPDU: testTPDU, Body: []byte("x")}, FrameBadLayout},
		{"empty body", cup, Frame{TPDU: testTPDU, Header: testHeader}, FrameBadLayout},
		{"too long default", Framing{}, Frame{Body: make([]byte, DefaultMaxFrameLength+1)}, FrameTooLong},
		{"too long custom", Framing{TPDU: true, HeaderLen: 6, MaxLength: 20}, Frame{Header: testHeader, Body: make([]byte, 10)}, FrameTooLong},
	}
	for _, c := range cases {
		var w writeRecorder
		fe := wantFrameErr(t, c.f.WriteFrame(&w, c.fr), c.reason)
		if len(w.calls) != 0 {
			t.Errorf("%s: %d writes after refusal", c.name, len(w.calls))
		}
		if c.reason == FrameTooLong && (fe.Length <= fe.Max || fe.Max == 0) {
			t.Errorf("%s: Length %d Max %d", c.name, fe.Length, fe.Max)
		}
		if out, err := c.f.AppendFrame([]byte("keep"), c.fr); err == nil || string(out) != "keep" {
			t.Errorf("%s: AppendFrame = %q, %v", c.name, out, err)
		}
	}
	// Exactly at the limit is fine.
	f := Framing{TPDU: true, HeaderLen: 6, MaxLength: 20}
	if err := f.WriteFrame(io.Discard, Frame{Header: testHeader, Body: make([]byte, 9)}); err != nil {
		t.Errorf("frame of exactly MaxLength: %v", err)
	}
}

// countingReader counts the bytes handed out by the underlying reader.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadFrameTooLongConsumesOnlyPrefix(t *testing.T) {
	cases := []struct {
		f      Framing
		stream []byte
		length int
	}{
		{Framing{}, append([]byte{0xFF, 0xFF}, make([]byte, 70000)...), 65535},
		{Framing{}, append([]byte{0x20, 0x01}, make([]byte, 9000)...), 8193},
		{Framing{Prefix: LengthASCII4, MaxLength: 100}, append([]byte("9999"), make([]byte, 10000)...), 9999},
		{Framing{TPDU: true, MaxLength: 20}, append([]byte{0, 21}, make([]byte, 21)...), 21},
	}
	for _, c := range cases {
		cr := &countingReader{r: bytes.NewReader(c.stream)}
		fe := wantFrameErr(t, func() error { _, err := c.f.ReadFrame(cr); return err }(), FrameTooLong)
		if fe.Length != c.length || fe.Max != c.f.maxLength() {
			t.Errorf("%s: Length %d Max %d, want %d %d", name(c.f), fe.Length, fe.Max, c.length, c.f.maxLength())
		}
		if cr.n != c.f.Prefix.size() {
			t.Errorf("%s: read %d bytes, want only the %d-byte prefix", name(c.f), cr.n, c.f.Prefix.size())
		}
		wantFrameErr(t, func() error { _, err := c.f.ParseFrame(c.stream[:c.f.Prefix.size()+c.length]); return err }(), FrameTooLong)
	}
	// A hostile prefix must not cost a large allocation.
	f, stream := Framing{}, []byte{0xFF, 0xFF}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		_, _ = f.ReadFrame(bytes.NewReader(stream))
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 1024 {
		t.Errorf("ReadFrame of an oversize prefix allocated %d bytes per call", per)
	}
}

func TestReadFrameTooShort(t *testing.T) {
	cup := Framing{TPDU: true, HeaderLen: 6}
	for _, in := range [][]byte{{0, 0}, {0, 11}, append([]byte{0, 11}, make([]byte, 11)...)} {
		fe := wantFrameErr(t, func() error { _, err := cup.ReadFrame(bytes.NewReader(in)); return err }(), FrameTooShort)
		if fe.Length != int(in[1]) {
			t.Errorf("Length = %d, want %d", fe.Length, in[1])
		}
	}
	wantFrameErr(t, func() error {
		_, err := (Framing{Prefix: LengthASCII4}).ReadFrame(strings.NewReader("0000"))
		return err
	}(), FrameTooShort)
}

func TestReadFrameTruncated(t *testing.T) {
	for _, f := range allFramings() {
		wire := expectedWire(f, sampleFrame(f, []byte("0810abcdef")))
		for cut := 1; cut < len(wire); cut++ {
			_, err := f.ReadFrame(bytes.NewReader(wire[:cut]))
			wantFrameErr(t, err, FrameTruncated)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s cut %d: %v does not wrap io.ErrUnexpectedEOF", name(f), cut, err)
			}
		}
	}
}

func TestReadFrameCleanEOF(t *testing.T) {
	for _, f := range allFramings() {
		if _, err := f.ReadFrame(bytes.NewReader(nil)); err != io.EOF {
			t.Errorf("%s: err = %v, want io.EOF exactly", name(f), err)
		}
	}
}

func TestReadFrameBadPrefix(t *testing.T) {
	f := Framing{Prefix: LengthASCII4}
	for _, p := range []string{"00a5hello", " 005hello", "-005hello", "\x00\x05hello", "+005hello"} {
		_, err := f.ReadFrame(strings.NewReader(p))
		wantFrameErr(t, err, FrameBadPrefix)
		_, err = f.ParseFrame([]byte(p))
		wantFrameErr(t, err, FrameBadPrefix)
	}
}

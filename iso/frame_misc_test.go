package iso

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// errReader returns its data, then err.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadFrameOtherErrors(t *testing.T) {
	boom := errors.New("boom")
	for _, data := range [][]byte{nil, {0}, {0, 5, 'a'}} {
		_, err := (Framing{}).ReadFrame(&errReader{data: data, err: boom})
		if !errors.Is(err, boom) || errors.Is(err, ErrFrame) {
			t.Errorf("data % X: err = %v, want wrapped boom and not ErrFrame", data, err)
		}
	}
}

func TestReadFrameNoAliasing(t *testing.T) {
	f := Framing{TPDU: true, HeaderLen: 6}
	var buf bytes.Buffer
	for _, body := range []string{"first", "second"} {
		if err := f.WriteFrame(&buf, sampleFrame(f, []byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	a, err := f.ReadFrame(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a.Header = append(a.Header, "XXXXX"...)
	b, err := f.ReadFrame(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Body) != "first" || string(b.Body) != "second" {
		t.Fatalf("bodies %q %q: appending to Header or reading again clobbered a frame", a.Body, b.Body)
	}
	// ParseFrame copies out of the caller's slice.
	wire := expectedWire(f, sampleFrame(f, []byte("abc")))
	p, err := f.ParseFrame(wire)
	if err != nil {
		t.Fatal(err)
	}
	clear(wire)
	if string(p.Body) != "abc" || !bytes.Equal(p.Header, testHeader) {
		t.Fatalf("ParseFrame result aliases its input: %+v", p)
	}
}

func TestParseFrameErrors(t *testing.T) {
	for _, f := range allFramings() {
		wire := expectedWire(f, sampleFrame(f, []byte("0800")))
		ps := f.Prefix.size()
		for _, in := range [][]byte{append(wire[:len(wire):len(wire)], 'x'), wire[:len(wire)-1], wire[:ps]} {
			_, err := f.ParseFrame(in)
			if fe := wantFrameErr(t, err, FrameLengthMismatch); fe.Length != len(wire)-ps {
				t.Errorf("%s: Length %d, want %d", name(f), fe.Length, len(wire)-ps)
			}
		}
		for _, in := range [][]byte{nil, wire[:ps-1]} {
			_, err := f.ParseFrame(in)
			wantFrameErr(t, err, FrameTruncated)
		}
	}
}

func TestTPDU(t *testing.T) {
	tp, err := ParseTPDU("60003200ab")
	if err != nil {
		t.Fatal(err)
	}
	if tp != (TPDU{0x60, 0x00, 0x32, 0x00, 0xAB}) {
		t.Fatalf("ParseTPDU = % X", tp[:])
	}
	if got := tp.String(); got != "60003200AB" {
		t.Errorf("String = %q", got)
	}
	r := tp.Reply()
	if r != (TPDU{0x60, 0x00, 0xAB, 0x00, 0x32}) {
		t.Errorf("Reply = %v", r)
	}
	if r.Reply() != tp {
		t.Errorf("Reply is not an involution: %v", r.Reply())
	}
	if tp, err := ParseTPDU("7F01020304"); err != nil || tp[0] != 0x7F {
		t.Errorf("non-0x60 ID: %v, %v", tp, err)
	}
}

func TestParseTPDUErrors(t *testing.T) {
	for _, in := range []string{"", "60003200", "600032000000", "60003200zz", "6000 32000", "0x60003200"} {
		if tp, err := ParseTPDU(in); err == nil || tp != (TPDU{}) {
			t.Errorf("ParseTPDU(%q) = %v, %v; want zero TPDU and error", in, tp, err)
		}
	}
}

func TestFramingValidate(t *testing.T) {
	good := []Framing{{}, {Prefix: LengthASCII4, TPDU: true, HeaderLen: 6},
		{MaxLength: 65535}, {Prefix: LengthASCII4, MaxLength: 9999}, {TPDU: true, HeaderLen: 6, MaxLength: 12}}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
	bad := []Framing{{Prefix: 2}, {Prefix: -1}, {HeaderLen: -1}, {MaxLength: -1},
		{MaxLength: 65536}, {Prefix: LengthASCII4, MaxLength: 10000},
		{TPDU: true, HeaderLen: 6, MaxLength: 11}, {HeaderLen: 8192},
		{HeaderLen: int(^uint(0) >> 1)}, {TPDU: true, HeaderLen: int(^uint(0) >> 1)}}
	for _, f := range bad {
		err := f.Validate()
		if err == nil {
			t.Errorf("%+v: Validate passed", f)
			continue
		}
		// Every entry point refuses a bad configuration with that error
		// and never reads, writes, or panics.
		var w writeRecorder
		cr := &countingReader{r: strings.NewReader("0005hello")}
		_, e1 := f.ReadFrame(cr)
		_, e2 := f.ParseFrame([]byte("0005hello"))
		_, e3 := f.AppendFrame(nil, Frame{Body: []byte("x")})
		e4 := f.WriteFrame(&w, Frame{Body: []byte("x")})
		for _, e := range []error{e1, e2, e3, e4} {
			if e == nil || e.Error() != err.Error() || errors.Is(e, ErrFrame) {
				t.Errorf("%+v: entry point err = %v, want %v", f, e, err)
			}
		}
		if cr.n != 0 || len(w.calls) != 0 {
			t.Errorf("%+v: did I/O with a bad configuration", f)
		}
	}
}

func TestFrameErrorMessages(t *testing.T) {
	cases := []struct {
		err  *FrameError
		want string
	}{
		{&FrameError{Reason: FrameTooLong, Length: 9000, Max: 8192}, "iso: bad frame: length 9000 exceeds maximum 8192"},
		{&FrameError{Reason: FrameTooShort, Length: 3}, "iso: bad frame: length 3 leaves no room for a message body"},
		{&FrameError{Reason: FrameTruncated, Length: 40, Err: io.ErrUnexpectedEOF}, "iso: bad frame: truncated frame of length 40: unexpected EOF"},
		{&FrameError{Reason: FrameTruncated, Err: io.ErrUnexpectedEOF}, "iso: bad frame: truncated length prefix: unexpected EOF"},
		{&FrameError{Reason: FrameBadLayout}, "iso: bad frame: bad frame layout"},
		{&FrameError{Reason: 99}, "iso: bad frame: FrameErrorReason(99)"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
		if !errors.Is(c.err, ErrFrame) || errors.Is(c.err, io.EOF) {
			t.Errorf("%v: Is mismatch", c.err)
		}
		if errors.Unwrap(c.err) != c.err.Err {
			t.Errorf("%v: Unwrap mismatch", c.err)
		}
	}
}

package iso

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// LengthPrefix says how a frame's length is spelled before it. Hosts differ
// here and nothing in the bytes announces which style is in use, so it has
// to be configured per host.
type LengthPrefix int

const (
	// LengthBinary2 is a 2-byte big-endian binary length (the default; CUP
	// and most ISO 8583:1987 hosts use it).
	LengthBinary2 LengthPrefix = iota
	// LengthASCII4 is 4 ASCII decimal digits, for example "0123".
	LengthASCII4
)

// String names the prefix style for error messages.
func (p LengthPrefix) String() string {
	switch p {
	case LengthBinary2:
		return "binary2"
	case LengthASCII4:
		return "ascii4"
	}
	return fmt.Sprintf("LengthPrefix(%d)", int(p))
}

// size is the number of bytes the prefix occupies; capacity the largest
// length it can spell. Both are 0 for an unknown prefix.
func (p LengthPrefix) size() int {
	switch p {
	case LengthBinary2:
		return 2
	case LengthASCII4:
		return 4
	}
	return 0
}

func (p LengthPrefix) capacity() int {
	switch p {
	case LengthBinary2:
		return 0xFFFF
	case LengthASCII4:
		return 9999
	}
	return 0
}

// tpduLen is the size of a TPDU on the wire.
const tpduLen = len(TPDU{})

// TPDU is the 5-byte transport header some hosts (and the NACs in front of
// them) put before the message: ID (normally 0x60), destination address
// (2 bytes), originator address (2 bytes). It is kept as a value type so
// that copying a frame never shares it.
type TPDU [5]byte

// ParseTPDU decodes the usual configuration spelling, ten hex digits such
// as "6000320000". Any ID byte is accepted, because some networks use IDs
// other than 0x60 and rejecting them would only force a workaround; the
// length and the hex digits are checked because a mistyped TPDU silently
// misroutes every message.
func ParseTPDU(hexText string) (TPDU, error) {
	var t TPDU
	if len(hexText) != 2*tpduLen {
		return t, fmt.Errorf("iso: TPDU %q: need %d hex digits, got %d", hexText, 2*tpduLen, len(hexText))
	}
	if _, err := hex.Decode(t[:], []byte(hexText)); err != nil {
		return TPDU{}, fmt.Errorf("iso: TPDU %q: %w", hexText, err)
	}
	return t, nil
}

// Reply returns the TPDU a host puts on its answer: the destination and
// originator addresses swapped, so the response is routed back to the
// terminal that sent the request. The ID byte is kept.
func (t TPDU) Reply() TPDU {
	return TPDU{t[0], t[3], t[4], t[1], t[2]}
}

// String returns the TPDU as ten uppercase hex digits, the form ParseTPDU
// accepts and the form host specifications print.
func (t TPDU) String() string {
	return fmt.Sprintf("%X", t[:])
}

// DefaultMaxFrameLength is the length limit used when Framing.MaxLength is
// 0. It is far above any real ISO 8583 message yet small enough that a
// garbage prefix cannot make the reader allocate much memory.
const DefaultMaxFrameLength = 8192

// Framing describes one host's frame layout:
//
//	[length prefix][TPDU (optional, 5 bytes)][header (optional)][ISO body]
//
// where the length counts everything after the prefix. The zero value is a
// usable layout: 2-byte binary length, no TPDU, no header, and a maximum of
// DefaultMaxFrameLength. A Framing is a plain value and safe to share.
type Framing struct {
	// Prefix is the spelling of the length before each frame.
	Prefix LengthPrefix
	// TPDU says a 5-byte TPDU follows the length.
	TPDU bool
	// HeaderLen is the number of fixed header bytes after the TPDU
	// (6 for CUP, 0 for none).
	HeaderLen int
	// MaxLength is the largest accepted length value; 0 means
	// DefaultMaxFrameLength. It must not exceed what the prefix can spell
	// (65535 for LengthBinary2, 9999 for LengthASCII4).
	MaxLength int
}

// Validate reports a configuration that cannot describe any valid frame.
// Read and write methods call it first, so a bad configuration fails
// loudly on the first message instead of producing odd framing errors.
func (f Framing) Validate() error {
	if f.Prefix.size() == 0 {
		return fmt.Errorf("iso: framing: unknown length prefix %v", f.Prefix)
	}
	if f.HeaderLen < 0 || f.HeaderLen > f.Prefix.capacity() {
		return fmt.Errorf("iso: framing: header length %d out of range", f.HeaderLen)
	}
	if f.MaxLength < 0 {
		return fmt.Errorf("iso: framing: negative maximum length %d", f.MaxLength)
	}
	if c := f.Prefix.capacity(); f.MaxLength > c {
		return fmt.Errorf("iso: framing: maximum length %d exceeds the %d that a %v prefix can spell", f.MaxLength, c, f.Prefix)
	}
	if lo, hi := f.minLength(), f.maxLength(); lo > hi {
		return fmt.Errorf("iso: framing: maximum length %d is below the %d bytes of the smallest frame", hi, lo)
	}
	return nil
}

// maxLength is the effective limit on the length value.
func (f Framing) maxLength() int {
	if f.MaxLength == 0 {
		return DefaultMaxFrameLength
	}
	return f.MaxLength
}

// overhead is the number of bytes between the prefix and the body.
func (f Framing) overhead() int {
	if f.TPDU {
		return tpduLen + f.HeaderLen
	}
	return f.HeaderLen
}

// minLength is the smallest valid length value: overhead plus one body byte.
func (f Framing) minLength() int { return f.overhead() + 1 }

// Frame is one framed message. Body is the ISO 8583 message from the MTI
// onwards; TPDU is meaningful only when the Framing has one, and Header
// holds exactly Framing.HeaderLen bytes (nil when there is no header).
type Frame struct {
	TPDU   TPDU
	Header []byte
	Body   []byte
}

// AppendFrame appends the wire encoding of fr to dst and returns the
// extended slice. It is what WriteFrame sends, exposed so callers can frame
// into their own buffers or test without any I/O. A frame that does not fit
// the layout (wrong header length, a non-zero TPDU when the Framing has
// none, empty body) or whose length exceeds the maximum is refused with a
// *FrameError and dst is returned unchanged.
func (f Framing) AppendFrame(dst []byte, fr Frame) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return dst, err
	}
	if len(fr.Header) != f.HeaderLen {
		return dst, &FrameError{Reason: FrameBadLayout, Err: fmt.Errorf("header is %d bytes, framing wants %d", len(fr.Header), f.HeaderLen)}
	}
	if !f.TPDU && fr.TPDU != (TPDU{}) {
		return dst, &FrameError{Reason: FrameBadLayout, Err: errors.New("frame has a TPDU but the framing has none")}
	}
	if len(fr.Body) == 0 {
		return dst, &FrameError{Reason: FrameBadLayout, Err: errors.New("empty body")}
	}
	n := f.overhead() + len(fr.Body)
	if limit := f.maxLength(); n > limit {
		return dst, &FrameError{Reason: FrameTooLong, Length: n, Max: limit}
	}
	switch f.Prefix {
	case LengthBinary2:
		dst = append(dst, byte(n>>8), byte(n))
	case LengthASCII4:
		dst = append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	}
	if f.TPDU {
		dst = append(dst, fr.TPDU[:]...)
	}
	dst = append(dst, fr.Header...)
	return append(dst, fr.Body...), nil
}

// WriteFrame encodes fr and sends it with a single Write call. One call
// matters: callers that share a net.Conn between goroutines serialise their
// WriteFrame calls with a lock, and a frame split over several writes could
// still interleave with other writers or leave a half frame on the wire if
// an error struck between parts. All checks happen before any byte is
// written, so a refused frame leaves the stream intact. A Write that
// reports fewer bytes without an error yields io.ErrShortWrite.
func (f Framing) WriteFrame(w io.Writer, fr Frame) error {
	if err := f.Validate(); err != nil {
		return err
	}
	buf, err := f.AppendFrame(make([]byte, 0, f.Prefix.size()+f.overhead()+len(fr.Body)), fr)
	if err != nil {
		return err
	}
	n, err := w.Write(buf)
	if err == nil && n != len(buf) {
		err = io.ErrShortWrite
	}
	return err
}

// decodeLength turns prefix bytes (exactly Prefix.size() of them) into a
// length value and checks it against the layout's bounds.
func (f Framing) decodeLength(p []byte) (int, error) {
	var n int
	switch f.Prefix {
	case LengthBinary2:
		n = int(p[0])<<8 | int(p[1])
	case LengthASCII4:
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, &FrameError{Reason: FrameBadPrefix, Err: fmt.Errorf("prefix %q is not %d decimal digits", p, len(p))}
			}
			n = n*10 + int(c-'0')
		}
	}
	if limit := f.maxLength(); n > limit {
		return n, &FrameError{Reason: FrameTooLong, Length: n, Max: limit}
	}
	if n < f.minLength() {
		return n, &FrameError{Reason: FrameTooShort, Length: n, Max: f.maxLength()}
	}
	return n, nil
}

// split carves a frame out of b, which holds exactly the bytes after the
// prefix. Header and Body share b but have capped capacities, so appending
// to Header cannot overwrite Body.
func (f Framing) split(b []byte) Frame {
	var fr Frame
	if f.TPDU {
		copy(fr.TPDU[:], b)
		b = b[tpduLen:]
	}
	if f.HeaderLen > 0 {
		fr.Header = b[:f.HeaderLen:f.HeaderLen]
	}
	fr.Body = b[f.HeaderLen:len(b):len(b)]
	return fr
}

// ReadFrame reads exactly one frame from r and nothing more, so the next
// call starts at the next frame. If r ends cleanly before the first byte
// of a frame, ReadFrame returns io.EOF itself (unwrapped): that is how a
// server tells a peer that closed between messages from one that died
// mid-message, which is a *FrameError (FrameTruncated) wrapping
// io.ErrUnexpectedEOF. The length is checked against the maximum before
// the body is allocated or read, so a hostile prefix costs nothing. The
// returned slices are freshly allocated and owned by the caller. Other
// read errors (timeouts, resets) are returned wrapped with %w.
func (f Framing) ReadFrame(r io.Reader) (Frame, error) {
	if err := f.Validate(); err != nil {
		return Frame{}, err
	}
	var pbuf [4]byte
	prefix := pbuf[:f.Prefix.size()]
	if _, err := io.ReadFull(r, prefix); err != nil {
		switch err {
		case io.EOF:
			return Frame{}, io.EOF
		case io.ErrUnexpectedEOF:
			return Frame{}, &FrameError{Reason: FrameTruncated, Max: f.maxLength(), Err: io.ErrUnexpectedEOF}
		}
		return Frame{}, fmt.Errorf("iso: reading frame length: %w", err)
	}
	n, err := f.decodeLength(prefix)
	if err != nil {
		return Frame{}, err
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Frame{}, &FrameError{Reason: FrameTruncated, Length: n, Max: f.maxLength(), Err: io.ErrUnexpectedEOF}
		}
		return Frame{}, fmt.Errorf("iso: reading frame of length %d: %w", n, err)
	}
	return f.split(buf), nil
}

// ParseFrame is the inverse of AppendFrame on one complete frame held in b.
// Because b is supposed to be exactly one frame, bytes left over or missing
// after the prefix are a FrameLengthMismatch; a b too short to hold the
// prefix is FrameTruncated. The result is copied out of b, so b may be
// reused afterwards.
func (f Framing) ParseFrame(b []byte) (Frame, error) {
	if err := f.Validate(); err != nil {
		return Frame{}, err
	}
	ps := f.Prefix.size()
	if len(b) < ps {
		return Frame{}, &FrameError{Reason: FrameTruncated, Max: f.maxLength(), Err: io.ErrUnexpectedEOF}
	}
	n, err := f.decodeLength(b[:ps])
	if err != nil {
		return Frame{}, err
	}
	if got := len(b) - ps; got != n {
		return Frame{}, &FrameError{Reason: FrameLengthMismatch, Length: n, Max: f.maxLength(), Err: fmt.Errorf("%d bytes follow the prefix", got)}
	}
	return f.split(append([]byte(nil), b[ps:]...)), nil
}

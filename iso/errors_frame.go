package iso

import (
	"errors"
	"fmt"
)

// ErrFrame is the sentinel every framing failure matches with errors.Is.
// Callers that only need to know "the byte stream is no longer trustworthy,
// drop the connection" can test for it without caring about the exact
// reason; callers that want the detail use errors.As with *FrameError.
var ErrFrame = errors.New("iso: bad frame")

// FrameErrorReason classifies a *FrameError so that callers can react
// differently, for example logging an oversize frame from a hostile peer
// but quietly closing a connection whose peer hung up mid-frame.
type FrameErrorReason int

const (
	// FrameTooLong means the length exceeds the Framing's maximum. On read
	// it is reported before the body is allocated or read.
	FrameTooLong FrameErrorReason = iota + 1
	// FrameTooShort means the length prefix cannot even hold the TPDU, the
	// header and one byte of body.
	FrameTooShort
	// FrameTruncated means the stream ended in the middle of a frame; the
	// FrameError wraps io.ErrUnexpectedEOF.
	FrameTruncated
	// FrameBadPrefix means an ASCII length prefix contained a non-digit.
	FrameBadPrefix
	// FrameLengthMismatch means ParseFrame was given a slice whose size
	// disagrees with its own length prefix (bytes missing or left over).
	FrameLengthMismatch
	// FrameBadLayout means a frame handed to the writer does not fit the
	// Framing: wrong header length, a TPDU where none is configured, or an
	// empty body.
	FrameBadLayout
)

// String names the reason; it is used in error messages and test output.
func (r FrameErrorReason) String() string {
	switch r {
	case FrameTooLong:
		return "frame too long"
	case FrameTooShort:
		return "frame too short"
	case FrameTruncated:
		return "frame truncated"
	case FrameBadPrefix:
		return "bad length prefix"
	case FrameLengthMismatch:
		return "length mismatch"
	case FrameBadLayout:
		return "bad frame layout"
	}
	return fmt.Sprintf("FrameErrorReason(%d)", int(r))
}

// FrameError describes why a frame could not be read, parsed or written.
// Length is the length value involved (declared by the prefix on read, the
// computed total on write; 0 when unknown) and Max the limit that applied.
// Err, when set, is the underlying cause or extra detail.
type FrameError struct {
	Reason FrameErrorReason
	Length int
	Max    int
	Err    error
}

// Error renders the reason with the numbers that matter for it, prefixed
// like ErrFrame so log lines are greppable.
func (e *FrameError) Error() string {
	var msg string
	switch e.Reason {
	case FrameTooLong:
		msg = fmt.Sprintf("length %d exceeds maximum %d", e.Length, e.Max)
	case FrameTooShort:
		msg = fmt.Sprintf("length %d leaves no room for a message body", e.Length)
	case FrameTruncated:
		if e.Length > 0 {
			msg = fmt.Sprintf("truncated frame of length %d", e.Length)
		} else {
			msg = "truncated length prefix"
		}
	case FrameLengthMismatch:
		msg = fmt.Sprintf("length prefix says %d", e.Length)
	default:
		msg = e.Reason.String()
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return ErrFrame.Error() + ": " + msg
}

// Unwrap returns the cause (for example io.ErrUnexpectedEOF), so that
// errors.Is(err, io.ErrUnexpectedEOF) keeps working through the wrapper.
func (e *FrameError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFrame, letting every FrameError match the
// sentinel without having to wrap it.
func (e *FrameError) Is(target error) bool { return target == ErrFrame }

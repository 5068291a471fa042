package iso

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error this package returns matches one of them with
// errors.Is, so callers can branch without parsing strings.
var (
	// ErrInvalidInput is matched by every *FieldError: the caller gave a value
	// that cannot go on the wire. Nothing was encoded, sent or persisted.
	ErrInvalidInput = errors.New("iso: invalid input")
	// ErrUnsupported means the dialect has no message for what was asked
	// (for example a batch-upload end in a dialect that closes with 0500).
	ErrUnsupported = errors.New("iso: not supported by this dialect")
	// ErrMalformed means bytes from the peer could not be decoded into a
	// message of the dialect.
	ErrMalformed = errors.New("iso: malformed message")
	// ErrNoMACKey means a message that must carry a MAC was encoded without
	// a MAC key.
	ErrNoMACKey = errors.New("iso: message needs a MAC but no MAC key was given")
)

// FieldError reports one bad input value. It names the field (a Go field
// name such as "Amount" or "Card.PAN", or an ISO field such as "F4"), never
// the value: a card number must not leak through an error string.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "iso: invalid " + e.Field + ": " + e.Reason }

// Is makes every FieldError match ErrInvalidInput.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidInput }

// InvalidField is the *FieldError (ErrInvalidInput) for a bad input field:
// what a dialect returns before it builds anything.
func InvalidField(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// PrefixField re-roots a FieldError under a parent name ("PAN" → "Card.PAN")
// so a nested validation error still says where it came from.
func PrefixField(parent string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: parent + "." + fe.Field, Reason: fe.Reason}
	}
	return err
}

// MalformedError says which ISO field of a peer's message could not be read.
// It never carries the field's content.
type MalformedError struct {
	Field  int // ISO field number; 0 is the MTI, -1 the message as a whole
	Reason string
}

func (e *MalformedError) Error() string {
	if e.Field < 0 {
		return "iso: malformed message: " + e.Reason
	}
	return fmt.Sprintf("iso: malformed message: field %d: %s", e.Field, e.Reason)
}

// Is makes every MalformedError match ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// Malformed is the *MalformedError (ErrMalformed) for a field that cannot
// be read; it names the field and never echoes its bytes.
func Malformed(field int, format string, args ...any) error {
	return &MalformedError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// hexText spells bytes as uppercase hex, the wire text of binary fields,
// in one allocation.
func hexText(b []byte) string {
	var s strings.Builder
	s.Grow(2 * len(b))
	var pair [2]byte
	for _, c := range b {
		upperHex(pair[:], []byte{c})
		s.Write(pair[:])
	}
	return s.String()
}

package isoswitch

import (
	"errors"
	"fmt"

	"github.com/posswitch/posswitch/iso"
)

// Errors a call returns, all usable with errors.Is / errors.As. Besides
// these: iso.ErrInvalidInput (bad input, nothing sent or written),
// reversal.ErrRecoveryPending (an earlier reversal must clear first),
// ErrUnreachable (the host could not be reached; nothing was sent, nothing
// to reverse).
var (
	// ErrDeclined is matched by *DeclinedError.
	ErrDeclined = errors.New("isoswitch: declined by the host")
	// ErrOutcomeUnknown is matched by *OutcomeUnknownError: the request may
	// have reached the host; a reversal (or repeat) is queued.
	ErrOutcomeUnknown = errors.New("isoswitch: outcome unknown; recovery queued")
	// ErrNotAllowed is matched by *NotAllowedError.
	ErrNotAllowed = errors.New("isoswitch: not allowed")
	// ErrNotSignedOn: the terminal holds no working keys yet.
	ErrNotSignedOn = errors.New("isoswitch: not signed on")
)

// DeclinedError is a decline, with the host's code and what it means.
type DeclinedError struct {
	Code   iso.ResponseCode
	Result Result
}

func (e *DeclinedError) Error() string {
	return fmt.Sprintf("isoswitch: declined: %s (%s)", e.Code, e.Code.Action())
}
func (e *DeclinedError) Is(target error) bool { return target == ErrDeclined }

// OutcomeUnknownError says why the outcome is unknown and what the terminal
// is doing about it. RecordID names the journal record under recovery.
type OutcomeUnknownError struct {
	RecordID uint64
	Reason   iso.ReversalReason
	Recovery iso.Recovery
	Err      error // the timeout, lost connection or failed reply check
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("isoswitch: outcome of record %d unknown (%s); %s queued: %v", e.RecordID, e.Reason, e.Recovery, e.Err)
}
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }
func (e *OutcomeUnknownError) Unwrap() error        { return e.Err }

// NotAllowedError refuses a request the journal shows cannot be done, and
// says what to do instead.
type NotAllowedError struct {
	Why     string
	Instead string // e.g. "refund it" for a void of a settled sale
}

func (e *NotAllowedError) Error() string {
	if e.Instead != "" {
		return "isoswitch: not allowed: " + e.Why + "; " + e.Instead
	}
	return "isoswitch: not allowed: " + e.Why
}
func (e *NotAllowedError) Is(target error) bool { return target == ErrNotAllowed }

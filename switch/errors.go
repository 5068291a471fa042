package isoswitch

import (
	"errors"
	"fmt"
	"time"

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

// OutcomeUnknownError says which transaction's outcome is unknown, why,
// and what the terminal is doing about it; its Error is one sentence:
//
//	isoswitch: outcome of trace 000012 unknown: no reply in 30s; reversal queued
//
// RecordID, STAN and Batch identify the transaction (the call's Result
// carries them too). Reason says what happened (errors.Is on Err tells the
// same: ErrTimeout, ErrCancelled, ErrConnectionLost, ErrUnreadableReply,
// iso.ErrBadReply, iso.ErrMACMismatch); the journal record keeps the same
// reason, and its exports print it.
type OutcomeUnknownError struct {
	RecordID uint64
	STAN     iso.STAN
	Batch    iso.BatchNumber
	Kind     iso.Kind
	Reason   iso.ReversalReason
	Recovery iso.Recovery
	// Deadline is the reply deadline the request went out with: the
	// terminal's timeout (WithTimeout), or less when the caller's context
	// ended sooner.
	Deadline time.Duration
	// Result is the transaction as journaled, with no host answer: what a
	// receipt of the unknown outcome prints.
	Result Result
	Err    error // the timeout, cancellation, lost connection or failed reply check
}

func (e *OutcomeUnknownError) Error() string {
	what := "reversal"
	if e.Recovery == iso.RecoveryRepeat {
		what = "repeat"
	}
	return fmt.Sprintf("isoswitch: outcome of trace %s unknown: %s; %s queued", e.STAN, e.happened(), what)
}

// happened says Reason in a few words.
func (e *OutcomeUnknownError) happened() string {
	switch e.Reason {
	case iso.ReasonTimeout:
		return "no reply in " + shortDuration(e.Deadline)
	case iso.ReasonCancelled:
		return "cancelled while waiting for the reply"
	case iso.ReasonConnectionLost:
		return "connection lost before the reply"
	case iso.ReasonBadMAC:
		return "the reply's MAC did not verify"
	case iso.ReasonBadReply:
		if errors.Is(e.Err, ErrUnreadableReply) {
			return "the reply was unreadable"
		}
		return "the reply did not match the request"
	}
	return e.Reason.String()
}

// shortDuration prints 30s, 1.5s or 500ms: a deadline as configured, not
// as measured to the nanosecond.
func shortDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		d = d.Round(time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(10 * time.Millisecond)
	}
	return d.String()
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

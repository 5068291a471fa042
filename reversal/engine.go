package reversal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// Sender sends one message to the host and returns the host's reply to it,
// already checked with iso.CheckReply (so a reply it returns belongs to the
// message), or an error: a timeout, a bad reply, a broken connection. The
// engine treats every error the same way: that attempt did not end the
// recovery. The session package provides the real one; tests fake it.
type Sender interface {
	Send(ctx context.Context, req *iso.Message, deadline time.Time) (*iso.Message, error)
}

// Policy is how hard the engine tries. Nothing is resent forever: every
// record under recovery, reversal or repeat, ends after at most GiveUpAfter
// sends, in StateUnconfirmed if no reply ended it.
type Policy struct {
	// Timeout is the reply deadline of each attempt (default 30 s, the CUP
	// reference parameter).
	Timeout time.Duration
	// AttemptsPerDrain is how many messages one Drain sends for one record
	// (default: the dialect's Rules().Recovery.PerTrigger; 4 for both
	// shipped dialects: CUP's resend count 3 plus the first send).
	AttemptsPerDrain int
	// Backoff is the wait before a further attempt within one Drain, given
	// the record's attempts so far (default: 1 s doubling to 30 s).
	Backoff func(attempts int) time.Duration
	// GiveUpAfter is how many messages a record gets over its life; when
	// they have gone without a reply that ends it, the record ends
	// StateUnconfirmed, Drain reports it in an *UnconfirmedError and the
	// terminal carries on, as the CUP reference terminal does ("冲正不成功,
	// 请与客服联系" after its resends, CaoEnXin/LiaoYang_POS Src/trancomm.c
	// ReverseTranProc). Zero or less: the dialect's Rules().Recovery.Total
	// (CUP 4, all in the first drain; ISO87 12). An attempt whose Sender
	// error matches ErrNotSent left nothing at the host and is not counted.
	GiveUpAfter int
	// Expiry, when positive, also ends a recovery older than this
	// unconfirmed (a store-and-forward advice the host will no longer take).
	Expiry time.Duration
}

func (p Policy) withDefaults(d iso.Dialect) Policy {
	limits := d.Rules().Recovery
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	if p.AttemptsPerDrain <= 0 {
		p.AttemptsPerDrain = max(limits.PerTrigger, 1)
	}
	if p.GiveUpAfter <= 0 {
		p.GiveUpAfter = max(limits.Total, 1)
	}
	if p.Backoff == nil {
		p.Backoff = func(n int) time.Duration { return min(time.Second<<min(n, 5), 30*time.Second) }
	}
	return p
}

// ErrRecoveryPending is matched by *PendingError: recoveries are still
// pending, so no new financial request may be sent.
var ErrRecoveryPending = errors.New("reversal: a reversal or repeat is still pending")

// ErrNotSent, matched by a Sender's error, says that no byte of the message
// left the terminal (the host could not be reached): the attempt does not
// count toward Policy.GiveUpAfter.
var ErrNotSent = errors.New("reversal: the message was not sent")

// PendingError lists the records still pending after a Drain.
type PendingError struct {
	IDs []uint64
	Err error // why the last attempt failed, or the context's error
}

func (e *PendingError) Error() string {
	msg := fmt.Sprintf("reversal: %d recoveries still pending (records %v)", len(e.IDs), e.IDs)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *PendingError) Is(target error) bool { return target == ErrRecoveryPending }
func (e *PendingError) Unwrap() error        { return e.Err }

// ErrUnconfirmed is matched by *UnconfirmedError.
var ErrUnconfirmed = errors.New("reversal: a recovery ended without the host's confirmation")

// UnconfirmedError tells the application that recoveries ended in
// StateUnconfirmed during a Drain: the policy's sends ran out (or the
// record expired) and no reply ended them. Whether the host holds each
// transaction is unknown; the merchant must settle it with the acquirer.
// The records name the trace (STAN) and batch; they hold masked PANs only.
type UnconfirmedError struct {
	Records []Record
}

func (e *UnconfirmedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reversal: %d recoveries ended unconfirmed; contact the acquirer:", len(e.Records))
	for _, r := range e.Records {
		fmt.Fprintf(&b, " record %d (%s %s, STAN %s, batch %s, %d sends)", r.ID, r.Kind, r.Recovery, r.STAN, r.Batch, r.Attempts)
	}
	return b.String()
}

func (e *UnconfirmedError) Is(target error) bool { return target == ErrUnconfirmed }

// Engine sends pending reversals and repeats until the host acknowledges
// them. One Drain runs at a time.
type Engine struct {
	j      *Journal
	d      iso.Dialect
	s      Sender
	policy Policy
	mu     sync.Mutex
}

// NewEngine returns an engine over a journal, a dialect and a sender. The
// policy's unset limits default to the dialect's (Rules().Recovery).
func NewEngine(j *Journal, d iso.Dialect, s Sender, p Policy) *Engine {
	return &Engine{j: j, d: d, s: s, policy: p.withDefaults(d)}
}

// Recover runs at start-up: records left prepared have unknown outcomes and
// become pending (RecoverPrepared), then everything pending is drained.
func (e *Engine) Recover(ctx context.Context) error {
	if _, err := e.j.RecoverPrepared(); err != nil {
		return err
	}
	return e.Drain(ctx)
}

// Ready reports, without sending, whether a new financial request may go:
// nil, or a *PendingError.
func (e *Engine) Ready() error {
	pending, err := e.j.Pending()
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		return &PendingError{IDs: ids(pending)}
	}
	return nil
}

// Drain sends every pending recovery, oldest first, until a reply ends it
// or the policy's attempts for this drain run out. It returns nil when
// nothing is pending and nothing ended unconfirmed; else a *PendingError
// for what is still pending and an *UnconfirmedError for what ended
// unconfirmed in this drain (joined when both; match each with errors.As).
func (e *Engine) Drain(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	pending, err := e.j.Pending()
	if err != nil {
		return err
	}
	var blocked []uint64
	var unconfirmed []Record
	var last error
	for _, r := range pending {
		r, err := e.drainOne(ctx, r)
		if err != nil && (errors.Is(err, ErrCorrupt) || errors.Is(err, ErrIllegalTransition)) {
			return err
		}
		switch r.State {
		case StateRecoveryPending:
			blocked = append(blocked, r.ID)
			last = err
		case StateUnconfirmed:
			unconfirmed = append(unconfirmed, r)
		}
	}
	var errs []error
	if len(blocked) > 0 {
		errs = append(errs, &PendingError{IDs: blocked, Err: last})
	}
	if len(unconfirmed) > 0 {
		errs = append(errs, &UnconfirmedError{Records: unconfirmed})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// drainOne tries one record and returns it as it then stands: still
// pending, or ended (reversed, approved, declined, unconfirmed).
func (e *Engine) drainOne(ctx context.Context, r Record) (Record, error) {
	var last error
	for try := 0; ; try++ {
		if why := e.exhausted(r); why != "" {
			return e.j.markUnconfirmed(r.ID, why)
		}
		if try == e.policy.AttemptsPerDrain {
			return r, last
		}
		if try > 0 {
			if err := sleep(ctx, e.policy.Backoff(r.Attempts)); err != nil {
				return r, err
			}
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		msg, err := e.message(r)
		if err != nil {
			return r, err
		}
		// Count the attempt before sending: after a crash mid-send the next
		// message must be a repeat, since the host may have this one.
		if r, err = e.j.RecordAttempt(r.ID); err != nil {
			return r, err
		}
		reply, err := e.s.Send(ctx, msg, time.Now().Add(e.policy.Timeout))
		if err != nil {
			last = err
			if errors.Is(err, ErrNotSent) {
				if r, err = e.j.uncountAttempt(r.ID); err != nil {
					return r, err
				}
			}
			continue
		}
		code := iso.ResponseCode(reply.Value(39))
		out := Outcome{Code: code, RRN: iso.RRN(reply.Value(37)), AuthCode: iso.AuthCode(reply.Value(38))}
		switch e.d.RecoveryOutcome(r.Recovery, code) {
		case iso.OutcomeReversed:
			return e.j.MarkReversed(r.ID, code)
		case iso.OutcomeApproved:
			return e.j.Approve(r.ID, out)
		case iso.OutcomeDuplicate:
			// The host holds a request with this STAN; it counts as the
			// approval of this one only if the reply shows the same
			// terminal, STAN and amount.
			if err := iso.CheckDuplicate(msg, reply); err != nil {
				last = fmt.Errorf("host answered %s for another request: %w", code, err)
				continue
			}
			return e.j.Approve(r.ID, out)
		case iso.OutcomeDeclined:
			return e.j.Decline(r.ID, out)
		}
		// A refused reversal: the next one goes with the reason "refused".
		last = fmt.Errorf("host answered %s", code)
		if r, err = e.j.recordRefusal(r.ID, code); err != nil {
			return r, err
		}
	}
}

// exhausted says why a record's recovery must end, if it must.
func (e *Engine) exhausted(r Record) string {
	switch {
	case r.Attempts >= e.policy.GiveUpAfter:
		return fmt.Sprintf("policy: %d sends without a reply that ends it", r.Attempts)
	case e.policy.Expiry > 0 && time.Since(r.Created) > e.policy.Expiry:
		return fmt.Sprintf("policy: expired after %s (since %s)", e.policy.Expiry, r.Created.Format(time.RFC3339))
	}
	return ""
}

// message rebuilds the attempt's message from the stored request: the
// dialect's reversal (by reason and attempt) or its repeat.
func (e *Engine) message(r Record) (*iso.Message, error) {
	m, err := iso.MessageFromFields(r.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: record %d request: %v", ErrCorrupt, r.ID, err)
	}
	if pan, err := e.j.PAN(r); err == nil {
		m.Set(2, pan.Digits())
	}
	if r.Recovery == iso.RecoveryRepeat {
		return e.d.Repeat(m, r.Attempts)
	}
	// The dialect spells the reason on the wire (a lost connection as a
	// timeout); the record keeps what happened.
	reason := r.Reason.Wire()
	if r.Refusals > 0 {
		reason = iso.ReasonRefused
	}
	return e.d.Reversal(m, reason, r.Attempts)
}

// Override gives up a pending recovery on an authorised operator's word
// (the caller checks the authority), keeping it as an exception record in
// StateGivenUp with the operator and note on its history.
func (e *Engine) Override(id uint64, op iso.OperatorCode, note string) (Record, error) {
	if op == "" {
		return Record{}, fmt.Errorf("reversal: an override needs the operator who made it")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.j.GiveUp(id, op, "override: "+note)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ids(rs []Record) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

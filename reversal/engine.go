package reversal

import (
	"context"
	"errors"
	"fmt"
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

// Policy is how hard the engine tries.
type Policy struct {
	// Timeout is the reply deadline of each attempt (default 30 s, the CUP
	// reference parameter).
	Timeout time.Duration
	// AttemptsPerDrain is how many messages one Drain sends for one record
	// before it reports the record blocked (default 4: CUP's resend count 3
	// plus the first send).
	AttemptsPerDrain int
	// Backoff is the wait before a further attempt within one Drain, given
	// the record's attempts so far (default: 1 s doubling to 30 s).
	Backoff func(attempts int) time.Duration
	// GiveUpAfter, when positive, gives a record up as an exception once it
	// has been sent that many times (the CUP reference terminal's choice).
	// Zero (the default) keeps it, and the terminal refuses new financial
	// requests until it clears or an authorised operator overrides it.
	GiveUpAfter int
	// Expiry, when positive, gives up a recovery older than this (a
	// store-and-forward advice the host will no longer take).
	Expiry time.Duration
}

func (p Policy) withDefaults() Policy {
	if p.Timeout <= 0 {
		p.Timeout = 30 * time.Second
	}
	if p.AttemptsPerDrain <= 0 {
		p.AttemptsPerDrain = 4
	}
	if p.Backoff == nil {
		p.Backoff = func(n int) time.Duration { return min(time.Second<<min(n, 5), 30*time.Second) }
	}
	return p
}

// ErrRecoveryPending is matched by *PendingError: recoveries are still
// pending, so no new financial request may be sent.
var ErrRecoveryPending = errors.New("reversal: a reversal or repeat is still pending")

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

// Engine sends pending reversals and repeats until the host acknowledges
// them. One Drain runs at a time.
type Engine struct {
	j      *Journal
	d      iso.Dialect
	s      Sender
	policy Policy
	mu     sync.Mutex
}

// NewEngine returns an engine over a journal, a dialect and a sender.
func NewEngine(j *Journal, d iso.Dialect, s Sender, p Policy) *Engine {
	return &Engine{j: j, d: d, s: s, policy: p.withDefaults()}
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

// Drain sends every pending recovery, oldest first, until the host
// acknowledges it or the policy's attempts for this drain run out. It
// returns nil when nothing is pending, else a *PendingError.
func (e *Engine) Drain(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	pending, err := e.j.Pending()
	if err != nil {
		return err
	}
	var blocked []uint64
	var last error
	for _, r := range pending {
		done, err := e.drainOne(ctx, r)
		if err != nil && (errors.Is(err, ErrCorrupt) || errors.Is(err, ErrIllegalTransition)) {
			return err
		}
		if !done {
			blocked = append(blocked, r.ID)
			last = err
		}
	}
	if len(blocked) > 0 {
		return &PendingError{IDs: blocked, Err: last}
	}
	return nil
}

// drainOne tries one record; done means it left recovery-pending.
func (e *Engine) drainOne(ctx context.Context, r Record) (bool, error) {
	var last error
	for try := range e.policy.AttemptsPerDrain {
		if e.exhausted(r) {
			_, err := e.j.GiveUp(r.ID, "", fmt.Sprintf("policy: %d attempts since %s", r.Attempts, r.Created.Format(time.RFC3339)))
			return err == nil, err
		}
		if try > 0 {
			if err := sleep(ctx, e.policy.Backoff(r.Attempts)); err != nil {
				return false, err
			}
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		msg, err := e.message(r)
		if err != nil {
			return false, err
		}
		// Count the attempt before sending: after a crash mid-send the next
		// message must be a repeat, since the host may have this one.
		if r, err = e.j.RecordAttempt(r.ID); err != nil {
			return false, err
		}
		reply, err := e.s.Send(ctx, msg, time.Now().Add(e.policy.Timeout))
		if err != nil {
			last = err
			continue
		}
		code := iso.ResponseCode(reply.Value(39))
		if !e.d.ReversalDone(code) {
			last = fmt.Errorf("host answered %s", code)
			continue
		}
		if r.Recovery == iso.RecoveryRepeat {
			_, err = e.j.Approve(r.ID, Outcome{Code: code, RRN: iso.RRN(reply.Value(37)), AuthCode: iso.AuthCode(reply.Value(38))})
		} else {
			_, err = e.j.MarkReversed(r.ID, code)
		}
		return err == nil, err
	}
	return false, last
}

func (e *Engine) exhausted(r Record) bool {
	return (e.policy.GiveUpAfter > 0 && r.Attempts >= e.policy.GiveUpAfter) ||
		(e.policy.Expiry > 0 && time.Since(r.Created) > e.policy.Expiry)
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
	return e.d.Reversal(m, r.Reason, r.Attempts)
}

// Override gives up a pending recovery on an authorised operator's word
// (the caller checks the authority), keeping it as an exception record.
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

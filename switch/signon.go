package isoswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// BatchMismatch is a host that announced another batch number at sign-on
// than the terminal's open batch, which already holds transactions, so the
// terminal kept its own (a simulator restarted, a host that lost its state,
// a terminal moved to another host). Settling the open batch resolves it:
// the next sign-on then finds it empty and takes the host's number.
//
// When HostBatchUsed is set the host announced a number this terminal has
// used already (settled, or holding transactions): a host that lost its
// state. The terminal stays on its own batch, which its requests carry; a
// host that takes the next number after a settlement, as CUP hosts do,
// agrees again after the next one.
type BatchMismatch struct {
	Terminal iso.BatchNumber // the open batch
	Host     iso.BatchNumber // the batch the host announced
	// HostBatchUsed: the host's number is one this terminal used before.
	HostBatchUsed bool
}

// String says it in words, with what to do.
func (m BatchMismatch) String() string {
	if m.HostBatchUsed {
		return fmt.Sprintf("the host is on batch %s, which this terminal has already used, so it stays on batch %s; "+
			"the host has lost its batch history (a restarted simulator?): transactions go on in %s, "+
			"and the numbers agree again after the next settlement", m.Host, m.Terminal, m.Terminal)
	}
	return fmt.Sprintf("the host is on batch %s but this terminal's open batch %s already holds transactions, so it keeps %s; "+
		"settle it, and the next sign-on takes the host's number", m.Host, m.Terminal, m.Terminal)
}

// BatchMismatch reports whether the last sign-on found the host on another
// batch than the terminal's open batch with transactions in it (the
// terminal kept its own). It is for the application to tell the operator;
// the terminal logs it at Info level once.
func (t *Terminal) BatchMismatch() (BatchMismatch, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.batchMismatch == nil {
		return BatchMismatch{}, false
	}
	return *t.batchMismatch, true
}

// SignOn asks the host for working keys, unwraps them under the master key
// and adopts what the host says of the batch and the clock. The keys are
// installed only when every one of them unwrapped with the right length and
// check value. A sign-on that fails in any way (no reply, a decline, a key
// block of the wrong layout, a bad check value) leaves the terminal signed
// off: the keys of an earlier sign-on are dropped too, so the next
// financial call signs on again first and fails if that fails, rather than
// MACing under keys the host may no longer hold.
func (t *Terminal) SignOn(ctx context.Context, op iso.OperatorCode) error {
	keys, r, err := t.signOn(ctx, op)
	if err != nil {
		t.mu.Lock()
		t.keys, t.mac = nil, nil
		t.mu.Unlock()
		return err
	}
	mac, err := t.cfg.Dialect.NewMAC(keys.MAK)
	if err != nil {
		t.mu.Lock()
		t.keys, t.mac = nil, nil
		t.mu.Unlock()
		return fmt.Errorf("isoswitch: sign-on MAC key: %w", err)
	}
	var mismatch *BatchMismatch
	if r.Batch != 0 {
		// The host's batch is adopted while the open one is empty; a
		// batch with transactions stays theirs until it is settled.
		err := t.cfg.Journal.AdoptBatch(r.Batch)
		switch {
		case errors.Is(err, reversal.ErrBatchNotEmpty), errors.Is(err, reversal.ErrBatchUsed):
			if open, oerr := t.cfg.Journal.OpenBatch(); oerr == nil {
				mismatch = &BatchMismatch{Terminal: open, Host: r.Batch, HostBatchUsed: errors.Is(err, reversal.ErrBatchUsed)}
			}
		case err != nil:
			t.log.Warn("keeping the terminal's batch", "host_batch", r.Batch.String(), "err", err)
		}
	}
	t.mu.Lock()
	if mismatch != nil && (t.batchMismatch == nil || *t.batchMismatch != *mismatch) {
		t.log.Info(mismatch.String()) // once per terminal and pair of numbers; BatchMismatch tells the application
	}
	t.batchMismatch = mismatch
	t.keys, t.mac, t.operator, t.resignOn = keys, mac, op, false
	if !r.HostTime.IsZero() {
		t.clockSkew = time.Until(r.HostTime)
	}
	t.mu.Unlock()
	t.log.Info("signed on", "keys", keys, "operator", string(op))
	return nil
}

// signOn exchanges the sign-on and unwraps its keys, checking each against
// the length the dialect's key block gives it under the scheme asked for.
func (t *Terminal) signOn(ctx context.Context, op iso.OperatorCode) (*iso.WorkingKeys, iso.SignOnResponse, error) {
	want, err := iso.SignOnKeyLengths(t.cfg.Dialect, t.scheme)
	if err != nil {
		return nil, iso.SignOnResponse{}, err
	}
	reply, err := t.network(ctx, op, iso.SignOnRequest{Scheme: t.scheme})
	if err != nil {
		return nil, iso.SignOnResponse{}, err
	}
	r, ok := reply.(iso.SignOnResponse)
	if !ok || !r.Code.Approved() {
		return nil, iso.SignOnResponse{}, &DeclinedError{Code: reply.Result()}
	}
	keys := &iso.WorkingKeys{}
	unwrap := func(what string, w *iso.WrappedKey, n int) ([]byte, error) {
		if w == nil {
			return nil, fmt.Errorf("isoswitch: sign-on %s: %w: the reply carries none", what, iso.ErrKeyLength)
		}
		k, err := iso.UnwrapKey(t.cfg.MasterKey, *w)
		if err != nil {
			return nil, fmt.Errorf("isoswitch: sign-on %s: %w", what, err)
		}
		if len(k) != n {
			clear(k)
			return nil, fmt.Errorf("isoswitch: sign-on %s: %w: %d bytes, the key scheme gives %d", what, iso.ErrKeyLength, len(k), n)
		}
		return k, nil
	}
	fail := func(err error) (*iso.WorkingKeys, iso.SignOnResponse, error) {
		clear(keys.PIK)
		clear(keys.MAK)
		return nil, iso.SignOnResponse{}, err
	}
	if keys.PIK, err = unwrap("PIN key", &r.Keys.PIK, want.PIK); err != nil {
		return fail(err)
	}
	if keys.MAK, err = unwrap("MAC key", &r.Keys.MAK, want.MAK); err != nil {
		return fail(err)
	}
	if want.TDK > 0 {
		if keys.TDK, err = unwrap("track key", r.Keys.TDK, want.TDK); err != nil {
			return fail(err)
		}
	}
	return keys, r, nil
}

// SignOff ends the session at the host and forgets the working keys.
func (t *Terminal) SignOff(ctx context.Context) error {
	reply, err := t.network(ctx, t.signedOnOperator(), iso.SignOffRequest{})
	t.mu.Lock()
	t.keys, t.mac = nil, nil
	t.mu.Unlock()
	if err != nil {
		return err
	}
	if !reply.Result().Approved() {
		return &DeclinedError{Code: reply.Result()}
	}
	return nil
}

// Echo checks the host is there (the keep-alive). A CUP echo carries no
// STAN, so its reply is matched on MTI class and terminal ID alone: echoes
// go out one at a time.
func (t *Terminal) Echo(ctx context.Context) error {
	t.echoMu.Lock()
	defer t.echoMu.Unlock()
	reply, err := t.network(ctx, t.signedOnOperator(), iso.EchoRequest{})
	if err != nil {
		return err
	}
	if !reply.Result().Approved() {
		return &DeclinedError{Code: reply.Result()}
	}
	return nil
}

func (t *Terminal) signedOnOperator() iso.OperatorCode {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.operator
}

// keepAliveEcho runs when a persistent connection has been idle.
func (t *Terminal) keepAliveEcho(*hostConn) {
	ctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	defer cancel()
	if err := t.Echo(ctx); err != nil {
		t.log.Warn("keep-alive echo failed", "err", err)
	}
}

// network sends a management message: a STAN from the journal's counter,
// no journal record, no recovery (nothing moves).
func (t *Terminal) network(ctx context.Context, op iso.OperatorCode, r iso.Request) (iso.Response, error) {
	stan, batch, err := t.cfg.Journal.NextSTAN()
	if err != nil {
		return nil, err
	}
	req, err := t.cfg.Dialect.BuildRequest(t.envelope(stan, batch, op), r)
	if err != nil {
		return nil, err
	}
	reply, err := t.exchange(ctx, req)
	if err != nil {
		return nil, err
	}
	return t.cfg.Dialect.ParseResponse(req, reply)
}

// ensureSignedOn signs on again when the host asked for it (A0, 99) or
// when there are no keys yet.
func (t *Terminal) ensureSignedOn(ctx context.Context) error {
	t.mu.Lock()
	need, op := t.keys == nil || t.resignOn, t.operator
	t.mu.Unlock()
	if !need {
		return nil
	}
	return t.SignOn(ctx, op)
}

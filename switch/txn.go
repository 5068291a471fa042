package isoswitch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// transact is the lifecycle of every financial call (the package doc, "A
// transaction"):
//
//	validate ─▶ journal: prepared, recovery armed ─▶ drain older recoveries ─▶ send
//	  ─▶ check the reply ─▶ journal: approved | declined | recovery pending ─▶ result
//
// Invalid input fails in Prepare's build, before anything is written. A
// host that cannot be reached before any byte is written leaves the record
// not-sent. Every other failure leaves the outcome unknown: the record goes
// to recovery-pending and the engine starts on it at once.
func (t *Terminal) transact(ctx context.Context, in reversal.Intent, req iso.Request) (Result, error) {
	if err := t.ensureSignedOn(ctx); err != nil {
		return Result{}, err
	}
	if err := t.batchHasRoom(in.Kind); err != nil {
		return Result{}, err
	}
	d := t.cfg.Dialect
	rec, msg, err := t.cfg.Journal.Prepare(in, func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		m, err := d.BuildRequest(t.envelope(stan, batch, in.Operator), req)
		if err != nil {
			return nil, 0, err
		}
		rec, err := d.Recovery(m)
		return m, rec, err
	})
	if err != nil {
		return Result{}, err
	}
	if err := t.drain(ctx); err != nil {
		// An earlier recovery is still pending, or has just ended
		// unconfirmed: the application is told (this request is not sent;
		// the next one goes), as the CUP reference terminal shows
		// "冲正不成功" before it goes on.
		t.notSent(rec.ID, "an earlier recovery is still pending or ended unconfirmed")
		return Result{}, err
	}
	deadline := t.timeout // the reply deadline in effect, for the error's sentence
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < deadline {
		deadline = time.Until(dl)
	}
	reply, err := t.exchangeKeep(ctx, msg)
	switch {
	case err == nil:
	case errors.Is(err, ErrUnreachable), errors.Is(err, ErrNotSignedOn):
		t.notSent(rec.ID, err.Error())
		return Result{}, err
	default:
		return t.unknown(rec, reasonOf(err), err, receivedAuth(reply), deadline)
	}
	resp, err := d.ParseResponse(msg, reply)
	if err != nil {
		return t.unknown(rec, iso.ReasonBadReply, err, receivedAuth(reply), deadline)
	}
	return t.settleOutcome(rec, resp)
}

// settleOutcome journals the host's answer and turns it into a result.
func (t *Terminal) settleOutcome(rec reversal.Record, resp iso.Response) (Result, error) {
	out := reversal.Outcome{Code: resp.Result()}
	var balance *iso.Amount
	switch r := resp.(type) {
	case iso.FinancialResponse:
		out.RRN, out.AuthCode, out.HostTime, out.Amount, balance = r.RRN, r.AuthCode, r.HostTime, r.Amount, r.Balance
		out.CardOrg = r.CardOrg
	case iso.QROrderResponse:
		out.RRN, out.AuthCode, out.HostTime = r.RRN, r.AuthCode, r.HostTime
	}
	if out.Amount.Minor != 0 && out.Amount.Currency != rec.Amount.Currency {
		out.Amount = iso.Amount{} // a balance inquiry echoes no amount; keep ours
	}
	if resp.Result().Approved() {
		approved, err := t.cfg.Journal.Approve(rec.ID, out)
		if err != nil {
			return Result{}, err
		}
		t.stats.approved.Add(1)
		res := resultOf(approved)
		res.Balance = balance
		return res, nil
	}
	declined, err := t.cfg.Journal.Decline(rec.ID, out)
	if err != nil {
		return Result{}, err
	}
	t.stats.declined.Add(1)
	return Result{}, &DeclinedError{Code: resp.Result(), Result: resultOf(declined)}
}

// unknown records that the outcome is unknown and has the engine start on
// the recovery now (bounded by the terminal's timeout per attempt).
//
// auth is the F38 of a reply that came but could not be trusted (bad MAC,
// echoed fields wrong, unreadable), or "": the reversal carries it, as
// CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReversalPack puts the received
// authorization code in the 0400.
//
// The result names the transaction (record, trace, batch, amount, masked
// PAN) and nothing the host said: the receipt of an unknown outcome.
func (t *Terminal) unknown(rec reversal.Record, reason iso.ReversalReason, cause error, auth iso.AuthCode, deadline time.Duration) (Result, error) {
	if rec.Recovery == iso.RecoveryNone {
		if _, err := t.cfg.Journal.MarkNoReply(rec.ID); err != nil {
			return Result{}, err
		}
		return resultOf(rec), cause
	}
	marked, err := t.cfg.Journal.MarkUntrustedReply(rec.ID, reason, auth)
	if err != nil {
		return Result{}, err
	}
	t.log.Warn("outcome unknown; recovery queued", "record", rec.ID, "stan", rec.STAN.String(), "reason", reason.String())
	t.mu.Lock()
	closed := t.closed
	if !closed {
		t.bg.Add(1)
	}
	t.mu.Unlock()
	if !closed {
		go func() {
			defer t.bg.Done()
			ctx, cancel := context.WithTimeout(t.bgCtx, 4*t.timeout)
			defer cancel()
			t.drainMu.Lock()
			err := t.engine.Drain(ctx)
			t.noteUnconfirmed(err)
			t.drainMu.Unlock()
			if err != nil {
				t.log.Warn("recovery not done yet", "err", err)
			}
		}()
	}
	res := resultOf(marked)
	return res, &OutcomeUnknownError{RecordID: rec.ID, STAN: rec.STAN, Batch: rec.Batch, Kind: rec.Kind,
		Reason: reason, Recovery: rec.Recovery, Deadline: deadline, Result: res, Err: cause}
}

func (t *Terminal) notSent(id uint64, why string) {
	if _, err := t.cfg.Journal.MarkNotSent(id, why); err != nil {
		t.log.Error("journaling a request that was not sent", "record", id, "err", err)
	}
}

// receivedAuth is the F38 of an untrusted reply, when it is a well-formed
// an6 authorization code; "" otherwise (no reply, no F38, garbage).
func receivedAuth(reply *iso.Message) iso.AuthCode {
	if reply == nil {
		return ""
	}
	a := iso.AuthCode(reply.Value(38))
	if a == "" || a.Validate() != nil {
		return ""
	}
	return a
}

// reasonOf maps why a reply is missing or untrusted to a reversal reason.
func reasonOf(err error) iso.ReversalReason {
	switch {
	case errors.Is(err, iso.ErrMACMismatch):
		return iso.ReasonBadMAC
	case errors.Is(err, iso.ErrBadReply), errors.Is(err, ErrUnreadableReply):
		return iso.ReasonBadReply
	case errors.Is(err, ErrConnectionLost):
		return iso.ReasonConnectionLost
	case errors.Is(err, ErrCancelled):
		return iso.ReasonCancelled
	}
	return iso.ReasonTimeout
}

// Drain sends pending reversals and repeats now; Settle and every financial
// call do it first anyway. It returns a *reversal.PendingError for what is
// still pending and a *reversal.UnconfirmedError for what ended unconfirmed
// since the last report (joined when both).
func (t *Terminal) Drain(ctx context.Context) error { return t.drain(ctx) }

// batchHasRoom refuses a transaction that would take the open batch past
// what the dialect can settle: the batch must be settled first. A batch
// being settled takes nothing new either.
func (t *Terminal) batchHasRoom(k iso.Kind) error {
	if !k.Financial() && k != iso.KindQROrderCreate {
		return nil
	}
	j := t.cfg.Journal
	batch, err := j.OpenBatch()
	if err != nil {
		return err
	}
	if st, err := j.Batch(batch); err != nil {
		return err
	} else if st.Status != reversal.BatchOpen {
		return &NotAllowedError{Why: fmt.Sprintf("batch %s is being settled", batch), Instead: "finish the settlement"}
	}
	limit := t.cfg.Dialect.BatchLimit()
	if limit == 0 {
		return nil
	}
	n, err := j.BatchSize(batch)
	if err != nil {
		return err
	}
	if n >= limit {
		return &NotAllowedError{Why: fmt.Sprintf("batch %s holds %d transactions, as many as the host can settle", batch, n), Instead: "settle first"}
	}
	return nil
}

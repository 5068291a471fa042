package isoswitch

import (
	"context"
	"fmt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// SettleResult is what a settlement report needs.
type SettleResult struct {
	Batch     iso.BatchNumber
	Totals    iso.Totals
	Verdict   iso.Verdict // the host's first answer
	Uploaded  int         // entries uploaded because the host disagreed
	NextBatch iso.BatchNumber
	// Unconfirmed are the batch's records whose reversal or repeat ended
	// without the host's confirmation (reversal.StateUnconfirmed): not in
	// the totals, to be settled with the acquirer.
	Unconfirmed []reversal.Record
}

// Settle closes the open batch with the host: it drains pending reversals,
// sends the journal's totals and, if the host reports them out of balance,
// uploads the batch the dialect's way and closes it. Every step is
// journaled before the next message, so a Settle interrupted anywhere (a
// crash included) resumes where it stopped; the batch number advances only
// when the host has accepted the close. progress, if not nil, is called as
// the upload goes (done of total).
func (t *Terminal) Settle(ctx context.Context, who Credentials, progress func(done, total int)) (SettleResult, error) {
	op, err := t.authorise(ctx, who, ActionSettle)
	if err != nil {
		return SettleResult{}, err
	}
	if err := t.ensureSignedOn(ctx); err != nil {
		return SettleResult{}, err
	}
	if err := t.drain(ctx); err != nil && !onlyUnconfirmed(err) {
		return SettleResult{}, err // an unconfirmed record does not hold the batch: it is reported below
	}
	j, d := t.cfg.Journal, t.cfg.Dialect
	batch, err := j.OpenBatch()
	if err != nil {
		return SettleResult{}, err
	}
	entries, _, err := j.Entries(batch)
	if err != nil {
		return SettleResult{}, err
	}
	res := SettleResult{Batch: batch, Totals: d.Totals(entries)}
	if res.Unconfirmed, err = t.unconfirmedIn(batch); err != nil {
		return res, err
	}
	currency := t.currency
	if len(entries) > 0 {
		currency = entries[0].Amount.Currency
	}
	st, err := j.Batch(batch)
	if err != nil {
		return res, err
	}
	// Build the settlement before any state changes: a request the dialect
	// refuses must leave the batch open, not half-settled.
	if _, err := d.BuildRequest(t.envelope(1, batch, op), iso.SettlementRequest{Totals: res.Totals, Currency: currency}); err != nil {
		return res, err
	}
	if st.Status == reversal.BatchOpen {
		if err := j.SetBatchStatus(batch, reversal.BatchSettling); err != nil {
			return res, err
		}
		st.Status = reversal.BatchSettling
	}
	if st.Status == reversal.BatchSettling {
		// A settlement is never reversed: if its reply is lost, it is sent
		// again, and the batch stays open until one comes (domain.md §7.2).
		reply, err := t.network(ctx, op, iso.SettlementRequest{Totals: res.Totals, Currency: currency})
		if err != nil {
			return res, err
		}
		sr, ok := reply.(iso.SettlementResponse)
		if !ok {
			return res, fmt.Errorf("isoswitch: settlement answered with %T", reply)
		}
		res.Verdict = sr.Verdict
		switch sr.Verdict {
		case iso.VerdictBalanced:
			return t.closeBatch(batch, res)
		case iso.VerdictOutOfBalance:
			if err := j.SetBatchStatus(batch, reversal.BatchUploading); err != nil {
				return res, err
			}
		default:
			return res, &DeclinedError{Code: sr.Code}
		}
	} else {
		res.Verdict = iso.VerdictOutOfBalance // resuming an upload
	}
	uploaded, err := t.upload(ctx, op, batch, len(entries), progress)
	res.Uploaded = uploaded
	if err != nil {
		return res, err
	}
	reply, err := t.network(ctx, op, d.CloseAfterUpload(res.Totals, currency, len(entries), false))
	if err != nil {
		return res, err
	}
	if !reply.Result().Approved() {
		return res, &DeclinedError{Code: reply.Result()}
	}
	return t.closeBatch(batch, res)
}

// upload sends what the host has not acknowledged yet, as many entries a
// message as the dialect packs, journaling each acknowledgement.
func (t *Terminal) upload(ctx context.Context, op iso.OperatorCode, batch iso.BatchNumber, total int, progress func(int, int)) (int, error) {
	pending, ids, err := t.cfg.Journal.PendingUploads(batch)
	if err != nil {
		return 0, err
	}
	done := total - len(pending)
	size := t.cfg.Dialect.UploadBatchSize()
	for len(pending) > 0 {
		n := min(size, len(pending))
		reply, err := t.network(ctx, op, iso.BatchUploadRequest{Entries: pending[:n]})
		if err != nil {
			return done, err
		}
		if !reply.Result().Approved() {
			return done, &DeclinedError{Code: reply.Result()}
		}
		if err := t.cfg.Journal.MarkUploaded(batch, ids[:n]...); err != nil {
			return done, err
		}
		pending, ids, done = pending[n:], ids[n:], done+n
		if progress != nil {
			progress(done, total)
		}
	}
	return done, nil
}

func (t *Terminal) closeBatch(batch iso.BatchNumber, res SettleResult) (SettleResult, error) {
	if err := t.cfg.Journal.CloseBatch(batch, 0); err != nil {
		return res, err
	}
	next, err := t.cfg.Journal.OpenBatch()
	res.NextBatch = next
	t.log.Info("batch closed", "batch", batch.String(), "next", next.String(), "uploaded", res.Uploaded)
	return res, err
}

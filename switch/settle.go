package isoswitch

import (
	"context"
	"fmt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// SettleResult is what a settlement report needs.
type SettleResult struct {
	Batch   iso.BatchNumber
	Totals  iso.Totals
	Verdict iso.Verdict // the host's first answer, overall
	// Domestic and Foreign say per card class what the host said and how
	// many of the class's entries went up (CUP reconciles and uploads the
	// classes apart; ISO87 reports Domestic only).
	Domestic, Foreign ClassSettlement
	Uploaded          int // entries acknowledged in the batch upload, all classes
	NextBatch         iso.BatchNumber
	// Unconfirmed are the batch's records whose reversal or repeat ended
	// without the host's confirmation (reversal.StateUnconfirmed): not in
	// the totals, to be settled with the acquirer.
	Unconfirmed []reversal.Record
}

// ClassSettlement is the settlement of one card class.
type ClassSettlement struct {
	Verdict  iso.Verdict // what the host said of the class
	Uploaded int         // entries of the class acknowledged in the upload
}

// Settle closes the open batch with the host: it drains pending reversals,
// sends the journal's totals and then does what the dialect plans for the
// host's verdict (Dialect.PlanUpload): the upload messages, then the
// request that closes the batch (CUP: always the upload end; ISO87: the
// second settlement, and nothing when balanced). Every step is journaled
// before the next message (the verdict before the first upload, each
// acknowledged upload message in one write), so a Settle interrupted
// anywhere, a crash included, resumes at the exact message it stopped at;
// the batch number advances only when the host has accepted the close.
// Before the totals are sent, every QR order of the batch still waiting is
// queried and, if need be, closed, so that none is paid into a closed
// batch; one whose close the host does not confirm refuses the settlement
// with a *QROrderPendingError, nothing sent and the batch open.
// progress, if not nil, is called as the upload goes (done of total).
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
	if st, err := j.Batch(batch); err != nil {
		return SettleResult{}, err
	} else if st.Status == reversal.BatchOpen || st.Status == reversal.BatchSettling {
		// Before the totals go: no QR order of the batch may be left waiting.
		if err := t.resolveQROrders(ctx, batch); err != nil {
			return SettleResult{Batch: batch}, err
		}
	}
	entries, ids, err := j.Entries(batch)
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
	var verdict iso.SettlementResponse
	if st.Status == reversal.BatchSettling {
		// A settlement is never reversed: if its reply is lost, it is sent
		// again, and the batch stays open until one comes.
		reply, err := t.network(ctx, op, iso.SettlementRequest{Totals: res.Totals, Currency: currency})
		if err != nil {
			return res, err
		}
		sr, ok := reply.(iso.SettlementResponse)
		if !ok {
			return res, fmt.Errorf("isoswitch: settlement answered with %T", reply)
		}
		verdict = sr
		res.setVerdict(sr)
		if sr.Verdict != iso.VerdictBalanced && sr.Verdict != iso.VerdictOutOfBalance {
			return res, &DeclinedError{Code: sr.Code}
		}
		plan, err := d.PlanUpload(sr, entries, 0, res.Totals, currency)
		if err != nil {
			return res, err
		}
		if plan.Close == nil {
			return t.closeBatch(batch, res)
		}
		if err := j.BeginUpload(batch, sr); err != nil {
			return res, err
		}
	} else {
		verdict = st.Verdict() // resuming an upload: plan from the kept verdict
		res.setVerdict(verdict)
	}
	if err := t.upload(ctx, op, batch, verdict, &res, currency, entries, ids, progress); err != nil {
		return res, err
	}
	return t.closeBatch(batch, res)
}

func (r *SettleResult) setVerdict(v iso.SettlementResponse) {
	r.Verdict, r.Domestic.Verdict, r.Foreign.Verdict = v.Verdict, v.Domestic, v.Foreign
}

// upload sends what the plan says for the entries the host has not
// acknowledged yet, journaling each acknowledgement before the next
// message, then the request that closes the batch.
func (t *Terminal) upload(ctx context.Context, op iso.OperatorCode, batch iso.BatchNumber, v iso.SettlementResponse,
	res *SettleResult, currency iso.Currency, entries []iso.BatchEntry, ids []uint64, progress func(int, int)) error {
	j := t.cfg.Journal
	pending, pendingIDs, err := j.PendingUploads(batch)
	if err != nil {
		return err
	}
	st, err := j.Batch(batch)
	if err != nil {
		return err
	}
	uploaded := map[uint64]bool{}
	for _, id := range ids {
		uploaded[id] = true
	}
	for _, id := range pendingIDs {
		delete(uploaded, id)
	}
	count := func() {
		res.Domestic.Uploaded, res.Foreign.Uploaded = 0, 0
		for i, e := range entries {
			switch {
			case !uploaded[ids[i]]:
			case e.Foreign():
				res.Foreign.Uploaded++
			default:
				res.Domestic.Uploaded++
			}
		}
	}
	plan, err := t.cfg.Dialect.PlanUpload(v, pending, st.Uploaded, res.Totals, currency)
	if err != nil {
		return err
	}
	done, total := st.Uploaded, st.Uploaded+plan.Count()
	res.Uploaded = done
	count()
	for _, step := range plan.Steps {
		reply, err := t.network(ctx, op, step.Request)
		if err != nil {
			return err
		}
		if !reply.Result().Approved() {
			return &DeclinedError{Code: reply.Result()}
		}
		acked := make([]uint64, len(step.Entries))
		for k, i := range step.Entries {
			acked[k] = pendingIDs[i]
			uploaded[acked[k]] = true
		}
		if err := j.MarkUploaded(batch, acked...); err != nil {
			return err
		}
		done += len(acked)
		res.Uploaded = done
		count()
		if progress != nil {
			progress(done, total)
		}
	}
	if plan.Close == nil {
		return nil
	}
	reply, err := t.network(ctx, op, plan.Close)
	if err != nil {
		return err
	}
	if !reply.Result().Approved() {
		return &DeclinedError{Code: reply.Result()}
	}
	return nil
}

func (t *Terminal) closeBatch(batch iso.BatchNumber, res SettleResult) (SettleResult, error) {
	if err := t.cfg.Journal.CloseBatch(batch, 0); err != nil {
		return res, err
	}
	next, err := t.cfg.Journal.OpenBatch()
	res.NextBatch = next
	t.log.Info("batch closed", "batch", batch.String(), "next", next.String(), "uploaded", res.Uploaded,
		"domestic", res.Domestic.Verdict.String(), "foreign", res.Foreign.Verdict.String())
	return res, err
}

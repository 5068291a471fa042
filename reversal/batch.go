package reversal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
)

// BatchStatus is where a batch stands in settlement. Settlement is
// resumable: each step is journaled before the next message is sent.
type BatchStatus string

const (
	BatchOpen      BatchStatus = "open"      // taking transactions
	BatchSettling  BatchStatus = "settling"  // settlement request sent or about to be
	BatchUploading BatchStatus = "uploading" // host reported out of balance; uploading
	BatchClosed    BatchStatus = "closed"    // the host accepted the close
)

// BatchState is a batch's settlement progress.
type BatchState struct {
	Number   iso.BatchNumber `json:"number"`
	Status   BatchStatus     `json:"status"`
	Uploaded int             `json:"uploaded,omitempty"` // entries acknowledged in the upload
	// Domestic and Foreign are the host's settlement verdict per card
	// class, kept when the upload begins: a resumed upload plans from them.
	Domestic iso.Verdict `json:"domestic,omitempty"`
	Foreign  iso.Verdict `json:"foreign,omitempty"`
	Updated  time.Time   `json:"updated"`
}

// Verdict is the settlement reply the upload was planned from. A batch
// that began uploading before the verdicts were kept is out of balance in
// both classes: everything goes up, as it did then.
func (st BatchState) Verdict() iso.SettlementResponse {
	dom, forn := st.Domestic, st.Foreign
	if dom == iso.VerdictNone && forn == iso.VerdictNone {
		dom, forn = iso.VerdictOutOfBalance, iso.VerdictOutOfBalance
	}
	v := iso.VerdictBalanced
	for _, c := range []iso.Verdict{dom, forn} {
		if c == iso.VerdictOutOfBalance || c == iso.VerdictError {
			v = c
		}
	}
	return iso.SettlementResponse{Verdict: v, Domestic: dom, Foreign: forn}
}

// ErrBatchNotEmpty: the open batch already has transactions.
var ErrBatchNotEmpty = errors.New("reversal: the open batch has transactions")

// ErrBatchUsed: the batch number was used before in this journal (it has
// transactions, or was settled); reopening it would mix two batches.
var ErrBatchUsed = errors.New("reversal: the batch number was used before")

// ErrQRBatchClosed: a QR order's batch is closed, so its payment cannot be
// booked (SetQROrder); the host refuses such a payment too.
var ErrQRBatchClosed = errors.New("reversal: the QR order's batch is closed")

// OpenBatch returns the number of the batch new transactions go into.
func (j *Journal) OpenBatch() (iso.BatchNumber, error) {
	var b iso.BatchNumber
	err := j.db.View(func(tx *bolt.Tx) error {
		b = iso.BatchNumber(getU32(tx.Bucket(bucketMeta), keyBatch))
		return nil
	})
	return b, err
}

// AdoptBatch takes the host's batch number (CUP sign-on reply F60.2). It is
// refused while the open batch has transactions (ErrBatchNotEmpty): they
// belong to the batch they were sent in; and for a number this journal used
// before (ErrBatchUsed), as a host that lost its state (a restarted
// simulator) announces: its transactions and settlement are journaled
// under that number already.
func (j *Journal) AdoptBatch(b iso.BatchNumber) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		cur := iso.BatchNumber(getU32(meta, keyBatch))
		if cur == b {
			return nil
		}
		if tx.Bucket(bucketBatches).Get(u32(uint32(b))) != nil || hasPrefix(tx.Bucket(bucketSTAN).Cursor(), u32(uint32(b))) {
			return fmt.Errorf("%w: batch %s", ErrBatchUsed, b)
		}
		if c := tx.Bucket(bucketSTAN).Cursor(); hasPrefix(c, u32(uint32(cur))) {
			return fmt.Errorf("%w: batch %s", ErrBatchNotEmpty, cur)
		}
		return meta.Put(keyBatch, u32(uint32(b)))
	})
}

func hasPrefix(c *bolt.Cursor, prefix []byte) bool {
	k, _ := c.Seek(prefix)
	return k != nil && string(k[:len(prefix)]) == string(prefix)
}

// BatchSize counts the transactions recorded in a batch, whatever their
// state: an upper bound of what it will settle. It reads the STAN index's
// keys only.
func (j *Journal) BatchSize(b iso.BatchNumber) (int, error) {
	n := 0
	err := j.db.View(func(tx *bolt.Tx) error {
		prefix := u32(uint32(b))
		c := tx.Bucket(bucketSTAN).Cursor()
		for k, _ := c.Seek(prefix); k != nil && string(k[:4]) == string(prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// Batch returns a batch's settlement state; a batch never settled is open.
func (j *Journal) Batch(b iso.BatchNumber) (BatchState, error) {
	var st BatchState
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		st, err = batchState(tx, b)
		return err
	})
	return st, err
}

func batchState(tx *bolt.Tx, b iso.BatchNumber) (BatchState, error) {
	v := tx.Bucket(bucketBatches).Get(u32(uint32(b)))
	if v == nil {
		return BatchState{Number: b, Status: BatchOpen}, nil
	}
	var st BatchState
	if err := json.Unmarshal(v, &st); err != nil {
		return st, fmt.Errorf("%w: batch %s: %v", ErrCorrupt, b, err)
	}
	return st, nil
}

func (j *Journal) putBatch(tx *bolt.Tx, st BatchState) error {
	st.Updated = j.clock()
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketBatches).Put(u32(uint32(st.Number)), v)
}

// batchMoves are the legal settlement steps; settling and uploading may be
// re-entered when resuming after a crash.
var batchMoves = map[BatchStatus][]BatchStatus{
	BatchOpen:      {BatchSettling},
	BatchSettling:  {BatchSettling, BatchUploading, BatchClosed},
	BatchUploading: {BatchUploading, BatchClosed},
}

// SetBatchStatus moves a batch to its next settlement step.
func (j *Journal) SetBatchStatus(b iso.BatchNumber, to BatchStatus) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		st, err := batchState(tx, b)
		if err != nil {
			return err
		}
		ok := false
		for _, s := range batchMoves[st.Status] {
			ok = ok || s == to
		}
		if !ok {
			return fmt.Errorf("%w: batch %s from %s to %s", ErrIllegalTransition, b, st.Status, to)
		}
		st.Status = to
		return j.putBatch(tx, st)
	})
}

// BeginUpload moves a settling batch to uploading and keeps the host's
// verdict per card class, in one write, before the first upload message:
// an upload resumed after a crash plans from the same verdict. Calling it
// again on an uploading batch changes nothing.
func (j *Journal) BeginUpload(b iso.BatchNumber, v iso.SettlementResponse) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		st, err := batchState(tx, b)
		if err != nil {
			return err
		}
		switch st.Status {
		case BatchUploading:
			return nil
		case BatchSettling:
		default:
			return fmt.Errorf("%w: batch %s from %s to %s", ErrIllegalTransition, b, st.Status, BatchUploading)
		}
		st.Status, st.Domestic, st.Foreign = BatchUploading, v.Domestic, v.Foreign
		return j.putBatch(tx, st)
	})
}

// MarkUploaded records, in one write, that the host acknowledged these
// records in a batch upload: an interrupted upload resumes after them.
func (j *Journal) MarkUploaded(b iso.BatchNumber, ids ...uint64) error {
	return j.db.Update(func(tx *bolt.Tx) error {
		st, err := batchState(tx, b)
		if err != nil {
			return err
		}
		if st.Status != BatchUploading {
			return fmt.Errorf("%w: batch %s is %s, not uploading", ErrIllegalTransition, b, st.Status)
		}
		for _, id := range ids {
			r, err := load(tx, id)
			if err != nil {
				return err
			}
			// Only what Entries uploads can be acknowledged: an approved
			// financial record of this batch, once.
			if r.Batch != b || r.Uploaded || !r.InBatch() {
				return fmt.Errorf("%w: record %d is not a pending upload of batch %s", ErrIllegalTransition, id, b)
			}
			r.Uploaded = true
			if err := store(tx, r); err != nil {
				return err
			}
			st.Uploaded++
		}
		return j.putBatch(tx, st)
	})
}

// CloseBatch records that the host accepted the close of batch b: its
// approved records are settled, and new transactions go into next (the
// batch after b unless the host named another). Only now does the batch
// number advance. A QR order of b still waiting ends closed with the
// batch (the host ends it too: a payment after the close is refused on
// both sides, SetQROrder refuses it here), so nothing lands in a closed
// batch.
func (j *Journal) CloseBatch(b iso.BatchNumber, next iso.BatchNumber) error {
	if next == 0 {
		next = b.Next()
	}
	return j.db.Update(func(tx *bolt.Tx) error {
		st, err := batchState(tx, b)
		if err != nil {
			return err
		}
		if st.Status != BatchSettling && st.Status != BatchUploading {
			return fmt.Errorf("%w: batch %s is %s", ErrIllegalTransition, b, st.Status)
		}
		err = tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if r.Batch != b || r.State != StateApproved {
				return nil
			}
			r.Settled = true
			if r.Kind == iso.KindQROrderCreate && (r.QR == nil || r.QR.Status == iso.QRWaiting) {
				o := QROrder{Status: iso.QRClosed}
				if r.QR != nil {
					o = *r.QR
					o.Status = iso.QRClosed
				}
				r.QR = &o
				r.Events = append(r.Events, Event{At: j.clock(), State: r.State, Note: "QR order closed: its batch closed unpaid"})
			}
			return store(tx, &r)
		})
		if err != nil {
			return err
		}
		st.Status = BatchClosed
		if err := j.putBatch(tx, st); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if iso.BatchNumber(getU32(meta, keyBatch)) == b {
			return meta.Put(keyBatch, u32(uint32(next)))
		}
		return nil
	})
}

// Entries returns the approved transactions of a batch as settlement and
// batch upload need them, with clear PANs when the data key can decrypt
// them (else empty, and the dialect's upload copes), and their record ids.
func (j *Journal) Entries(b iso.BatchNumber) ([]iso.BatchEntry, []uint64, error) {
	return j.entries(b, false)
}

// PendingUploads is Entries less what the host already acknowledged in
// this batch's upload: where an interrupted upload resumes.
func (j *Journal) PendingUploads(b iso.BatchNumber) ([]iso.BatchEntry, []uint64, error) {
	return j.entries(b, true)
}

func (j *Journal) entries(b iso.BatchNumber, skipUploaded bool) ([]iso.BatchEntry, []uint64, error) {
	recs, err := j.Find(func(r Record) bool {
		return r.Batch == b && r.InBatch() && !(skipUploaded && r.Uploaded)
	})
	if err != nil {
		return nil, nil, err
	}
	entries := make([]iso.BatchEntry, len(recs))
	ids := make([]uint64, len(recs))
	for i, r := range recs {
		e := iso.BatchEntry{Kind: r.BatchKind(), STAN: r.STAN, Time: r.Created, Amount: r.Amount, RRN: r.RRN,
			AuthCode: r.AuthCode, CardOrg: r.CardOrg, Voided: r.Voided()}
		if r.OriginalID != 0 {
			if o, err := j.Get(r.OriginalID); err == nil {
				e.Original = iso.Original{STAN: o.STAN, Batch: o.Batch, Time: o.Created, RRN: o.RRN,
					AuthCode: o.AuthCode, Amount: o.Amount}
			}
		}
		if pan, err := j.PAN(r); err == nil {
			e.PAN = pan
		}
		// How the card was read and the invoice, as the request carried
		// them (F22, F62), for an upload that repeats them.
		if v := r.Request["22"]; len(v) == 3 {
			e.Entry = iso.EntryMethod(v[:2])
		}
		e.Invoice = invoiceOf(r.Request["62"])
		entries[i], ids[i] = e, r.ID
	}
	return entries, ids, nil
}

// invoiceOf reads a request's F62 invoice (n6); zero when it has none.
func invoiceOf(v string) iso.Invoice {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || len(v) != 6 {
		return 0
	}
	return iso.Invoice(n)
}

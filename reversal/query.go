package reversal

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
)

// Get returns record id.
func (j *Journal) Get(id uint64) (Record, error) {
	return j.lookup(func(*bolt.Tx) (uint64, error) { return id, nil })
}

// BySTAN finds the record with a STAN in a batch (0: the open batch).
func (j *Journal) BySTAN(batch iso.BatchNumber, stan iso.STAN) (Record, error) {
	return j.lookup(func(tx *bolt.Tx) (uint64, error) {
		if batch == 0 {
			batch = iso.BatchNumber(getU32(tx.Bucket(bucketMeta), keyBatch))
		}
		return indexed(tx, bucketSTAN, stanKey(batch, stan), fmt.Sprintf("STAN %s in batch %s", stan, batch))
	})
}

// ByRRN finds the approved sale with an RRN on a (local) date.
func (j *Journal) ByRRN(rrn iso.RRN, date time.Time) (Record, error) {
	return j.lookup(func(tx *bolt.Tx) (uint64, error) {
		return indexed(tx, bucketRRN, rrnKey(rrn, date), fmt.Sprintf("RRN %s on %s", rrn, date.Format("2006-01-02")))
	})
}

// lookup loads the record whose id find names, in one read transaction.
func (j *Journal) lookup(find func(*bolt.Tx) (uint64, error)) (Record, error) {
	var out Record
	err := j.db.View(func(tx *bolt.Tx) error {
		id, err := find(tx)
		if err != nil {
			return err
		}
		r, err := load(tx, id)
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

// indexed reads an index entry, or ErrNotFound naming what was looked for.
func indexed(tx *bolt.Tx, bucket, key []byte, what string) (uint64, error) {
	v := tx.Bucket(bucket).Get(key)
	if v == nil {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return beU64(v), nil
}

// Find returns every record match accepts, oldest first. It scans: a
// terminal's journal holds its open batch and the batches it keeps for
// refunds and audit, thousands of records, not millions.
func (j *Journal) Find(match func(Record) bool) ([]Record, error) {
	var out []Record
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(_, v []byte) error {
			var r Record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			if match(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}

// ByState returns the records in a state.
func (j *Journal) ByState(s State) ([]Record, error) {
	return j.Find(func(r Record) bool { return r.State == s })
}

// ByBatch returns the records of a batch.
func (j *Journal) ByBatch(b iso.BatchNumber) ([]Record, error) {
	return j.Find(func(r Record) bool { return r.Batch == b })
}

// Pending returns the records whose recovery is pending, oldest first: the
// order the engine sends them in. It reads the pending index, not the whole
// journal: every financial request drains first, so its cost must not grow
// with the journal's history.
func (j *Journal) Pending() ([]Record, error) {
	var out []Record
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, _ []byte) error {
			r, err := load(tx, beU64(k))
			if err != nil {
				return err
			}
			out = append(out, *r)
			return nil
		})
	})
	return out, err
}

// Cancellations returns every record a merchant must be able to show as a
// cancellation: voids, refunds, and transactions reversed, under
// recovery, given up or left unconfirmed.
func Cancellations(r Record) bool {
	return r.Kind == iso.KindVoid || r.Kind == iso.KindRefund || r.State == StateReversed ||
		r.State == StateGivenUp || r.State == StateRecoveryPending || r.State == StateUnconfirmed
}

// Exceptions returns the records the merchant must settle with the
// acquirer: recoveries an operator gave up and recoveries that ended
// unconfirmed.
func Exceptions(r Record) bool { return r.State == StateGivenUp || r.State == StateUnconfirmed }

// exportRow is a record as audit exports show it: masked PAN, no request.
type exportRow struct {
	ID         uint64 `json:"id"`
	Time       string `json:"time"`
	Kind       string `json:"kind"`
	State      State  `json:"state"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	MaskedPAN  string `json:"masked_pan,omitempty"`
	STAN       string `json:"stan"`
	Batch      string `json:"batch"`
	RRN        string `json:"rrn,omitempty"`
	AuthCode   string `json:"auth_code,omitempty"`
	Code       string `json:"response_code,omitempty"`
	Operator   string `json:"operator,omitempty"`
	OriginalID uint64 `json:"original_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Updated    string `json:"updated"`
	// LateReplies are the replies that came after the outcome was decided,
	// kept for audit and never acted on (Record.LateReplies).
	LateReplies []lateRow `json:"late_replies,omitempty"`
}

// lateRow is a late reply as exports show it.
type lateRow struct {
	At       string `json:"at"`
	Code     string `json:"response_code"`
	RRN      string `json:"rrn,omitempty"`
	AuthCode string `json:"auth_code,omitempty"`
}

// csv spells a late reply as at|code|rrn|auth_code (empty parts kept).
func (l lateRow) csv() string { return l.At + "|" + l.Code + "|" + l.RRN + "|" + l.AuthCode }

func rowOf(r Record) exportRow {
	row := exportRow{ID: r.ID, Time: r.Created.Format(time.RFC3339), Kind: r.Kind.String(), State: r.State,
		Amount: r.Amount.String(), Currency: r.Amount.Currency.Alpha, MaskedPAN: r.MaskedPAN, STAN: r.STAN.String(),
		Batch: r.Batch.String(), RRN: string(r.RRN), AuthCode: string(r.AuthCode), Code: string(r.Code),
		Operator: string(r.Operator), OriginalID: r.OriginalID, Updated: r.Updated.Format(time.RFC3339)}
	if r.Reason != 0 {
		row.Reason = r.Reason.String()
	}
	for _, l := range r.LateReplies {
		row.LateReplies = append(row.LateReplies, lateRow{At: l.At.UTC().Format(time.RFC3339), Code: string(l.Code),
			RRN: string(l.RRN), AuthCode: string(l.AuthCode)})
	}
	return row
}

// ExportJSONLines writes one JSON object per matching record (nil: all).
// A record's late replies (Record.LateReplies) are its "late_replies"
// array, each {at, response_code, rrn, auth_code}.
func (j *Journal) ExportJSONLines(w io.Writer, match func(Record) bool) error {
	recs, err := j.Find(orAll(match))
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if err := enc.Encode(rowOf(r)); err != nil {
			return err
		}
	}
	return nil
}

var csvHeader = []string{"id", "time", "kind", "state", "amount", "currency", "masked_pan", "stan", "batch",
	"rrn", "auth_code", "response_code", "operator", "original_id", "reason", "updated", "late_replies"}

// ExportCSV writes a header and one row per matching record (nil: all).
// The last column, late_replies, holds the record's late replies
// (Record.LateReplies) in arrival order, separated by ";", each spelled
// at|response_code|rrn|auth_code with the time in RFC 3339 UTC; it is empty
// when there are none.
func (j *Journal) ExportCSV(w io.Writer, match func(Record) bool) error {
	recs, err := j.Find(orAll(match))
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range recs {
		x := rowOf(r)
		orig := ""
		if x.OriginalID != 0 {
			orig = strconv.FormatUint(x.OriginalID, 10)
		}
		late := make([]string, len(x.LateReplies))
		for i, l := range x.LateReplies {
			late[i] = l.csv()
		}
		if err := cw.Write([]string{strconv.FormatUint(x.ID, 10), x.Time, x.Kind, string(x.State), x.Amount,
			x.Currency, x.MaskedPAN, x.STAN, x.Batch, x.RRN, x.AuthCode, x.Code, x.Operator, orig, x.Reason, x.Updated,
			strings.Join(late, ";")}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func orAll(match func(Record) bool) func(Record) bool {
	if match == nil {
		return func(Record) bool { return true }
	}
	return match
}

func beU64(v []byte) uint64 {
	var n uint64
	for _, b := range v {
		n = n<<8 | uint64(b)
	}
	return n
}

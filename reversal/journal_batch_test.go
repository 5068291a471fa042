package reversal_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// TestQueriesAndExports: the open batch's entries and totals, lookups by
// STAN / RRN / state, and audit exports with masked PANs only.
func TestQueriesAndExports(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t, reversal.WithDataKey(tjKey))
	s1 := tjSale(t, j, d, 1000)
	s1, _ = j.Approve(s1.ID, tjApproved("000000000031"))
	s2 := tjSale(t, j, d, 2500)
	s2, _ = j.Approve(s2.ID, tjApproved("000000000032"))
	v := tjVoid(t, j, d, s2)
	j.Approve(v.ID, tjApproved("000000000033"))
	x := tjSale(t, j, d, 99)
	j.Decline(x.ID, reversal.Outcome{Code: "51"})
	r := tjSale(t, j, d, 77)
	j.MarkRecoveryPending(r.ID, iso.ReasonTimeout)
	j.MarkReversed(r.ID, "00")

	batch, _ := j.OpenBatch()
	entries, ids, err := j.Entries(batch)
	if err != nil || len(entries) != 3 || len(ids) != 3 {
		t.Fatalf("entries %d (%v)", len(entries), err)
	}
	if entries[0].PAN != tjPAN {
		t.Errorf("entries carry the decrypted PAN for upload")
	}
	tot := d.Totals(entries)
	if tot.Domestic.DebitCount != 2 || tot.Domestic.DebitAmount != 3500 || tot.Domestic.CreditCount != 1 || tot.Domestic.CreditAmount != 2500 {
		t.Errorf("CUP totals %+v", tot.Domestic)
	}
	if got, err := j.ByRRN("000000000031", s1.Created); err != nil || got.ID != s1.ID {
		t.Errorf("ByRRN: %d %v", got.ID, err)
	}
	if rs, _ := j.ByState(reversal.StateReversed); len(rs) != 1 || rs[0].ID != r.ID {
		t.Errorf("ByState(reversed) = %v", rs)
	}

	var jl, cs bytes.Buffer
	if err := j.ExportJSONLines(&jl, reversal.Cancellations); err != nil {
		t.Fatal(err)
	}
	if err := j.ExportCSV(&cs, nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(jl.String()), "\n")
	if len(lines) != 2 { // the void and the reversed sale
		t.Errorf("cancellations: %d lines:\n%s", len(lines), jl.String())
	}
	for _, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"time", "amount", "state", "operator"} {
			if row[k] == nil {
				t.Errorf("cancellation row lacks %s: %s", k, l)
			}
		}
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil || len(rows) != 6 {
		t.Fatalf("csv rows %d: %v", len(rows), err)
	}
	for _, out := range []string{jl.String(), strings.Join(rows[1], ",")} {
		if strings.Contains(out, tjPAN.Digits()) || !strings.Contains(out, "411111******1111") {
			t.Errorf("export shows the PAN unmasked or not at all: %s", out)
		}
	}
}

// TestBatchLifecycle: the batch number advances only when the host accepted
// the close; upload progress survives; the host's batch is adopted only
// into an empty batch.
func TestBatchLifecycle(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	if err := j.AdoptBatch(12); err != nil {
		t.Fatal(err)
	}
	s := tjSale(t, j, d, 100)
	j.Approve(s.ID, tjApproved("000000000041"))
	if err := j.AdoptBatch(13); !errors.Is(err, reversal.ErrBatchNotEmpty) {
		t.Errorf("adopting into a non-empty batch: %v", err)
	}
	if err := j.AdoptBatch(12); err != nil {
		t.Errorf("adopting the open batch's own number: %v", err)
	}
	if err := j.CloseBatch(12, 0); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("closing a batch never settled: %v", err)
	}
	for _, st := range []reversal.BatchStatus{reversal.BatchSettling, reversal.BatchUploading} {
		if err := j.SetBatchStatus(12, st); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := j.OpenBatch(); b != 12 {
		t.Errorf("batch advanced before the close: %s", b)
	}
	declined := tjSale(t, j, d, 50)
	j.Decline(declined.ID, reversal.Outcome{Code: "05"})
	if err := j.MarkUploaded(12, declined.ID); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("a declined record was acknowledged as uploaded: %v", err)
	}
	if err := j.MarkUploaded(12, s.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := j.Batch(12); st.Uploaded != 1 {
		t.Errorf("upload count %d, want 1", st.Uploaded)
	}
	if err := j.MarkUploaded(12, s.ID); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("uploading twice: %v", err)
	}
	if err := j.CloseBatch(12, 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := j.OpenBatch(); b != 13 {
		t.Errorf("after close, batch %s, want 000013", b)
	}
	// A host that lost its state announces the settled batch again: the
	// empty open batch does not go back to it.
	if err := j.AdoptBatch(12); !errors.Is(err, reversal.ErrBatchUsed) {
		t.Errorf("adopting a settled batch's number: %v", err)
	}
	if b, _ := j.OpenBatch(); b != 13 {
		t.Errorf("after refusing the settled number, batch %s", b)
	}
	if got, _ := j.Get(s.ID); !got.Settled || !got.Uploaded {
		t.Errorf("closed batch's sale: settled %v uploaded %v", got.Settled, got.Uploaded)
	}
	if next := tjSale(t, j, d, 1); next.Batch != 13 || next.STAN != 3 {
		t.Errorf("next sale in batch %s STAN %s", next.Batch, next.STAN)
	}
}

// TestPendingIndexFollowsTheState: Pending reads an index kept in step with
// every state change, and a journal without the index gets it on Open.
func TestPendingIndexFollowsTheState(t *testing.T) {
	d := tjCUP(t)
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := reversal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := tjSale(t, j, d, 1), tjSale(t, j, d, 2), tjSale(t, j, d, 3)
	j.Approve(a.ID, tjApproved("000000000061"))
	j.MarkRecoveryPending(b.ID, iso.ReasonTimeout)
	j.MarkRecoveryPending(c.ID, iso.ReasonTimeout)
	if p, _ := j.Pending(); len(p) != 2 || p[0].ID != b.ID || p[1].ID != c.ID {
		t.Fatalf("pending %v", p)
	}
	j.MarkReversed(b.ID, "00")
	if p, _ := j.Pending(); len(p) != 1 || p[0].ID != c.ID {
		t.Fatalf("after reversing one: %v", p)
	}
	j.Close()

	// A journal from before the index: drop the bucket, reopen, rebuilt.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("pending")) })
	db.Close()
	j, err = reversal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if p, _ := j.Pending(); len(p) != 1 || p[0].ID != c.ID {
		t.Errorf("rebuilt index: %v", p)
	}
}

package reversal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/posswitch/posswitch/iso"
)

// Errors opening a journal.
var (
	// ErrLocked: another process (or another Journal in this one) holds the
	// file. Two writers would break every invariant, so Open fails fast.
	ErrLocked = errors.New("reversal: journal is held by another process")
	// ErrForeignFile: the file is not a posswitch journal (another
	// application's bbolt file, or not a bbolt file at all). It is left as
	// it is.
	ErrForeignFile = errors.New("reversal: file is not a posswitch journal")
	// ErrCorrupt: the file was a journal but cannot be read.
	ErrCorrupt = errors.New("reversal: journal is corrupt")
	// ErrNotFound: no record matches.
	ErrNotFound = errors.New("reversal: no such record")
)

const (
	magic         = "posswitch-journal"
	schemaVersion = "1"
)

var (
	bucketMeta    = []byte("meta")
	bucketRecords = []byte("records")
	bucketSTAN    = []byte("stan")    // batch(4) stan(4) → id: STANs in use per batch
	bucketRRN     = []byte("rrn")     // rrn | yyyymmdd → id: approved originals by RRN
	bucketBatches = []byte("batches") // batch(4) → BatchState
	bucketPending = []byte("pending") // id → (nothing): records in recovery-pending, so a drain reads only them
	keyMagic      = []byte("magic")
	keySchema     = []byte("schema")
	keySTAN       = []byte("stan")
	keyBatch      = []byte("batch")
	keyNextID     = []byte("next-id")
)

// Journal is the durable record of every financial transaction a terminal
// sends. It is safe for concurrent use; bbolt serialises writers.
type Journal struct {
	db    *bolt.DB
	key   []byte // AES data key for PANs, or nil
	clock func() time.Time
}

// Option configures Open.
type Option func(*openConfig) error

type openConfig struct {
	dataKey     []byte
	noSync      bool
	lockTimeout time.Duration
	clock       func() time.Time
}

// WithDataKey supplies the AES key (16, 24 or 32 bytes) under which full
// PANs are stored for batch upload. Without it only masked PANs are kept.
func WithDataKey(key []byte) Option {
	return func(c *openConfig) error {
		switch len(key) {
		case 16, 24, 32:
			c.dataKey = append([]byte(nil), key...)
			return nil
		}
		return fmt.Errorf("reversal: data key must be 16, 24 or 32 bytes")
	}
}

// WithNoSync skips fsync: for simulators and benchmarks only. A power cut
// can then lose the last writes, which breaks the journal's promise.
func WithNoSync() Option {
	return func(c *openConfig) error { c.noSync = true; return nil }
}

// WithLockTimeout sets how long Open waits for another holder to let go
// (default 100 ms).
func WithLockTimeout(d time.Duration) Option {
	return func(c *openConfig) error { c.lockTimeout = d; return nil }
}

// WithClock sets the clock stamped on records (tests pin it).
func WithClock(now func() time.Time) Option {
	return func(c *openConfig) error { c.clock = now; return nil }
}

// Open opens or creates the journal at path. A new file starts with STAN 0
// (the first is 000001) and batch 000001.
func Open(path string, opts ...Option) (*Journal, error) {
	cfg := openConfig{lockTimeout: 100 * time.Millisecond, clock: time.Now}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	existed := fileHasContent(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.lockTimeout, NoSync: cfg.noSync})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w: %s", ErrForeignFile, path)
	case errors.Is(err, berrors.ErrChecksum):
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, path)
	case err != nil:
		if existed {
			return nil, fmt.Errorf("%w: %s: %v", ErrForeignFile, path, err)
		}
		return nil, fmt.Errorf("reversal: open %s: %w", path, err)
	}
	j := &Journal{db: db, key: cfg.dataKey, clock: cfg.clock}
	if err := j.initSchema(); err != nil {
		db.Close()
		return nil, err
	}
	return j, nil
}

func fileHasContent(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

// initSchema creates the buckets of a new journal, or checks that an
// existing file is one of ours: a bbolt file with other buckets and no
// magic is another application's, and is refused rather than written into.
func (j *Journal) initSchema() error {
	return j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return ErrForeignFile
			}
			return createSchema(tx)
		}
		// Journals written before the pending index existed get it now.
		if tx.Bucket(bucketPending) == nil {
			if err := buildPendingIndex(tx); err != nil {
				return err
			}
		}
		if !bytes.Equal(meta.Get(keyMagic), []byte(magic)) {
			return ErrForeignFile
		}
		if v := meta.Get(keySchema); !bytes.Equal(v, []byte(schemaVersion)) {
			return fmt.Errorf("%w: schema %q, this build reads %q", ErrForeignFile, v, schemaVersion)
		}
		for _, b := range [][]byte{bucketRecords, bucketSTAN, bucketRRN, bucketBatches} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrCorrupt, b)
			}
		}
		return nil
	})
}

func createSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	for _, b := range [][]byte{bucketRecords, bucketSTAN, bucketRRN, bucketBatches, bucketPending} {
		if _, err := tx.CreateBucket(b); err != nil {
			return err
		}
	}
	for k, v := range map[string][]byte{string(keyMagic): []byte(magic), string(keySchema): []byte(schemaVersion),
		string(keySTAN): u32(0), string(keyBatch): u32(1), string(keyNextID): u64(1)} {
		if err := meta.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the file.
func (j *Journal) Close() error { return j.db.Close() }

// Path is the journal's file.
func (j *Journal) Path() string { return j.db.Path() }

func u32(v uint32) []byte { b := make([]byte, 4); binary.BigEndian.PutUint32(b, v); return b }
func u64(v uint64) []byte { b := make([]byte, 8); binary.BigEndian.PutUint64(b, v); return b }

func getU32(b *bolt.Bucket, k []byte) uint32 {
	v := b.Get(k)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

func stanKey(batch iso.BatchNumber, stan iso.STAN) []byte {
	return append(u32(uint32(batch)), u32(uint32(stan))...)
}

// load reads record id inside a transaction.
func load(tx *bolt.Tx, id uint64) (*Record, error) {
	v := tx.Bucket(bucketRecords).Get(u64(id))
	if v == nil {
		return nil, fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	var r Record
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: record %d: %v", ErrCorrupt, id, err)
	}
	return &r, nil
}

// store writes r inside a transaction, keeping the indexes in step.
func store(tx *bolt.Tx, r *Record) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketRecords).Put(u64(r.ID), v); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSTAN).Put(stanKey(r.Batch, r.STAN), u64(r.ID)); err != nil {
		return err
	}
	pending := tx.Bucket(bucketPending)
	if r.State == StateRecoveryPending {
		if err := pending.Put(u64(r.ID), nil); err != nil {
			return err
		}
	} else if err := pending.Delete(u64(r.ID)); err != nil {
		return err
	}
	if r.RRN != "" && r.InBatch() && r.BatchKind() != iso.KindVoid && r.BatchKind() != iso.KindRefund {
		return tx.Bucket(bucketRRN).Put(rrnKey(r.RRN, r.Created), u64(r.ID))
	}
	return nil
}

// buildPendingIndex fills the pending index from the records.
func buildPendingIndex(tx *bolt.Tx) error {
	pending, err := tx.CreateBucket(bucketPending)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if r.State == StateRecoveryPending {
			return pending.Put(k, nil)
		}
		return nil
	})
}

func rrnKey(rrn iso.RRN, day time.Time) []byte {
	return []byte(string(rrn) + "|" + day.Format("20060102"))
}

// update runs fn on record id in one fsynced transaction and returns the
// record as written.
func (j *Journal) update(id uint64, fn func(tx *bolt.Tx, r *Record) error) (Record, error) {
	var out Record
	err := j.db.Update(func(tx *bolt.Tx) error {
		r, err := load(tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, r); err != nil {
			return err
		}
		r.Updated = j.clock()
		if err := store(tx, r); err != nil {
			return err
		}
		out = *r
		return nil
	})
	return out, err
}

// move changes r's state if the transitions table allows it, noting why.
func (j *Journal) move(r *Record, to State, op iso.OperatorCode, note string) error {
	if !canMove(r.State, to) {
		return &TransitionError{ID: r.ID, From: r.State, To: to}
	}
	r.State = to
	r.Events = append(r.Events, Event{At: j.clock(), State: to, Operator: op, Note: note})
	return nil
}

package reversal_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
)

// Benchmarks of the journal's writes beside a bare bbolt baseline measured
// in the same run. Each benchmark has the sub-benchmarks
// <sync>/path=journal and <sync>/path=bbolt, where sync is fsync (every
// commit fsynced, as in production) or nosync (reversal.WithNoSync,
// bolt.Options{NoSync: true}: what is left is the CPU and page work):
//
//	JournalSale        journal: Prepare (builds a real CUP sale) + Approve
//	                   bbolt:   two Update transactions, each one Put of a value
//	                            the size of the record as Prepare / Approve
//	                            write it, under a new key
//	JournalTransition  journal: RecordAttempt on one recovery-pending record
//	                   bbolt:   one Update overwriting one key with a value the
//	                            size of that record
//
// Every journal transition is one bbolt Update, so "transitions/s" is also
// reported for the baseline as its Updates per second. The journal's Update
// does more than the baseline's single Put: it reads and decodes the record,
// encodes it again and keeps its indexes (STAN, RRN, counters), which is
// exactly the overhead these benchmarks put a number on.
//
// Journal files and bbolt files live in b.TempDir(), one fresh file per
// benchmark invocation.

var benchTime = time.Date(2026, 3, 14, 10, 30, 15, 0, time.UTC)

// benchSale is what each benchmark sale charges: a chip card with the
// published Visa test number.
var benchSale = iso.SaleRequest{
	Amount: iso.Amount{Minor: 12345, Currency: iso.CNY},
	Card: iso.Card{PAN: "4111111111111111", Expiry: "2812", Sequence: "001",
		Entry: iso.EntryMode{Method: iso.EntryICC}},
}

var benchIntent = reversal.Intent{Kind: iso.KindSale, Operator: "01", Amount: benchSale.Amount, PAN: benchSale.Card.PAN}

// saleBuild returns the BuildFunc of a CUP sale: the journal gives it the
// STAN and batch, it spells the request and says a reversal recovers it.
func saleBuild(tb testing.TB) reversal.BuildFunc {
	tb.Helper()
	d, err := cup.New()
	if err != nil {
		tb.Fatal(err)
	}
	return func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: batch,
			Time: benchTime, Operator: "01"}
		m, err := d.BuildRequest(env, benchSale)
		return m, iso.RecoveryReverse, err
	}
}

// approval is the host's approval of the i-th sale; each gets its own RRN,
// as the journal indexes approved sales by RRN.
func approval(i int) reversal.Outcome {
	return reversal.Outcome{Code: iso.CodeApproved, RRN: iso.RRN(fmt.Sprintf("3073%08d", i%100_000_000)),
		AuthCode: "A1B2C3", HostTime: benchTime}
}

func openJournal(tb testing.TB, nosync bool) *reversal.Journal {
	tb.Helper()
	var opts []reversal.Option
	if nosync {
		opts = append(opts, reversal.WithNoSync())
	}
	j, err := reversal.Open(filepath.Join(tb.TempDir(), "journal.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	return j
}

func jsonLen(tb testing.TB, r reversal.Record) int {
	tb.Helper()
	v, err := json.Marshal(r)
	if err != nil {
		tb.Fatal(err)
	}
	return len(v)
}

// recordSizes measures, on a scratch journal, the record JSON the journal
// writes for a sale when prepared and when approved, and for a
// recovery-pending record after one RecordAttempt.
func recordSizes(tb testing.TB) (prepared, approved, attempted int) {
	tb.Helper()
	j := openJournal(tb, true)
	r, _, err := j.Prepare(benchIntent, saleBuild(tb))
	if err != nil {
		tb.Fatal(err)
	}
	prepared = jsonLen(tb, r)
	if r, err = j.Approve(r.ID, approval(0)); err != nil {
		tb.Fatal(err)
	}
	approved = jsonLen(tb, r)
	if r, _, err = j.Prepare(benchIntent, saleBuild(tb)); err != nil {
		tb.Fatal(err)
	}
	if _, err = j.MarkRecoveryPending(r.ID, iso.ReasonTimeout); err != nil {
		tb.Fatal(err)
	}
	if r, err = j.RecordAttempt(r.ID); err != nil {
		tb.Fatal(err)
	}
	return prepared, approved, jsonLen(tb, r)
}

var bboltBucket = []byte("records")

func openBolt(tb testing.TB, nosync bool) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "bare.db"), 0o600, &bolt.Options{NoSync: nosync})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bboltBucket)
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	return db
}

func putValue(db *bolt.DB, key, value []byte) error {
	return db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bboltBucket).Put(key, value) })
}

func key(n uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), n) }

func value(size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

var syncModes = []struct {
	name   string
	nosync bool
}{{"fsync", false}, {"nosync", true}}

func BenchmarkJournalSale(b *testing.B) {
	prepared, approved, _ := recordSizes(b)
	b.Logf("record JSON: %d B prepared, %d B approved", prepared, approved)
	for _, m := range syncModes {
		b.Run(m.name+"/path=journal", func(b *testing.B) {
			j := openJournal(b, m.nosync)
			build := saleBuild(b)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r, _, err := j.Prepare(benchIntent, build)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := j.Approve(r.ID, approval(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
		b.Run(m.name+"/path=bbolt", func(b *testing.B) {
			db := openBolt(b, m.nosync)
			vPrepared, vApproved := value(prepared), value(approved)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := putValue(db, key(uint64(2*i)), vPrepared); err != nil {
					b.Fatal(err)
				}
				if err := putValue(db, key(uint64(2*i+1)), vApproved); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}

func BenchmarkJournalTransition(b *testing.B) {
	_, _, attempted := recordSizes(b)
	b.Logf("record JSON: %d B recovery-pending", attempted)
	for _, m := range syncModes {
		b.Run(m.name+"/path=journal", func(b *testing.B) {
			j := openJournal(b, m.nosync)
			r, _, err := j.Prepare(benchIntent, saleBuild(b))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := j.MarkRecoveryPending(r.ID, iso.ReasonTimeout); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := j.RecordAttempt(r.ID); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
		b.Run(m.name+"/path=bbolt", func(b *testing.B) {
			db := openBolt(b, m.nosync)
			k, v := key(1), value(attempted)
			if err := putValue(db, k, v); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := putValue(db, k, v); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}

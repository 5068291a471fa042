package reversal_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
)

// Published test card data only.
const (
	tjPAN    = iso.PAN("4111111111111111")
	tjTrack2 = iso.Track2("4111111111111111=2812101123456789")
)

var tjKey = bytes.Repeat([]byte{0x42}, 32)

func tjOpen(t *testing.T, opts ...reversal.Option) *reversal.Journal {
	t.Helper()
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func tjCUP(t *testing.T) iso.Dialect {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tjEnv(stan iso.STAN, batch iso.BatchNumber) iso.Envelope {
	return iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: batch, Time: time.Now()}
}

func tjPIN(t *testing.T) *iso.PINBlock {
	clear, err := iso.FormatPINBlock0("123456", tjPAN.Digits())
	if err != nil {
		t.Fatal(err)
	}
	b, err := iso.EncryptPINBlock(clear, bytes.Repeat([]byte{0x11}, 16))
	if err != nil {
		t.Fatal(err)
	}
	return &b
}

// tjPrepare records a request built by d as the journal's next transaction.
func tjPrepare(t *testing.T, j *reversal.Journal, d iso.Dialect, in reversal.Intent, req iso.Request) reversal.Record {
	t.Helper()
	rec, _, err := j.Prepare(in, func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		m, err := d.BuildRequest(tjEnv(stan, batch), req)
		if err != nil {
			return nil, 0, err
		}
		rec, err := d.Recovery(m)
		return m, rec, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func tjSale(t *testing.T, j *reversal.Journal, d iso.Dialect, minor int64) reversal.Record {
	t.Helper()
	amount := iso.Amount{Minor: minor, Currency: iso.CNY}
	card := iso.Card{Track2: tjTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: tjPIN(t)}
	return tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindSale, Operator: "01", Amount: amount, PAN: card.Account()},
		iso.SaleRequest{Amount: amount, Card: card})
}

func tjVoid(t *testing.T, j *reversal.Journal, d iso.Dialect, orig reversal.Record) reversal.Record {
	t.Helper()
	req := iso.VoidRequest{Original: iso.Original{STAN: orig.STAN, Batch: orig.Batch, RRN: orig.RRN, AuthCode: orig.AuthCode,
		Time: orig.Created, Amount: orig.Amount}}
	return tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindVoid, Operator: "00", Amount: orig.Amount, OriginalID: orig.ID}, req)
}

func tjApproved(rrn string) reversal.Outcome {
	return reversal.Outcome{Code: "00", RRN: iso.RRN(rrn), AuthCode: "A1B2C3", HostTime: time.Now()}
}

// TestTransitionTable drives a record into every state and tries every
// move: the legal ones succeed, the others are refused with a
// *TransitionError and change nothing.
func TestTransitionTable(t *testing.T) {
	type move struct {
		name string
		to   reversal.State
		do   func(j *reversal.Journal, id uint64) (reversal.Record, error)
	}
	moves := []move{
		{"approve", reversal.StateApproved, func(j *reversal.Journal, id uint64) (reversal.Record, error) {
			return j.Approve(id, tjApproved("000000000001"))
		}},
		{"decline", reversal.StateDeclined, func(j *reversal.Journal, id uint64) (reversal.Record, error) {
			return j.Decline(id, reversal.Outcome{Code: "51"})
		}},
		{"recovery", reversal.StateRecoveryPending, func(j *reversal.Journal, id uint64) (reversal.Record, error) {
			return j.MarkRecoveryPending(id, iso.ReasonTimeout)
		}},
		{"reversed", reversal.StateReversed, func(j *reversal.Journal, id uint64) (reversal.Record, error) { return j.MarkReversed(id, "00") }},
		{"give up", reversal.StateGivenUp, func(j *reversal.Journal, id uint64) (reversal.Record, error) { return j.GiveUp(id, "00", "test") }},
		{"not sent", reversal.StateNotSent, func(j *reversal.Journal, id uint64) (reversal.Record, error) { return j.MarkNotSent(id, "dial failed") }},
	}
	// paths reach each state of a reversible sale from prepared.
	paths := map[reversal.State][]int{
		reversal.StatePrepared:        {},
		reversal.StateApproved:        {0},
		reversal.StateDeclined:        {1},
		reversal.StateRecoveryPending: {2},
		reversal.StateReversed:        {2, 3},
		reversal.StateGivenUp:         {2, 4},
		reversal.StateNotSent:         {5},
	}
	legal := map[reversal.State][]reversal.State{
		reversal.StatePrepared:        {reversal.StateApproved, reversal.StateDeclined, reversal.StateRecoveryPending, reversal.StateNotSent},
		reversal.StateApproved:        {reversal.StateRecoveryPending},
		reversal.StateRecoveryPending: {reversal.StateReversed, reversal.StateGivenUp},
	}
	d := tjCUP(t)
	j := tjOpen(t)
	for from, path := range paths {
		for _, m := range moves {
			rec := tjSale(t, j, d, 1000)
			for _, step := range path {
				if _, err := moves[step].do(j, rec.ID); err != nil {
					t.Fatalf("reaching %s: %v", from, err)
				}
			}
			before, _ := j.Get(rec.ID)
			after, err := m.do(j, rec.ID)
			want := false
			for _, s := range legal[from] {
				want = want || s == m.to
			}
			if want {
				if err != nil || after.State != m.to {
					t.Errorf("%s → %s (%s): %v, state %s", from, m.to, m.name, err, after.State)
				}
				continue
			}
			var te *reversal.TransitionError
			if !errors.As(err, &te) || !errors.Is(err, reversal.ErrIllegalTransition) {
				t.Errorf("%s → %s (%s) was allowed: %v", from, m.to, m.name, err)
			}
			now, _ := j.Get(rec.ID)
			if now.State != before.State || len(now.Events) != len(before.Events) {
				t.Errorf("%s → %s refused but the record changed", from, m.to)
			}
		}
	}
}

// TestLateApprovalNeverResurrects: an approval that arrives for a record
// already under reversal is refused as a transition and kept as a late reply.
func TestLateApprovalNeverResurrects(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	rec := tjSale(t, j, d, 500)
	if _, err := j.MarkRecoveryPending(rec.ID, iso.ReasonTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Approve(rec.ID, tjApproved("000000000009")); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Fatalf("late approval applied: %v", err)
	}
	got, err := j.RecordLateReply(rec.ID, reversal.LateReply{Code: "00", RRN: "000000000009", AuthCode: "ZZ0001"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != reversal.StateRecoveryPending || len(got.LateReplies) != 1 || got.LateReplies[0].RRN != "000000000009" {
		t.Errorf("late reply not kept as audit only: state %s, %+v", got.State, got.LateReplies)
	}
}

// TestVoidAndRefundEffects: an approved void marks its sale voided, its
// reversal makes the sale live again; refunds count against the sale.
func TestVoidAndRefundEffects(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 2000)
	sale, _ = j.Approve(sale.ID, tjApproved("000000000010"))
	void := tjVoid(t, j, d, sale)
	if _, err := j.Approve(void.ID, tjApproved("000000000011")); err != nil {
		t.Fatal(err)
	}
	if s, _ := j.Get(sale.ID); s.VoidedBy != void.ID {
		t.Fatalf("sale not marked voided by %d: %+v", void.ID, s.VoidedBy)
	}
	// The terminal could not complete the void: it is reversed, the sale lives.
	if _, err := j.MarkRecoveryPending(void.ID, iso.ReasonCannotComplete); err != nil {
		t.Fatal(err)
	}
	if s, _ := j.Get(sale.ID); !s.Voided() {
		t.Fatal("sale un-voided before the void's reversal was acknowledged")
	}
	if _, err := j.MarkReversed(void.ID, "00"); err != nil {
		t.Fatal(err)
	}
	if s, _ := j.Get(sale.ID); s.Voided() {
		t.Fatal("a reversed void left its sale voided")
	}

	refund := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindRefund, Amount: iso.Amount{Minor: 700, Currency: iso.CNY}, PAN: tjPAN, OriginalID: sale.ID},
		iso.RefundRequest{Amount: iso.Amount{Minor: 700, Currency: iso.CNY}, Card: iso.Card{PAN: tjPAN, Entry: iso.EntryMode{Method: iso.EntryManual}},
			Original: iso.Original{RRN: sale.RRN, Time: sale.Created, STAN: sale.STAN, Batch: sale.Batch}})
	if refund.Recovery != iso.RecoveryRepeat {
		t.Errorf("a CUP refund (an advice) should recover by repeat, got %s", refund.Recovery)
	}
	if _, err := j.Approve(refund.ID, tjApproved("000000000012")); err != nil {
		t.Fatal(err)
	}
	if s, _ := j.Get(sale.ID); s.Refunded != 700 || s.Refundable() != 1300 {
		t.Errorf("refunded %d, refundable %d; want 700 and 1300", s.Refunded, s.Refundable())
	}
}

// TestSTANs: consecutive, wrapping 999999 → 000001, never reusing one still
// in the open batch, and fresh again in the next batch.
func TestSTANs(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	a, b := tjSale(t, j, d, 1), tjSale(t, j, d, 1)
	if a.STAN != 1 || b.STAN != 2 {
		t.Fatalf("first STANs %s %s", a.STAN, b.STAN)
	}
	if err := j.SetLastSTAN(iso.MaxSTAN - 1); err != nil {
		t.Fatal(err)
	}
	c, d2, e := tjSale(t, j, d, 1), tjSale(t, j, d, 1), tjSale(t, j, d, 1)
	if c.STAN != iso.MaxSTAN || d2.STAN != 3 || e.STAN != 4 {
		t.Errorf("after 999998: %s %s %s, want 999999 then 000003, 000004 (1 and 2 are in the batch)", c.STAN, d2.STAN, e.STAN)
	}
	if got, err := j.BySTAN(0, 2); err != nil || got.ID != b.ID {
		t.Errorf("BySTAN(2) = %d, %v", got.ID, err)
	}
}

// TestBuildFailureWritesNothing: a request that cannot be built leaves no
// record and does not use up its STAN.
func TestBuildFailureWritesNothing(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	_, _, err := j.Prepare(reversal.Intent{Kind: iso.KindSale}, func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		m, err := d.BuildRequest(tjEnv(stan, batch), iso.SaleRequest{Amount: iso.Amount{Minor: -1, Currency: iso.CNY}})
		return m, iso.RecoveryReverse, err
	})
	if !errors.Is(err, iso.ErrInvalidInput) {
		t.Fatalf("err = %v", err)
	}
	if all, _ := j.Find(func(reversal.Record) bool { return true }); len(all) != 0 {
		t.Fatalf("%d records written", len(all))
	}
	if s := tjSale(t, j, d, 1); s.STAN != 1 {
		t.Errorf("STAN %s used by the failed prepare", s.STAN)
	}
}

// TestNoCardDataInTheFile: the raw journal file holds no clear PAN, track
// or PIN block of the transactions it recorded; with a data key the PAN is
// recoverable, without one only masked.
func TestNoCardDataInTheFile(t *testing.T) {
	for _, withKey := range []bool{true, false} {
		var opts []reversal.Option
		if withKey {
			opts = append(opts, reversal.WithDataKey(tjKey))
		}
		d := tjCUP(t)
		j := tjOpen(t, opts...)
		pin := tjPIN(t)
		sale := tjSale(t, j, d, 4200)
		sale, _ = j.Approve(sale.ID, tjApproved("000000000020"))
		pending := tjSale(t, j, d, 4300)
		if _, err := j.MarkRecoveryPending(pending.ID, iso.ReasonTimeout); err != nil {
			t.Fatal(err)
		}
		path := j.Path()
		pan, panErr := j.PAN(sale)
		j.Close()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range [][]byte{[]byte(tjPAN), []byte("2812101123456789"), []byte(strings.ToUpper(hex.EncodeToString(pin[:]))),
			[]byte(hex.EncodeToString(pin[:])), pin[:]} {
			if bytes.Contains(raw, secret) {
				t.Errorf("key=%v: the journal file contains %q", withKey, secret)
			}
		}
		if !bytes.Contains(raw, []byte(tjPAN.Masked())) {
			t.Errorf("key=%v: the masked PAN is not kept", withKey)
		}
		if withKey && (panErr != nil || pan != tjPAN) {
			t.Errorf("with a key the PAN must decrypt: %v", panErr)
		}
		if !withKey && !errors.Is(panErr, reversal.ErrNoDataKey) {
			t.Errorf("without a key: %v", panErr)
		}
	}
}

// TestOpenRefusals: a held journal fails fast; a foreign or corrupt file is
// refused and left as it was.
func TestOpenRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	j, err := reversal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := reversal.Open(path, reversal.WithLockTimeout(50*time.Millisecond)); !errors.Is(err, reversal.ErrLocked) {
		t.Errorf("second open: %v, want ErrLocked", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a held journal took %s to refuse", time.Since(start))
	}
	j.Close()

	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, bytes.Repeat([]byte("not a journal "), 2000), 0o600)
	other := filepath.Join(dir, "other.db")
	db, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("someone-else")); return err })
	db.Close()
	corrupt := filepath.Join(dir, "corrupt.db")
	j2, _ := reversal.Open(corrupt)
	j2.Close()
	data, _ := os.ReadFile(corrupt)
	for i := 0; i < 2*4096 && i < len(data); i++ { // both meta pages
		data[i] ^= 0xA5
	}
	os.WriteFile(corrupt, data, 0o600)

	for _, c := range []struct {
		path string
		want error
	}{{junk, reversal.ErrForeignFile}, {other, reversal.ErrForeignFile}, {corrupt, reversal.ErrForeignFile}} {
		before, _ := os.ReadFile(c.path)
		if _, err := reversal.Open(c.path); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", filepath.Base(c.path), err, c.want)
		}
		after, _ := os.ReadFile(c.path)
		if !bytes.Equal(before, after) {
			t.Errorf("%s: refused but modified", filepath.Base(c.path))
		}
	}
}

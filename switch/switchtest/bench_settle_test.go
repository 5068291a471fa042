package switchtest_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// Settlement time versus batch size.

// BenchmarkSettlement: Terminal.Settle of a batch of size approved sales,
// per dialect, against a switchtest host whose ledger holds the same sales.
// ISO87 batches of 100, 1,000 and 10,000; CUP batches of 100 and 999, the
// most a CUP settlement can count.
//
//	path=baseline         Journal.Entries of the open batch + Dialect.Totals:
//	                      the reading and adding up that any settlement does
//	path=balanced-fsync   Settle; the host agrees: one settlement message
//	path=balanced-nosync  the same on a reversal.WithNoSync journal
//	path=upload-fsync     Settle; the host holds one extra sale, answers
//	                      out of balance, and the terminal uploads the batch
//	                      (CUP 8 entries a message, ISO87 1) and closes it
//	path=upload-nosync    the same on a WithNoSync journal
//
// The sales are made once per dialect and size, by Terminal.Sale over
// loopback on a WithNoSync journal (with a data key, so entries carry
// PANs); the host's ledger is read back with Transactions. Every iteration
// then starts, outside the timer, from a copy of that journal file (opened
// with or without fsync as the path says), a new host holding the same
// ledger (Host.Record), and a new signed-on Terminal; only Settle is
// timed. The authoriser is a stub that lets the supervisor through (no
// bcrypt). msgs/op is the messages the terminal sent during Settle.
func BenchmarkSettlement(b *testing.B) {
	tpls := map[string]*benchBatch{}
	tplDir := b.TempDir()
	for _, dn := range []string{"iso87", "cup"} {
		d := benchDialect(b, dn)
		sizes := []int{100, 1000, 10000}
		if dn == "cup" {
			// A CUP 0500 spells each count in 3 digits: 999 sales is the
			// largest batch it can settle (cupTotalsF48).
			sizes = []int{100, 999}
		}
		for _, size := range sizes {
			key := fmt.Sprintf("dialect=%s/size=%d", dn, size)
			tpl := func(b *testing.B) *benchBatch {
				if t, ok := tpls[key]; ok {
					return t
				}
				start := time.Now()
				t := benchFillBatch(b, d, filepath.Join(tplDir, dn+fmt.Sprint(size)+".db"), size)
				b.Logf("%s: %d sales through Terminal.Sale in %s", key, size, time.Since(start).Round(time.Millisecond))
				tpls[key] = t
				return t
			}
			b.Run(key+"/path=baseline", func(b *testing.B) {
				t := tpl(b)
				path := filepath.Join(b.TempDir(), "journal.db")
				if err := benchCopyFile(t.path, path); err != nil {
					b.Fatal(err)
				}
				j, err := reversal.Open(path, reversal.WithDataKey(benchDataKey))
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				batch, err := j.OpenBatch()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					entries, _, err := j.Entries(batch)
					if err != nil || len(entries) != size {
						b.Fatalf("entries: %d, %v", len(entries), err)
					}
					if tot := d.Totals(entries); tot.Domestic.DebitCount != size {
						b.Fatalf("totals %+v", tot)
					}
				}
			})
			for _, upload := range []bool{false, true} {
				for _, nosync := range []bool{false, true} {
					name := map[bool]string{false: "balanced", true: "upload"}[upload] + map[bool]string{false: "-fsync", true: "-nosync"}[nosync]
					b.Run(key+"/path="+name, func(b *testing.B) {
						t := tpl(b)
						dir := b.TempDir()
						var msgs int64
						b.ReportAllocs()
						for i := range b.N {
							b.StopTimer()
							s := benchSettleSetup(b, t, filepath.Join(dir, fmt.Sprintf("journal-%d.db", i)), upload, nosync)
							before := s.term.Stats().Sent
							b.StartTimer()
							res, err := s.term.Settle(context.Background(), benchSupervisor, nil)
							b.StopTimer()
							if err != nil {
								b.Fatalf("settle: %v", err)
							}
							wantVerdict, wantUploaded := iso.VerdictBalanced, 0
							if upload {
								wantVerdict, wantUploaded = iso.VerdictOutOfBalance, size
							}
							if res.Verdict != wantVerdict || res.Uploaded != wantUploaded || res.Totals.Domestic.DebitCount != size {
								b.Fatalf("settle: %+v", res)
							}
							msgs += s.term.Stats().Sent - before
							s.close(b)
							b.StartTimer()
						}
						b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
					})
				}
			}
		}
	}
}

var (
	benchDataKey    = []byte("posswitch-bench-data-key-16+16b!")
	benchSupervisor = isoswitch.Credentials{Operator: "00", Password: "unused"}
)

// benchAllow lets everyone do everything: Settle's authorisation is not
// what BenchmarkSettlement measures.
type benchAllow struct{}

func (benchAllow) Authorise(_ context.Context, c isoswitch.Credentials, _ isoswitch.Action) (string, error) {
	return c.Operator, nil
}

func benchDialect(tb testing.TB, name string) iso.Dialect {
	var d iso.Dialect
	var err error
	switch name {
	case "cup":
		d, err = cup.New()
	default:
		d, err = iso87.New()
	}
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// benchBatch is a journal file holding one open batch of approved sales
// and the host ledger that matches it.
type benchBatch struct {
	d      iso.Dialect
	path   string
	ledger []switchtest.Txn
}

const benchTID = iso.TerminalID("TERM0001")

// benchFillBatch makes n sales through a Terminal on a WithNoSync journal
// at path against a switchtest host, then closes both.
func benchFillBatch(tb testing.TB, d iso.Dialect, path string, n int) *benchBatch {
	h, err := switchtest.Start(d)
	if err != nil {
		tb.Fatal(err)
	}
	defer h.Close()
	j, err := reversal.Open(path, reversal.WithNoSync(), reversal.WithDataKey(benchDataKey))
	if err != nil {
		tb.Fatal(err)
	}
	term := benchNewTerminal(tb, d, h, j)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for i := range n {
		// Amounts end in 0: the host's default rule declines 05 and 51.
		amount := iso.Amount{Minor: 1000 + 10*int64(i%90), Currency: iso.CNY}
		if _, err := term.Sale(ctx, "01", amount, benchCard); err != nil {
			tb.Fatalf("sale %d: %v", i, err)
		}
	}
	term.Close()
	if err := j.Close(); err != nil {
		tb.Fatal(err)
	}
	ledger := h.Transactions()
	if len(ledger) != n {
		tb.Fatalf("host ledger holds %d sales, want %d", len(ledger), n)
	}
	return &benchBatch{d: d, path: path, ledger: ledger}
}

func benchNewTerminal(tb testing.TB, d iso.Dialect, h *switchtest.Host, j *reversal.Journal) *isoswitch.Terminal {
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: benchTID, Merchant: benchMerchant,
		MasterKey: h.TMK, Journal: j}, isoswitch.WithTimeout(10*time.Second), isoswitch.WithAuthoriser(benchAllow{}))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := term.Start(ctx, "01"); err != nil {
		tb.Fatalf("start: %v", err)
	}
	return term
}

type benchSettle struct {
	h    *switchtest.Host
	j    *reversal.Journal
	term *isoswitch.Terminal
	path string
}

// benchSettleSetup copies the batch's journal to path, starts a host with
// its ledger (and one sale more when upload, which puts the batch out of
// balance) and a signed-on terminal on the copy.
func benchSettleSetup(tb testing.TB, t *benchBatch, path string, upload, nosync bool) *benchSettle {
	if err := benchCopyFile(t.path, path); err != nil {
		tb.Fatal(err)
	}
	h, err := switchtest.Start(t.d)
	if err != nil {
		tb.Fatal(err)
	}
	for _, x := range t.ledger {
		h.Record(x)
	}
	if upload {
		h.Record(switchtest.Txn{Terminal: benchTID, Batch: t.ledger[0].Batch, STAN: 999999, Kind: iso.KindSale,
			Amount: iso.Amount{Minor: 1, Currency: iso.CNY}})
	}
	opts := []reversal.Option{reversal.WithDataKey(benchDataKey)}
	if nosync {
		opts = append(opts, reversal.WithNoSync())
	}
	j, err := reversal.Open(path, opts...)
	if err != nil {
		h.Close()
		tb.Fatal(err)
	}
	return &benchSettle{h: h, j: j, term: benchNewTerminal(tb, t.d, h, j), path: path}
}

func (s *benchSettle) close(tb testing.TB) {
	s.term.Close()
	if err := s.j.Close(); err != nil {
		tb.Error(err)
	}
	s.h.Close()
	os.Remove(s.path)
}

// benchCopyFile copies a closed journal file; the copy is flushed so the
// first fsynced commit of a run does not pay for writing it.
func benchCopyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

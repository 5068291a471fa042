package switchtest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// requestsOf decodes what the host received, in order.
func requestsOf(t *testing.T, h *switchtest.Host, d iso.Dialect) []*iso.Message {
	t.Helper()
	var out []*iso.Message
	for _, x := range h.Exchanges() {
		m, err := d.Decode(x.Request)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func lastOf(ms []*iso.Message, mti string) *iso.Message {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].MTI == mti {
			return ms[i]
		}
	}
	return nil
}

// TestISO87ProfilesOverTCP runs a day of each ISO87 profile over real TCP
// against switchtest: sale, void, a void whose reply is lost, a balanced
// settlement, then an out-of-balance one whose upload is filed in the
// terminal's batch. The terminal profile follows resza/MAB
// source/tranproc.c (TransVoid, TranReversal, TransSettleSubNew,
// TransUpLoad): the void is a 0200 020000 reversed with a 0400 when its
// outcome is unknown, totals travel in F63, and the upload skips the
// voided sale and its void. The host-to-host profile voids with a 0400
// (F39 17, F25 00) repeated as 0401 and totals in F74–F97.
func TestISO87ProfilesOverTCP(t *testing.T) {
	for _, p := range []iso87.Profile{iso87.ProfileTerminal, iso87.ProfileHostToHost} {
		t.Run(p.String(), func(t *testing.T) {
			d, err := iso87.New(iso87.WithProfile(p))
			if err != nil {
				t.Fatal(err)
			}
			term87 := p == iso87.ProfileTerminal
			h := switchtest.NewHost(t, d, switchtest.WithRecording())
			term, j := terminal(t, h, d, "TERM0003")
			s1, err := term.Sale(ctx(t), "01", cny(700), visa)
			if err != nil {
				t.Fatal(err)
			}
			s2, _ := term.Sale(ctx(t), "01", cny(300), visa)
			s3, _ := term.Sale(ctx(t), "01", cny(200), visa)

			// Void: the wire spelling per profile.
			v2, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: s2.STAN})
			if err != nil {
				t.Fatalf("void: %v", err)
			}
			reqs := requestsOf(t, h, d)
			void := reqs[len(reqs)-1]
			if term87 {
				if void.MTI != "0200" || void.Value(3) != "020000" || void.Value(37) != string(s2.RRN) || void.Value(25) != "00" ||
					void.Value(62) != s2.STAN.String() || void.Value(11) != v2.STAN.String() || void.Has(90) ||
					// the card keyed from the journal (MAB SetCommReqField: F2/F14 from the log)
					void.Value(2) != visa.PAN.Digits() || void.Value(14) != "2812" || void.Value(22) != "011" {
					t.Errorf("terminal void on the wire: %s", void)
				}
			} else if void.MTI != "0400" || void.Value(39) != "17" || void.Value(25) != "00" || !strings.HasPrefix(void.Value(90), "0200"+s2.STAN.String()) {
				t.Errorf("host-to-host void on the wire: %s", void)
			}

			// A void whose reply is lost: the terminal profile reverses it
			// with a 0400 (the void is NEED_REVERSAL in MAB glTranConfig);
			// host-to-host repeats it as 0401 and it stands.
			h.SetFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindVoid, Times: 1})
			_, err = term.Void(ctx(t), supervisor, isoswitch.Original{STAN: s3.STAN})
			var unknown *isoswitch.OutcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("void with its reply dropped: %v", err)
			}
			want := map[bool]iso.Recovery{true: iso.RecoveryReverse, false: iso.RecoveryRepeat}[term87]
			if unknown.Recovery != want {
				t.Fatalf("recovery %s, want %s", unknown.Recovery, want)
			}
			if err := term.Drain(ctx(t)); err != nil {
				t.Fatal(err)
			}
			rec, _ := j.Get(unknown.RecordID)
			sale3, _ := j.Get(s3.RecordID)
			reqs = requestsOf(t, h, d)
			last := reqs[len(reqs)-1]
			if term87 {
				if rec.State != reversal.StateReversed || sale3.Voided() || last.MTI != "0400" || last.Value(3) != "020000" || last.Value(11) != rec.STAN.String() {
					t.Errorf("void reversal: record %s, sale voided %v, last %s", rec.State, sale3.Voided(), last)
				}
			} else if rec.State != reversal.StateApproved || !sale3.Voided() || last.MTI[:3] != "040" || last.Value(39) != "17" {
				t.Errorf("void repeat: record %s, sale voided %v, last %s", rec.State, sale3.Voided(), last)
			}
			for _, tx := range h.Transactions() {
				if tx.STAN == s3.STAN && (tx.VoidedBy != 0) == term87 {
					t.Errorf("the host's sale %s voided by %d after the recovery", tx.STAN, tx.VoidedBy)
				}
			}

			// Balanced settlement: both sides hold the same batch.
			settledBalanced(t, term)
			settle := lastOf(requestsOf(t, h, d), "0500")
			live, liveAmount := "002", "000000000900" // s1 and s3; s2 is voided
			if !term87 {
				live, liveAmount = "001", "000000000700" // s3 was voided too
			}
			if term87 {
				if want := live + liveAmount + "000000000000000" + strings.Repeat("0", 60); settle.Value(63) != want || settle.Has(74) || settle.Value(24) != "000" {
					t.Errorf("0500 F63 %q F24 %q, want %q", settle.Value(63), settle.Value(24), want)
				}
			} else if settle.Has(63) || !settle.Has(74) || !settle.Has(97) {
				t.Errorf("host-to-host 0500: %s", settle)
			}
			_ = s1

			// Out of balance: the host holds a sale the terminal does not.
			s4, _ := term.Sale(ctx(t), "01", cny(100), visa)
			s5, _ := term.Sale(ctx(t), "01", cny(50), visa)
			if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: s5.STAN}); err != nil {
				t.Fatal(err)
			}
			h.Record(switchtest.Txn{Terminal: "TERM0003", Batch: s4.Batch, STAN: 990, Kind: iso.KindSale, Amount: cny(1)})
			before := len(h.Uploads())
			res, err := term.Settle(ctx(t), supervisor, nil)
			if err != nil || res.Verdict != iso.VerdictOutOfBalance {
				t.Fatalf("settle: %+v %v", res, err)
			}
			ups := h.Uploads()[before:]
			wantUp := map[bool]int{true: 1, false: 3}[term87] // terminal: s4 only; host-to-host: s4, s5 and its void
			if len(ups) != wantUp || res.Uploaded != wantUp {
				t.Fatalf("%d uploads (terminal says %d), want %d", len(ups), res.Uploaded, wantUp)
			}
			for _, u := range ups {
				// Filed in the batch being settled: the 0320's F60 is no
				// batch number.
				if u.Batch != res.Batch {
					t.Errorf("upload of STAN %s filed under batch %s, want %s", u.Entries[0].STAN, u.Batch, res.Batch)
				}
			}
			if ups[0].Entries[0].STAN != s4.STAN {
				t.Errorf("first upload is STAN %s, want %s", ups[0].Entries[0].STAN, s4.STAN)
			}
			up := lastOf(requestsOf(t, h, d), "0320")
			if term87 {
				if up.Value(60) != "0200"+s4.STAN.String()+"            " || up.Value(3) != "000001" || up.Value(39) != "00" ||
					up.Value(62) != s4.STAN.String() || up.Value(22) != "011" || up.Value(25) != "00" {
					t.Errorf("terminal 0320 on the wire: %s", up)
				}
			}
			if h.Batch("TERM0003") != res.NextBatch {
				t.Errorf("host batch %s, terminal %s", h.Batch("TERM0003"), res.NextBatch)
			}
		})
	}
}

package reversal_test

import (
	"context"
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
)

// codeClasses are the reply classes every recovery kind is tested with:
// approved, duplicate, the two "nothing to reverse" codes, and declines of
// every action class (amount, funds, original amount, system, format).
var codeClasses = []iso.ResponseCode{"00", "94", "12", "25", "13", "51", "64", "96", "30", "05", "A0"}

// recoveryCase is one record under recovery and what it must end as.
type recoveryCase struct {
	name string
	d    iso.Dialect
	// setup prepares the record (and its original, if any) and returns
	// the record under recovery and the original's id (0: none).
	setup func(t *testing.T, j *reversal.Journal) (rec reversal.Record, orig uint64)
	// want is the state a single reply with code ends the record in, or
	// StateUnconfirmed when the code does not end it and the sends run out.
	want func(code iso.ResponseCode) reversal.State
}

func reversalWant(code iso.ResponseCode) reversal.State {
	switch code {
	case "00", "12", "25":
		return reversal.StateReversed
	}
	return reversal.StateUnconfirmed
}

func repeatWant(code iso.ResponseCode) reversal.State {
	switch code {
	case "00", "94":
		return reversal.StateApproved
	case "96", "30", "A0":
		return reversal.StateUnconfirmed // the host did not act on it: sent again until the sends run out
	}
	return reversal.StateDeclined
}

func recoveryCases(t *testing.T) []recoveryCase {
	cup := tjCUP(t)
	i87, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	h2h, err := iso87.New(iso87.WithProfile(iso87.ProfileHostToHost))
	if err != nil {
		t.Fatal(err)
	}
	usd := func(m int64) iso.Amount { return iso.Amount{Minor: m, Currency: iso.USD} }
	keyed := iso.Card{PAN: tjPAN, Entry: iso.EntryMode{Method: iso.EntryManual}}
	return []recoveryCase{
		{"CUP reversal", cup, func(t *testing.T, j *reversal.Journal) (reversal.Record, uint64) {
			s := tjSale(t, j, cup, 1000)
			r, _ := j.MarkRecoveryPending(s.ID, iso.ReasonTimeout)
			return r, 0
		}, reversalWant},
		{"CUP refund repeat", cup, func(t *testing.T, j *reversal.Journal) (reversal.Record, uint64) {
			s := tjSale(t, j, cup, 1000)
			s, _ = j.Approve(s.ID, tjApproved("000000000011"))
			amount := iso.Amount{Minor: 400, Currency: iso.CNY}
			card := iso.Card{Track2: tjTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe}}
			r := tjPrepare(t, j, cup, reversal.Intent{Kind: iso.KindRefund, Amount: amount, PAN: card.Account(), OriginalID: s.ID},
				iso.RefundRequest{Amount: amount, Card: card, Original: iso.Original{STAN: s.STAN, Batch: s.Batch, RRN: s.RRN, Time: s.Created, Amount: s.Amount}})
			r, _ = j.MarkRecoveryPending(r.ID, iso.ReasonTimeout)
			return r, s.ID
		}, repeatWant},
		{"ISO87 reversal ladder", i87, func(t *testing.T, j *reversal.Journal) (reversal.Record, uint64) {
			s := tjPrepare(t, j, i87, reversal.Intent{Kind: iso.KindSale, Amount: usd(1000), PAN: tjPAN},
				iso.SaleRequest{Amount: usd(1000), Card: keyed})
			r, _ := j.MarkRecoveryPending(s.ID, iso.ReasonTimeout)
			return r, 0
		}, reversalWant},
		// Terminal profile: the void is a 0200 020000 and reversed like a
		// sale (resza/MAB source/global.c glTranConfig VOID NEED_REVERSAL).
		{"ISO87 void reversal", i87, func(t *testing.T, j *reversal.Journal) (reversal.Record, uint64) {
			s := tjPrepare(t, j, i87, reversal.Intent{Kind: iso.KindSale, Amount: usd(1000), PAN: tjPAN},
				iso.SaleRequest{Amount: usd(1000), Card: keyed})
			s, _ = j.Approve(s.ID, tjApproved("000000000013"))
			v := tjPrepare(t, j, i87, reversal.Intent{Kind: iso.KindVoid, Amount: usd(1000), OriginalID: s.ID},
				iso.VoidRequest{Original: iso.Original{STAN: s.STAN, Batch: s.Batch, Time: s.Created, RRN: s.RRN, Amount: s.Amount}})
			v, _ = j.MarkRecoveryPending(v.ID, iso.ReasonTimeout)
			return v, 0
		}, reversalWant},
		{"ISO87 void repeat", h2h, func(t *testing.T, j *reversal.Journal) (reversal.Record, uint64) {
			s := tjPrepare(t, j, h2h, reversal.Intent{Kind: iso.KindSale, Amount: usd(1000), PAN: tjPAN},
				iso.SaleRequest{Amount: usd(1000), Card: keyed})
			s, _ = j.Approve(s.ID, tjApproved("000000000012"))
			v := tjPrepare(t, j, h2h, reversal.Intent{Kind: iso.KindVoid, Amount: usd(1000), OriginalID: s.ID},
				iso.VoidRequest{Original: iso.Original{STAN: s.STAN, Batch: s.Batch, Time: s.Created, RRN: s.RRN, Amount: s.Amount}})
			v, _ = j.MarkRecoveryPending(v.ID, iso.ReasonTimeout)
			return v, s.ID
		}, repeatWant},
	}
}

// TestRecoveryOutcomePerCodeClass drives each kind of recovery (CUP
// reversal, CUP refund repeat, ISO87 reversal ladder, ISO87 void repeat)
// through the engine with a host that answers every message with one code,
// for each response-code class. A reversal ends on 00/12/25 and otherwise
// runs out its sends and ends unconfirmed; a repeat ends after one reply:
// approved on 00 and on a matching 94 (its effect on the original
// applied), declined on a decline with the code kept and the original
// untouched; a code that says the host did not act on it (96, 30, A0)
// ends nothing, and the repeat runs out its sends unconfirmed.
func TestRecoveryOutcomePerCodeClass(t *testing.T) {
	for _, c := range recoveryCases(t) {
		for _, code := range codeClasses {
			j := tjOpen(t, reversal.WithDataKey(tjKey))
			rec, origID := c.setup(t, j)
			var before reversal.Record
			if origID != 0 {
				before, _ = j.Get(origID)
			}
			host := &teHost{d: c.d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return code, nil }}
			e := reversal.NewEngine(j, c.d, host, tePolicy())
			err := e.Drain(context.Background())
			for n := 0; n < 10 && errors.Is(err, reversal.ErrRecoveryPending); n++ {
				err = e.Drain(context.Background()) // the next triggers
			}
			want := c.want(code)
			got, _ := j.Get(rec.ID)
			if got.State != want {
				t.Errorf("%s answered %s: state %s, want %s", c.name, code, got.State, want)
				continue
			}
			limit := c.d.Rules().Recovery
			switch want {
			case reversal.StateUnconfirmed:
				if !errors.Is(err, reversal.ErrUnconfirmed) || len(host.sent) != limit.Total {
					t.Errorf("%s answered %s: %v after %d sends, want unconfirmed after %d", c.name, code, err, len(host.sent), limit.Total)
				}
				for i, m := range host.sent {
					if rec.Recovery != iso.RecoveryReverse {
						break // a repeat carries no reversal reason
					}
					if want := map[bool]string{true: "98", false: "06"}[i == 0]; c.d.Name() == "CUP" && m.Value(39) != want {
						t.Errorf("%s answered %s: send %d says %s, want %s", c.name, code, i, m.Value(39), want)
					}
					if want := map[bool]string{true: "68", false: "06"}[i == 0]; c.d.Name() == "ISO87" && m.Value(39) != want {
						t.Errorf("%s answered %s: send %d says %s, want %s", c.name, code, i, m.Value(39), want)
					}
				}
			default:
				if err != nil || len(host.sent) != 1 {
					t.Errorf("%s answered %s: %v after %d sends, want an end after one", c.name, code, err, len(host.sent))
				}
			}
			if want == reversal.StateDeclined && got.Code != code {
				t.Errorf("%s declined with %s keeps code %q", c.name, code, got.Code)
			}
			if origID == 0 {
				continue
			}
			after, _ := j.Get(origID)
			effect := want == reversal.StateApproved
			switch rec.Kind {
			case iso.KindRefund:
				if moved := after.Refunded - before.Refunded; (moved == rec.Amount.Minor) != effect || (moved != 0) != effect {
					t.Errorf("%s answered %s: original refunded moved by %d", c.name, code, moved)
				}
			case iso.KindVoid:
				if (after.VoidedBy == rec.ID) != effect {
					t.Errorf("%s answered %s: original voided by %d", c.name, code, after.VoidedBy)
				}
			}
		}
	}
}

// TestDuplicateMustMatch: a 94 to a repeat counts as its approval only
// when the reply shows the same terminal, STAN and amount. A 94 that shows
// another amount, or none, ends nothing: the repeat is sent again until
// its sends run out, and the original's refundable amount is untouched.
func TestDuplicateMustMatch(t *testing.T) {
	for name, mutate := range map[string]func(*iso.Message){
		"other amount": func(m *iso.Message) { m.Set(4, "000000000399") },
		"no amount":    func(m *iso.Message) { m.Unset(4) },
	} {
		c := recoveryCases(t)[1] // CUP refund repeat
		j := tjOpen(t, reversal.WithDataKey(tjKey))
		rec, origID := c.setup(t, j)
		host := &teHost{d: c.d, mutate: mutate, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "94", nil }}
		err := reversal.NewEngine(j, c.d, host, tePolicy()).Drain(context.Background())
		got, _ := j.Get(rec.ID)
		orig, _ := j.Get(origID)
		if !errors.Is(err, reversal.ErrUnconfirmed) || got.State != reversal.StateUnconfirmed ||
			len(host.sent) != 4 || orig.Refunded != 0 {
			t.Errorf("%s: %v, state %s after %d sends, original refunded %d", name, err, got.State, len(host.sent), orig.Refunded)
		}
		for _, m := range host.sent {
			if m.MTI != "0220" || m.Value(11) != rec.STAN.String() || m.Value(4) != "000000000400" {
				t.Errorf("%s: the repeat went as %s STAN %s F4 %s", name, m.MTI, m.Value(11), m.Value(4))
			}
		}
	}
}

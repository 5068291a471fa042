package isoswitch_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// classes are the reply codes each recovery kind is driven with.
var classes = []iso.ResponseCode{"00", "94", "12", "25", "13", "51", "64", "96", "30"}

// nth answers the n-th (from 1) message of kind k with mv, and every later
// one with code; everything else is approved. It records what it saw.
type nth struct {
	mu    sync.Mutex
	kind  iso.Kind
	first move
	code  iso.ResponseCode
	seen  []*iso.Message
}

func (s *nth) script(k iso.Kind, req *iso.Message) (move, iso.ResponseCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k != s.kind {
		return answer, "00"
	}
	s.seen = append(s.seen, req)
	if len(s.seen) == 1 {
		return s.first, "00"
	}
	return answer, s.code
}

func (s *nth) messages() []*iso.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*iso.Message(nil), s.seen...)
}

// settleRecovery drains until the record has left recovery-pending (a
// background drain may be at it) and returns it.
func settleRecovery(t *testing.T, term *isoswitch.Terminal, j *reversal.Journal, id uint64) reversal.Record {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		term.Drain(ctx5(t))
		r, err := j.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != reversal.StateRecoveryPending || time.Now().After(deadline) {
			return r
		}
	}
}

// TestRepeatOutcomesThroughTheTerminal: a CUP refund and an ISO87
// host-to-host void whose first reply is lost are repeated; the repeat's reply decides, per code
// class: approved on 00 and on 94 (the host echoes the same terminal, STAN
// and amount), declined on a decline, 12 and 25 included, with the
// original untouched, the record ending after one repeat; a code that says
// the host did not act on the repeat (30, 96) ends nothing, and the repeat
// goes until the dialect's sends run out (unconfirmed, original
// untouched). Either way the next sale goes through.
func TestRepeatOutcomesThroughTheTerminal(t *testing.T) {
	for _, name := range []string{"cup", "iso87_h2h"} {
		for _, code := range classes {
			d := dialectsUnderTest(t)[name]
			h := startHost(t, d)
			term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
			sale, err := term.Sale(ctx5(t), "01", cny10, visa)
			if err != nil {
				t.Fatal(err)
			}
			kind := iso.KindVoid
			s := &nth{kind: kind, first: silence, code: code}
			if name == "cup" {
				if _, err := term.Settle(ctx5(t), supervisor, nil); err != nil {
					t.Fatal(err)
				}
				s.kind = iso.KindRefund
			}
			h.setScript(s.script)
			if name == "cup" {
				_, err = term.Refund(ctx5(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()}, iso.Amount{Minor: 400, Currency: iso.CNY}, visa)
			} else {
				_, err = term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: sale.STAN})
			}
			var unknown *isoswitch.OutcomeUnknownError
			if !errors.As(err, &unknown) || unknown.Recovery != iso.RecoveryRepeat {
				t.Fatalf("%s %s: first send: %v", name, s.kind, err)
			}
			rec := settleRecovery(t, term, j, unknown.RecordID)
			orig, _ := j.Get(sale.RecordID)
			approved := code == "00" || code == "94"
			// A code of the retry or re-sign-on classes says the host did
			// not act on the repeat: it goes again until the sends run out.
			resent := code.Action() == iso.ActionRetry || code.Action() == iso.ActionResignOn
			switch {
			case approved && rec.State != reversal.StateApproved,
				resent && rec.State != reversal.StateUnconfirmed,
				!approved && !resent && (rec.State != reversal.StateDeclined || rec.Code != code):
				t.Errorf("%s %s repeat answered %s: %s (%s)", name, s.kind, code, rec.State, rec.Code)
			case s.kind == iso.KindRefund && (orig.Refunded != 0) != approved:
				t.Errorf("%s refund repeat answered %s: original refunded %d", name, code, orig.Refunded)
			case s.kind == iso.KindVoid && (orig.VoidedBy == rec.ID) != approved:
				t.Errorf("%s void repeat answered %s: original voided by %d", name, code, orig.VoidedBy)
			}
			if n, want := len(s.messages()), 2; !resent && n != want {
				t.Errorf("%s %s answered %s: %d sends, want the first and one repeat", name, s.kind, code, n)
			} else if want = 1 + d.Rules().Recovery.Total; resent && n != want {
				t.Errorf("%s %s answered %s: %d sends, want the first and %d repeats", name, s.kind, code, n, want-1)
			}
			if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
				t.Errorf("%s: a sale after the repeat ended: %v", name, err)
			}
		}
	}
}

// TestReversalOutcomesThroughTheTerminal: a sale whose reply is lost is
// reversed; per code class the reversal ends on 00, 12 and 25, and on
// anything else is resent (F39 98 first, then 06) until the dialect's sends
// run out (CUP 4, in the first drain; ISO87 12, over three), when the
// record ends unconfirmed and the next call is refused once with an
// *UnconfirmedError naming its STAN. The call after goes through.
func TestReversalOutcomesThroughTheTerminal(t *testing.T) {
	for _, name := range []string{"cup", "iso87"} {
		for _, code := range classes {
			d := dialectsUnderTest(t)[name]
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			s := &nth{kind: iso.KindSale, first: silence, code: "00"}
			rev := &nth{kind: iso.KindReversal, first: answer, code: code}
			h.setScript(func(k iso.Kind, req *iso.Message) (move, iso.ResponseCode) {
				if k == iso.KindReversal {
					mv, _ := rev.script(k, req)
					return mv, code
				}
				return s.script(k, req)
			})
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			var unknown *isoswitch.OutcomeUnknownError
			if !errors.As(err, &unknown) || unknown.Recovery != iso.RecoveryReverse {
				t.Fatalf("%s: first send: %v", name, err)
			}
			ended := code == "00" || code == "12" || code == "25"
			var last error
			for range 6 {
				if last = func() error { _, err := term.Sale(ctx5(t), "01", cny10, visa); return err }(); !errors.Is(last, reversal.ErrRecoveryPending) {
					break
				}
			}
			rec, _ := j.Get(unknown.RecordID)
			sent := rev.messages()
			if ended {
				if rec.State != reversal.StateReversed || last != nil || len(sent) != 1 {
					t.Errorf("%s reversal answered %s: %s after %d sends; next sale %v", name, code, rec.State, len(sent), last)
				}
				continue
			}
			var ue *reversal.UnconfirmedError
			if rec.State != reversal.StateUnconfirmed || !errors.As(last, &ue) || len(ue.Records) != 1 || ue.Records[0].STAN != unknown2STAN(t, j, unknown) {
				t.Errorf("%s reversal answered %s: %s; the next sale got %v", name, code, rec.State, last)
			}
			if want := d.Rules().Recovery.Total; len(sent) != want {
				t.Errorf("%s reversal answered %s: %d sends, want %d", name, code, len(sent), want)
			}
			first := map[string]string{"cup": "98", "iso87": "68", "iso87_h2h": "68"}[name]
			for i, m := range sent {
				if want := map[bool]string{true: first, false: "06"}[i == 0]; m.Value(39) != want {
					t.Errorf("%s reversal %d F39 %s, want %s", name, i, m.Value(39), want)
				}
			}
			if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
				t.Errorf("%s: the sale after the report: %v", name, err)
			}
		}
	}
}

func unknown2STAN(t *testing.T, j *reversal.Journal, u *isoswitch.OutcomeUnknownError) iso.STAN {
	r, err := j.Get(u.RecordID)
	if err != nil {
		t.Fatal(err)
	}
	return r.STAN
}

// TestSettleReportsUnconfirmed: a reversal that ended unconfirmed does not
// hold the batch; Settle closes it and lists the record, which is not in
// the totals; the audit export lists it too.
func TestSettleReportsUnconfirmed(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
		switch k {
		case iso.KindSale:
			return silence, "00"
		case iso.KindReversal:
			return answer, "96"
		}
		return answer, "00"
	})
	_, err := term.Sale(ctx5(t), "01", iso.Amount{Minor: 2000, Currency: iso.CNY}, visa)
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		t.Fatal(err)
	}
	lost := settleRecovery(t, term, j, unknown.RecordID)
	h.setScript(func(iso.Kind, *iso.Message) (move, iso.ResponseCode) { return answer, "00" })
	if _, err := term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: lost.STAN}); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("void of an unconfirmed sale: %v", err)
	}
	if _, err := term.Cancel(ctx5(t), supervisor, lost.ID, &visa); !errors.Is(err, isoswitch.ErrNotAllowed) {
		t.Errorf("cancel of an unconfirmed sale: %v", err)
	}
	res, err := term.Settle(ctx5(t), supervisor, nil)
	if err != nil {
		t.Fatalf("settle with an unconfirmed record: %v", err)
	}
	if len(res.Unconfirmed) != 1 || res.Unconfirmed[0].ID != lost.ID || res.Unconfirmed[0].State != reversal.StateUnconfirmed {
		t.Errorf("settle result lists %+v, want record %d", res.Unconfirmed, lost.ID)
	}
	if res.Totals.Domestic.DebitAmount != 1000 || res.NextBatch != lost.Batch.Next() {
		t.Errorf("totals %+v, next batch %s", res.Totals.Domestic, res.NextBatch)
	}
	var csv strings.Builder
	if err := j.ExportCSV(&csv, reversal.Exceptions); err != nil || strings.Count(csv.String(), "recovery-unconfirmed") != 1 {
		t.Errorf("exceptions export (%v):\n%s", err, csv.String())
	}
}

// TestOverrideThroughTheTerminal: only a supervisor may end a pending
// recovery, with a note; the record ends given-up with the operator on its
// history, and the terminal is free again.
func TestOverrideThroughTheTerminal(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 0 }, GiveUpAfter: 1000}))
	h.setScript(silentFor(iso.KindSale, iso.KindReversal))
	_, err := term.Sale(ctx5(t), "01", cny10, visa)
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		t.Fatal(err)
	}
	if _, err := term.Override(ctx5(t), cashier, unknown.RecordID, "customer gone"); !errors.Is(err, isoswitch.ErrUnauthorised) {
		t.Errorf("a cashier's override: %v", err)
	}
	if _, err := term.Override(ctx5(t), supervisor, unknown.RecordID, ""); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("an override without a note: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := term.Override(ctx, supervisor, unknown.RecordID, "acquirer confirmed by phone: not charged")
	if err != nil || res.RecordID != unknown.RecordID {
		t.Fatalf("override: %v", err)
	}
	rec, _ := j.Get(unknown.RecordID)
	last := rec.Events[len(rec.Events)-1]
	if rec.State != reversal.StateGivenUp || last.Operator != "00" || !strings.Contains(last.Note, "acquirer confirmed") {
		t.Errorf("record %s, last event %+v", rec.State, last)
	}
	h.setScript(func(iso.Kind, *iso.Message) (move, iso.ResponseCode) { return answer, "00" })
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Errorf("a sale after the override: %v", err)
	}
	if _, err := term.Override(ctx5(t), supervisor, unknown.RecordID, "again"); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("override of a record no longer pending: %v", err)
	}
}

// TestCUPVoidWindow: CUP voids only a sale of the same day and batch. The
// day after, Void is refused with a *VoidWindowError before anything is
// sent; Refund accepts the open-batch sale; Cancel without the card says a
// refund needs it, and with the card refunds and says why. ISO87 still
// voids it.
func TestCUPVoidWindow(t *testing.T) {
	for _, name := range []string{"cup", "iso87"} {
		d := dialectsUnderTest(t)[name]
		h := startHost(t, d)
		var offset atomic.Int64
		clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		term, _ := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)), isoswitch.WithTerminalClock(clock))
		sale, err := term.Sale(ctx5(t), "01", cny10, visa)
		if err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(24 * time.Hour))
		before := len(h.requests())
		_, err = term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: sale.STAN})
		if name == "iso87" {
			if err != nil {
				t.Errorf("ISO87 void the next day: %v", err)
			}
			continue
		}
		var vw *isoswitch.VoidWindowError
		if !errors.As(err, &vw) || !errors.Is(err, isoswitch.ErrVoidWindow) || !errors.Is(err, isoswitch.ErrNotAllowed) ||
			vw.RecordID != sale.RecordID || !strings.Contains(err.Error(), "refund") {
			t.Fatalf("CUP void the next day: %v", err)
		}
		if len(h.requests()) != before {
			t.Errorf("a refused void sent %v", h.requests()[before:])
		}
		if _, err := term.Cancel(ctx5(t), supervisor, sale.RecordID, nil); !errors.Is(err, isoswitch.ErrNotAllowed) || !strings.Contains(err.Error(), "needs the card") {
			t.Errorf("Cancel without the card: %v", err)
		}
		c, err := term.Cancel(ctx5(t), supervisor, sale.RecordID, &visa)
		if err != nil || c.Action != isoswitch.CancelRefunded || !strings.Contains(c.Why, "same day") || c.Result == nil || c.Result.Amount != cny10 {
			t.Fatalf("Cancel with the card: %+v, %v", c, err)
		}
		if got := h.requests()[len(h.requests())-1]; got != "0220" {
			t.Errorf("Cancel sent %s, want the refund 0220", got)
		}
	}
}

// TestCUPKeyedVoidCarriesPANAndExpiry: a void without the card carries the
// sale's PAN and expiry from the journal, keyed (F22 012), for a keyed and
// a swiped sale; the void's journal record keeps the PAN encrypted only.
func TestCUPKeyedVoidCarriesPANAndExpiry(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	swiped := iso.Card{Track2: "6222021234567890128=30121011234567890", Entry: iso.EntryMode{Method: iso.EntryMagstripe}}
	for name, c := range map[string]struct {
		card        iso.Card
		pan, expiry string
	}{"keyed": {visa, "4111111111111111", "2812"}, "swiped": {swiped, "6222021234567890128", "3012"}} {
		h := startHost(t, d)
		term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
		sale, err := term.Sale(ctx5(t), "01", cny10, c.card)
		if err != nil {
			t.Fatal(err)
		}
		s := &nth{kind: iso.KindVoid, first: answer, code: "00"}
		h.setScript(s.script)
		v, err := term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: sale.STAN})
		if err != nil {
			t.Fatal(err)
		}
		m := s.messages()[0]
		if m.Value(2) != c.pan || m.Value(14) != c.expiry || m.Value(22) != "012" || m.Has(35) {
			t.Errorf("%s void: F2 %q F14 set %v F22 %q track %v", name, iso.PAN(m.Value(2)).Masked(), m.Value(14) != "", m.Value(22), m.Has(35))
		}
		rec, _ := j.Get(v.RecordID)
		if rec.Request["2"] != "" || len(rec.PANCipher) == 0 || rec.MaskedPAN != iso.PAN(c.pan).Masked() {
			t.Errorf("%s void record: clear F2 %v, cipher %d bytes, masked %s", name, rec.Request["2"] != "", len(rec.PANCipher), rec.MaskedPAN)
		}
	}
}

// TestDataKeyRequired: CUP sends the PAN after the fact, so a terminal over
// a journal without a data key is refused at New; ISO87 does not need it.
func TestDataKeyRequired(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: "127.0.0.1:1", Terminal: "TERM0001",
			Merchant: "898310048161234", MasterKey: testTMK, Journal: j})
		if wantRefused := d.Rules().StoredPAN; wantRefused != errors.Is(err, isoswitch.ErrDataKeyRequired) || (term == nil) != wantRefused {
			t.Errorf("%s without a data key: %v", name, err)
		}
		if term != nil {
			term.Close()
		}
	}
}

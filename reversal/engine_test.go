package reversal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
)

// teHost is a scripted host: answer decides each reply (nil reply and an
// error for "no answer"); every message sent is kept.
type teHost struct {
	d      iso.Dialect
	mu     sync.Mutex
	sent   []*iso.Message
	answer func(n int, req *iso.Message) (iso.ResponseCode, error)
	mutate func(reply *iso.Message) // alters a reply before the engine reads it
}

var errNoAnswer = errors.New("no reply before the deadline")

func (h *teHost) Send(_ context.Context, req *iso.Message, _ time.Time) (*iso.Message, error) {
	h.mu.Lock()
	n := len(h.sent)
	h.sent = append(h.sent, req.Clone())
	h.mu.Unlock()
	code, err := h.answer(n, req)
	if err != nil {
		return nil, err
	}
	var resp iso.Response = iso.ReversalResponse{Reply: iso.Reply{Code: code}}
	h2hVoid := req.MTI[:3] == "040" && req.Value(39) == "17" && req.Has(37) // ISO87 host-to-host void
	if h2hVoid || req.MTI == "0220" || req.MTI == "0221" {                  // or CUP refund advice
		resp = iso.FinancialResponse{Reply: iso.Reply{Code: code}, Of: map[bool]iso.Kind{true: iso.KindVoid, false: iso.KindRefund}[h2hVoid]}
	}
	reply, err := h.d.BuildResponse(req, resp)
	if err == nil && h.mutate != nil {
		h.mutate(reply)
	}
	return reply, err
}

func (h *teHost) mtis() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.sent))
	for i, m := range h.sent {
		out[i] = m.MTI
	}
	return out
}

func tePolicy() reversal.Policy {
	return reversal.Policy{Timeout: time.Second, Backoff: func(int) time.Duration { return 0 }}
}

// TestCUPReversalGivesUpAfterFourSends: by default a CUP reversal gets the
// reference terminal's four sends (resend count 3 plus the first, all in
// one drain); while the host stays silent each says 98; then the record
// ends unconfirmed, the drain names it in an *UnconfirmedError, and the
// terminal is free again and sends nothing more for it.
func TestCUPReversalGivesUpAfterFourSends(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 1500)
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "", errNoAnswer }}
	e := reversal.NewEngine(j, d, host, tePolicy())
	err := e.Drain(context.Background())
	var ue *reversal.UnconfirmedError
	if !errors.As(err, &ue) || !errors.Is(err, reversal.ErrUnconfirmed) || errors.Is(err, reversal.ErrRecoveryPending) ||
		len(ue.Records) != 1 || ue.Records[0].ID != sale.ID || ue.Records[0].STAN != sale.STAN {
		t.Fatalf("Drain = %v, want an UnconfirmedError naming the sale", err)
	}
	if !strings.Contains(err.Error(), "STAN "+sale.STAN.String()) || strings.Contains(err.Error(), tjTrack2.PAN().Digits()) {
		t.Errorf("the error must name the trace and no PAN: %v", err)
	}
	if got := host.mtis(); len(got) != 4 {
		t.Fatalf("sent %v, want four 0400s", got)
	}
	for _, m := range host.sent {
		if m.MTI != "0400" || m.Value(39) != "98" || m.Value(11) != sale.STAN.String() || m.Has(35) || m.Has(52) {
			t.Errorf("reversal %s F39 %s F11 %s, track %v PIN %v", m.MTI, m.Value(39), m.Value(11), m.Has(35), m.Has(52))
		}
	}
	got, _ := j.Get(sale.ID)
	if got.State != reversal.StateUnconfirmed || got.Attempts != 4 || !got.State.Final() {
		t.Errorf("state %s after %d attempts, want a final unconfirmed after 4", got.State, got.Attempts)
	}
	if err := e.Ready(); err != nil {
		t.Errorf("Ready() = %v: an unconfirmed record must not block", err)
	}
	if err := e.Drain(context.Background()); err != nil || len(host.sent) != 4 {
		t.Errorf("an unconfirmed record was sent again (%d messages, %v)", len(host.sent), err)
	}
	var csv strings.Builder
	if err := j.ExportCSV(&csv, reversal.Exceptions); err != nil || !strings.Contains(csv.String(), ",recovery-unconfirmed,") {
		t.Errorf("the exceptions export must list it (%v):\n%s", err, csv.String())
	}
	var jl strings.Builder
	if err := j.ExportJSONLines(&jl, reversal.Cancellations); err != nil || !strings.Contains(jl.String(), `"state":"recovery-unconfirmed"`) {
		t.Errorf("the cancellations export must list it (%v):\n%s", err, jl.String())
	}
}

// TestReversalBlocksWithinItsLimit: under a larger GiveUpAfter the record
// stays pending between drains (new requests are refused) until the host
// answers; the attempt count carries over.
func TestReversalBlocksWithinItsLimit(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 1500)
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	silent := true
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) {
		if silent {
			return "", errNoAnswer
		}
		return "00", nil
	}}
	p := tePolicy()
	p.GiveUpAfter = 8
	e := reversal.NewEngine(j, d, host, p)
	err := e.Drain(context.Background())
	var pe *reversal.PendingError
	if !errors.As(err, &pe) || len(pe.IDs) != 1 || errors.Is(err, reversal.ErrUnconfirmed) || len(host.sent) != 4 {
		t.Fatalf("Drain = %v after %d sends, want the sale pending after 4", err, len(host.sent))
	}
	if e.Ready() == nil {
		t.Error("Ready() with a reversal pending")
	}
	silent = false
	if err := e.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Get(sale.ID); got.State != reversal.StateReversed || got.Attempts != 5 {
		t.Errorf("state %s after %d attempts, want reversed after 5", got.State, got.Attempts)
	}
}

// notSent is a host that cannot be reached: nothing leaves the terminal.
var errUnreachable = fmt.Errorf("dial: connection refused: %w", reversal.ErrNotSent)

// TestUnsentAttemptsDoNotCount: a drain while the host cannot be reached
// sends nothing, so it uses none of the record's sends; the record stays
// pending and the next drain still has all four.
func TestUnsentAttemptsDoNotCount(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 1500)
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	down := true
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) {
		if down {
			return "", errUnreachable
		}
		return "96", nil
	}}
	e := reversal.NewEngine(j, d, host, tePolicy())
	if err := e.Drain(context.Background()); !errors.Is(err, reversal.ErrRecoveryPending) || !errors.Is(err, reversal.ErrNotSent) {
		t.Fatalf("Drain with the host down = %v, want pending", err)
	}
	if got, _ := j.Get(sale.ID); got.State != reversal.StateRecoveryPending || got.Attempts != 0 {
		t.Fatalf("state %s with %d attempts counted, want pending with none", got.State, got.Attempts)
	}
	down = false
	host.sent = nil
	if err := e.Drain(context.Background()); !errors.Is(err, reversal.ErrUnconfirmed) || len(host.sent) != 4 {
		t.Errorf("Drain = %v after %d sends, want unconfirmed after 4", err, len(host.sent))
	}
}

// TestISO87LadderAcrossDrains: the attempt count survives between drains,
// so the messages climb 0400, 0401, 0401, 0420, 0421; the PAN the journal
// holds encrypted is put back into each.
func TestISO87LadderAcrossDrains(t *testing.T) {
	d, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	j := tjOpen(t, reversal.WithDataKey(tjKey))
	amount := iso.Amount{Minor: 990, Currency: iso.USD}
	sale := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindSale, Amount: amount, PAN: tjPAN},
		iso.SaleRequest{Amount: amount, Card: iso.Card{PAN: tjPAN, Entry: iso.EntryMode{Method: iso.EntryManual}}})
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	host := &teHost{d: d, answer: func(n int, _ *iso.Message) (iso.ResponseCode, error) {
		if n < 4 {
			return "", errNoAnswer
		}
		return "25", nil // the host never saw the sale: nothing to reverse
	}}
	p := tePolicy()
	p.AttemptsPerDrain = 2
	e := reversal.NewEngine(j, d, host, p)
	for range 3 {
		e.Drain(context.Background())
	}
	want := []string{"0400", "0401", "0401", "0420", "0421"}
	if got := host.mtis(); len(got) != len(want) {
		t.Fatalf("sent %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("message %d: %s, want %s", i, got[i], want[i])
			}
		}
	}
	if got, _ := j.Get(sale.ID); got.State != reversal.StateReversed {
		t.Errorf("25 (original not found) must end the reversal, state %s", got.State)
	}
	for _, m := range host.sent {
		if m.Value(2) != tjPAN.Digits() {
			t.Errorf("%s lost the PAN the journal holds encrypted", m.MTI)
		}
	}
}

// TestRepeatStandsWhenAcknowledged: an ISO87 host-to-host void with an
// unknown outcome is repeated (0400, then 0401); the acknowledgement
// approves it and its sale is voided.
func TestRepeatStandsWhenAcknowledged(t *testing.T) {
	d, _ := iso87.New(iso87.WithProfile(iso87.ProfileHostToHost))
	j := tjOpen(t)
	amount := iso.Amount{Minor: 4000, Currency: iso.USD}
	sale := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindSale, Amount: amount},
		iso.SaleRequest{Amount: amount, Card: iso.Card{PAN: tjPAN, Entry: iso.EntryMode{Method: iso.EntryManual}}})
	sale, _ = j.Approve(sale.ID, tjApproved("000000000050"))
	void := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindVoid, Amount: amount, OriginalID: sale.ID},
		iso.VoidRequest{Original: iso.Original{STAN: sale.STAN, Batch: sale.Batch, Time: sale.Created, RRN: sale.RRN, Amount: amount}})
	if void.Recovery != iso.RecoveryRepeat {
		t.Fatalf("ISO87 void recovery %s", void.Recovery)
	}
	j.MarkRecoveryPending(void.ID, iso.ReasonTimeout)
	host := &teHost{d: d, answer: func(n int, _ *iso.Message) (iso.ResponseCode, error) {
		if n == 0 {
			return "", errNoAnswer
		}
		return "00", nil
	}}
	if err := reversal.NewEngine(j, d, host, tePolicy()).Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := host.mtis(); len(got) != 2 || got[0] != "0400" || got[1] != "0401" || host.sent[1].Value(39) != "17" || host.sent[1].Value(25) != "00" {
		t.Errorf("sent %v, want the void then its repeat", got)
	}
	if v, _ := j.Get(void.ID); v.State != reversal.StateApproved {
		t.Errorf("void state %s", v.State)
	}
	if s, _ := j.Get(sale.ID); s.VoidedBy != void.ID {
		t.Error("the acknowledged void did not void its sale")
	}
}

// TestRefusedReversalSays06: after a reply that does not end the reversal
// (96 here) every later 0400 carries F39 06 instead of the first reason,
// across drains; the policy then ends it unconfirmed. An operator's
// override is a different ending (given-up) and needs the operator.
func TestRefusedReversalSays06(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	refusing := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "96", nil }}
	a := tjSale(t, j, d, 100)
	j.MarkRecoveryPending(a.ID, iso.ReasonBadMAC)
	p := tePolicy()
	p.AttemptsPerDrain = 2
	p.GiveUpAfter = 3
	e := reversal.NewEngine(j, d, refusing, p)
	if err := e.Drain(context.Background()); !errors.Is(err, reversal.ErrRecoveryPending) {
		t.Fatalf("first drain: %v", err)
	}
	if err := e.Drain(context.Background()); !errors.Is(err, reversal.ErrUnconfirmed) {
		t.Fatalf("second drain: %v", err)
	}
	want := []string{"A0", "06", "06"}
	if len(refusing.sent) != len(want) {
		t.Fatalf("%d sends, want %d", len(refusing.sent), len(want))
	}
	for i, m := range refusing.sent {
		if m.Value(39) != want[i] {
			t.Errorf("send %d: F39 %s, want %s", i, m.Value(39), want[i])
		}
	}
	if got, _ := j.Get(a.ID); got.State != reversal.StateUnconfirmed || got.Attempts != 3 || got.Refusals != 3 {
		t.Errorf("state %s after %d attempts and %d refusals", got.State, got.Attempts, got.Refusals)
	}

	b := tjSale(t, j, d, 200)
	j.MarkRecoveryPending(b.ID, iso.ReasonTimeout)
	p.GiveUpAfter = 100
	e = reversal.NewEngine(j, d, refusing, p)
	if err := e.Drain(context.Background()); !errors.Is(err, reversal.ErrRecoveryPending) {
		t.Fatalf("within its limit the record must stay and block: %v", err)
	}
	if _, err := e.Override(b.ID, "", "no operator"); err == nil {
		t.Error("an override without an operator was accepted")
	}
	got, err := e.Override(b.ID, "00", "host down all day; customer refunded by phone")
	if err != nil || got.State != reversal.StateGivenUp || got.Events[len(got.Events)-1].Operator != "00" {
		t.Errorf("override: %v, %+v", err, got.Events)
	}
	if err := e.Ready(); err != nil {
		t.Errorf("still blocked after the override: %v", err)
	}
	if _, err := e.Override(a.ID, "00", "late"); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("override of an unconfirmed (final) record: %v", err)
	}
}

// TestRecoverAtStartup: records left prepared become pending and are
// reversed; an inquiry left prepared just had no reply.
func TestRecoverAtStartup(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 300)
	inq := tjPrepare(t, j, d, reversal.Intent{Kind: iso.KindBalanceInquiry}, iso.BalanceInquiryRequest{Currency: iso.CNY,
		Card: iso.Card{PAN: tjPAN, Entry: iso.EntryMode{Method: iso.EntryManual}}})
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "00", nil }}
	if err := reversal.NewEngine(j, d, host, tePolicy()).Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.Get(sale.ID); got.State != reversal.StateReversed || got.Reason != iso.ReasonTimeout {
		t.Errorf("sale: %s (%s)", got.State, got.Reason)
	}
	if got, _ := j.Get(inq.ID); got.State != reversal.StateNoReply {
		t.Errorf("inquiry: %s", got.State)
	}
	if len(host.sent) != 1 {
		t.Errorf("sent %d messages, want the one reversal", len(host.sent))
	}
}

// TestDrainStopsWithTheContext: a cancelled context ends a drain at once
// and leaves the record pending.
func TestDrainStopsWithTheContext(t *testing.T) {
	d := tjCUP(t)
	j := tjOpen(t)
	sale := tjSale(t, j, d, 300)
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "", errNoAnswer }}
	p := tePolicy()
	p.Backoff = func(int) time.Duration { return time.Hour }
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := reversal.NewEngine(j, d, host, p).Drain(ctx)
	if !errors.Is(err, reversal.ErrRecoveryPending) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Drain = %v after %s", err, time.Since(start))
	}
}

// TestPolicyExpiry: a recovery older than the policy's expiry ends
// unconfirmed without another message.
func TestPolicyExpiry(t *testing.T) {
	d := tjCUP(t)
	long := time.Now().Add(-72 * time.Hour)
	j := tjOpen(t, reversal.WithClock(func() time.Time { return long }))
	sale := tjSale(t, j, d, 100)
	j.MarkRecoveryPending(sale.ID, iso.ReasonTimeout)
	host := &teHost{d: d, answer: func(int, *iso.Message) (iso.ResponseCode, error) { return "00", nil }}
	p := tePolicy()
	p.Expiry = 48 * time.Hour
	if err := reversal.NewEngine(j, d, host, p).Drain(context.Background()); !errors.Is(err, reversal.ErrUnconfirmed) {
		t.Fatalf("Drain = %v, want the expired record unconfirmed", err)
	}
	if got, _ := j.Get(sale.ID); got.State != reversal.StateUnconfirmed || len(host.sent) != 0 {
		t.Errorf("state %s after %d messages, want unconfirmed after none", got.State, len(host.sent))
	}
}

package switchtest_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestChaosChild is the terminal TestChaos kills; it does nothing in a
// normal run. It opens the journal the last child left, starts the
// terminal (Start recovers what the kill left unknown), then does its
// operations, each between a "BEGIN i op" and an "END i op outcome" line
// on stdout; what a call reports unconfirmed it prints as "UNCONFIRMED
// ids". With POSSWITCH_CHAOS_FINAL it only drains and settles.
func TestChaosChild(t *testing.T) {
	addr := os.Getenv(envChaosAddr)
	if addr == "" {
		t.Skip("runs only as the child of TestChaos")
	}
	c := &chaosChild{t: t, in: bufio.NewReader(os.Stdin)}
	seed, _ := strconv.ParseUint(os.Getenv(envChaosSeed), 10, 64)
	ops, _ := strconv.Atoi(os.Getenv(envChaosOps))
	c.rng = rand.New(rand.NewPCG(seed, 0xc41d))
	c.d = dialects(t)[os.Getenv(envChaosDialect)]
	j, err := reversal.Open(os.Getenv(envChaosJournal), reversal.WithDataKey(chaosDataKey))
	if err != nil {
		t.Fatal(err) // ErrLocked would mean the killed child still holds it
	}
	c.j = j
	unknown, err := j.Find(func(r reversal.Record) bool {
		return r.State == reversal.StatePrepared || r.State == reversal.StateRecoveryPending
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("RECOVER %d\n", len(unknown))
	auth := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	if err := auth.Add("00", isoswitch.RoleSupervisor, chaosSupPass); err != nil {
		t.Fatal(err)
	}
	c.term, err = isoswitch.New(isoswitch.Config{Dialect: c.d, Addr: addr, Terminal: chaosTID, Merchant: "898310048161234",
		MasterKey: switchtest.DefaultTMK, Journal: j}, isoswitch.WithTimeout(chaosTimeout), isoswitch.WithAuthoriser(auth),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 5 * time.Millisecond }}))
	if err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		err := c.term.Start(c.ctx(), chaosOperator)
		c.report(err)
		if err == nil || errors.Is(err, reversal.ErrRecoveryPending) || errors.Is(err, reversal.ErrUnconfirmed) {
			break
		}
		if try == 50 {
			t.Fatalf("Start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	recovered := 0
	for _, r := range unknown {
		if now, err := j.Get(r.ID); err == nil && now.State != reversal.StatePrepared && now.State != reversal.StateRecoveryPending {
			recovered++
		}
	}
	fmt.Printf("RECOVERED %d\n", recovered)
	c.sweepQR()
	if os.Getenv(envChaosFinal) != "" {
		c.final()
	} else {
		for i := 1; i <= ops; i++ {
			op := c.pick()
			fmt.Printf("BEGIN %d %s\n", i, op)
			fmt.Printf("END %d %s %s\n", i, op, c.do(op))
		}
	}
	c.term.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("DONE")
}

type chaosChild struct {
	t    *testing.T
	rng  *rand.Rand
	d    iso.Dialect
	j    *reversal.Journal
	term *isoswitch.Terminal
	in   *bufio.Reader
}

func (c *chaosChild) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// report prints the records a call said ended unconfirmed.
func (c *chaosChild) report(err error) {
	var ue *reversal.UnconfirmedError
	if errors.As(err, &ue) {
		c.reportRecords(ue.Records)
	}
}

func (c *chaosChild) reportRecords(rs []reversal.Record) {
	if len(rs) == 0 {
		return
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, strconv.FormatUint(r.ID, 10))
	}
	fmt.Printf("UNCONFIRMED %s\n", strings.Join(ids, " "))
}

// outcome is a call's error as one word, after reporting what it says.
func (c *chaosChild) outcome(err error) string {
	c.report(err)
	var de *isoswitch.DeclinedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &de):
		if os.Getenv(envChaosDebug) != "" {
			fmt.Printf("NOTE %v %+v\n", err, de.Result)
		}
		return "declined-" + string(de.Code)
	case errors.Is(err, isoswitch.ErrOutcomeUnknown):
		return "unknown"
	case errors.Is(err, reversal.ErrRecoveryPending):
		return "pending"
	case errors.Is(err, reversal.ErrUnconfirmed):
		return "unconfirmed"
	case errors.Is(err, isoswitch.ErrNotAllowed):
		return "not-allowed"
	case errors.Is(err, isoswitch.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, isoswitch.ErrTimeout), errors.Is(err, isoswitch.ErrConnectionLost):
		return "network"
	case errors.Is(err, iso.ErrBadReply):
		return "bad-reply"
	}
	return "error" // any other error: still journaled, compared at the end
}

var chaosOpWeights = []struct {
	op     string
	weight int
}{
	{"sale", 30}, {"code-sale", 10}, {"inquiry", 6}, {"void", 12}, {"refund", 8},
	{"cancel", 10}, {"reverse", 4}, {"qr", 10}, {"settle", 4},
}

func (c *chaosChild) pick() string {
	if st, err := c.openBatch(); err == nil && st.Status != reversal.BatchOpen {
		return "settle" // a settlement a kill interrupted must finish first
	}
	total := 0
	for _, w := range chaosOpWeights {
		total += w.weight
	}
	n := c.rng.IntN(total)
	for _, w := range chaosOpWeights {
		if n -= w.weight; n < 0 {
			return w.op
		}
	}
	return "sale"
}

func (c *chaosChild) openBatch() (reversal.BatchState, error) {
	b, err := c.j.OpenBatch()
	if err != nil {
		return reversal.BatchState{}, err
	}
	return c.j.Batch(b)
}

// amount is 1.00 to 99.99; about one in ten ends in 51 or 05, which the
// host's default rule declines.
func (c *chaosChild) amount() iso.Amount {
	m := int64(100 + c.rng.IntN(9900))
	switch c.rng.IntN(20) {
	case 0:
		m = m/100*100 + 51
	case 1:
		m = m/100*100 + 5
	}
	return cny(m)
}

func (c *chaosChild) card() iso.Card { return chaosCards[c.rng.IntN(len(chaosCards))] }

// cardOf is the card a record was paid with (its PAN from the journal).
func (c *chaosChild) cardOf(r reversal.Record) iso.Card {
	if pan, err := c.j.PAN(r); err == nil {
		return iso.Card{PAN: pan, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	}
	return c.card()
}

// among picks one record match accepts, or false.
func (c *chaosChild) among(match func(reversal.Record) bool) (reversal.Record, bool) {
	rs, err := c.j.Find(match)
	if err != nil || len(rs) == 0 {
		return reversal.Record{}, false
	}
	return rs[c.rng.IntN(len(rs))], true
}

func (c *chaosChild) do(op string) string {
	ctx := c.ctx()
	switch op {
	case "sale":
		_, err := c.term.Sale(ctx, chaosOperator, c.amount(), c.card())
		return c.outcome(err)
	case "code-sale":
		code := iso.PaymentCode(fmt.Sprintf("28%016d", c.rng.Uint64()%1e16))
		_, err := c.term.PaymentCodeSale(ctx, chaosOperator, c.amount(), code)
		return c.outcome(err)
	case "inquiry":
		_, err := c.term.BalanceInquiry(ctx, chaosOperator, c.card(), iso.CNY)
		return c.outcome(err)
	case "void":
		open, err := c.j.OpenBatch()
		if err != nil {
			return "error"
		}
		r, ok := c.among(func(r reversal.Record) bool {
			return r.Batch == open && r.InBatch() && !r.Voided() && r.Refunded == 0 &&
				(r.BatchKind() == iso.KindSale || r.BatchKind() == iso.KindPaymentCodeSale)
		})
		if !ok {
			return "none"
		}
		_, err = c.term.Void(ctx, chaosSup, isoswitch.Original{STAN: r.STAN})
		return c.outcome(err)
	case "refund":
		r, ok := c.among(func(r reversal.Record) bool {
			return r.Kind == iso.KindSale && r.InBatch() && r.Settled && r.Refundable() > 0
		})
		if !ok {
			return "none"
		}
		amount := cny(1 + c.rng.Int64N(r.Refundable()))
		_, err := c.term.Refund(ctx, chaosSup, isoswitch.Original{RRN: r.RRN, Date: r.Created}, amount, c.cardOf(r))
		return c.outcome(err)
	case "cancel":
		r, ok := c.among(func(r reversal.Record) bool {
			return r.Kind == iso.KindSale || r.Kind == iso.KindPaymentCodeSale || r.Kind == iso.KindQROrderCreate
		})
		if !ok {
			return "none"
		}
		card := c.cardOf(r)
		res, err := c.term.Cancel(ctx, chaosSup, r.ID, &card)
		if err == nil {
			return string(res.Action)
		}
		return c.outcome(err)
	case "reverse":
		// The application could not complete an approved sale (card
		// removed, printer out of paper).
		res, err := c.term.Sale(ctx, chaosOperator, c.amount(), c.card())
		if err != nil {
			return c.outcome(err)
		}
		_, err = c.term.Reverse(ctx, res.RecordID)
		return c.outcome(err)
	case "qr":
		o, err := c.term.CreateQROrder(ctx, chaosOperator, c.amount(), time.Hour)
		if err != nil {
			return c.outcome(err)
		}
		fmt.Printf("QR %s\n", o.Ref)
		if _, err := c.in.ReadString('\n'); err != nil {
			c.t.Fatalf("the parent did not answer: %v", err)
		}
		switch c.rng.IntN(3) {
		case 0:
			_, err = c.term.QueryQROrder(ctx, o.RecordID)
		case 1:
			_, err = c.term.CloseQROrder(ctx, o.RecordID)
		default:
			var res isoswitch.CancelResult
			if res, err = c.term.Cancel(ctx, chaosSup, o.RecordID, nil); err == nil {
				return "qr-" + string(res.Action)
			}
		}
		return c.outcome(err)
	case "settle":
		return c.settle(ctx)
	}
	return "unknown-op"
}

func (c *chaosChild) settle(ctx context.Context) string {
	c.sweepQR()
	res, err := c.term.Settle(ctx, chaosSup, nil)
	if err != nil {
		return c.outcome(err)
	}
	c.reportRecords(res.Unconfirmed)
	fmt.Printf("SETTLED %s %s\n", res.Batch, res.Verdict)
	return "ok"
}

// sweepQR asks the host where every waiting order stands, so that a paid
// one enters the batch before it settles.
func (c *chaosChild) sweepQR() {
	waiting, err := c.j.Find(func(r reversal.Record) bool {
		return r.Kind == iso.KindQROrderCreate && r.QR != nil && r.QR.Status == iso.QRWaiting
	})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, r := range waiting {
		for try := 0; try < 5; try++ {
			if _, err := c.term.QueryQROrder(c.ctx(), r.ID); err == nil {
				break
			}
		}
	}
}

// final runs with the faults off: drain until nothing is pending, then
// settle.
func (c *chaosChild) final() {
	for try := 0; ; try++ {
		err := c.term.Drain(c.ctx())
		c.report(err)
		if err == nil || !errors.Is(err, reversal.ErrRecoveryPending) {
			break
		}
		if try == 20 {
			c.t.Fatalf("still pending with the faults off: %v", err)
		}
	}
	for try := 0; ; try++ {
		if out := c.settle(c.ctx()); out == "ok" {
			return
		} else if try == 10 {
			c.t.Fatalf("the final settlement: %s", out)
		}
	}
}

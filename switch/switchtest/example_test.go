package switchtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// The first thing a terminal does is sign on: Terminal.Start recovers what
// an earlier run left unknown, signs on (fetching working keys under the
// master key) and sends pending reversals. This is the whole setup, from
// nothing to a terminal ready to sell against the simulator; the other
// examples start from the same setup (newShop below).
func ExampleStart() {
	d, err := cup.New()
	if err != nil {
		log.Fatal(err)
	}
	host, err := switchtest.Start(d) // an acquirer host on 127.0.0.1, master key switchtest.DefaultTMK
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()

	dir, _ := os.MkdirTemp("", "posswitch")
	defer os.RemoveAll(dir)
	// A CUP terminal sends the PAN after the fact (reversals, keyed voids,
	// batch upload): its journal keeps it encrypted under a data key, which
	// a real terminal keeps in its secure element. Without one, isoswitch.New
	// fails with ErrDataKeyRequired.
	dataKey := bytes.Repeat([]byte{0x5a}, 32)
	j, err := reversal.Open(filepath.Join(dir, "journal.db"), reversal.WithDataKey(dataKey))
	if err != nil {
		log.Fatal(err)
	}
	defer j.Close()

	// Who may do what: a cashier sells; a supervisor voids, cancels, settles.
	ops := isoswitch.NewOperators()
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	ops.Add("01", isoswitch.RoleCashier, "4711")

	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: host.Addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: host.TMK, Journal: j}, isoswitch.WithAuthoriser(ops))
	if err != nil {
		log.Fatal(err)
	}
	defer term.Close()

	if err := term.Start(context.Background(), "01"); err != nil { // sign on as cashier 01
		log.Fatal(err)
	}
	batch, _ := j.OpenBatch()
	fmt.Println("signed on; open batch", batch, "at the host", host.Batch("TERM0001"))
	// Output: signed on; open batch 000001 at the host 000001
}

// shop is ExampleStart's setup: a simulator, a journal with a data key and
// a signed-on terminal with a supervisor "00" and a cashier "01".
type shop struct {
	host *switchtest.Host
	term *isoswitch.Terminal
	j    *reversal.Journal
	stop func()
}

var supervisorCreds = isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}

// A published test card number, keyed in.
var keyed = iso.Card{PAN: "4111111111111111", Expiry: "4912", Entry: iso.EntryMode{Method: iso.EntryManual}}

func newShop(opts ...switchtest.Option) shop {
	d, _ := cup.New()
	host, err := switchtest.Start(d, opts...)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "posswitch")
	j, err := reversal.Open(filepath.Join(dir, "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		log.Fatal(err)
	}
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost)) // cheap hashes: examples only
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	ops.Add("01", isoswitch.RoleCashier, "4711")
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: host.Addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: host.TMK, Journal: j},
		isoswitch.WithAuthoriser(ops), isoswitch.WithTimeout(300*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	if err := term.Start(context.Background(), "01"); err != nil {
		log.Fatal(err)
	}
	return shop{host, term, j, func() { term.Close(); j.Close(); host.Close(); os.RemoveAll(dir) }}
}

// A sale by a keyed card. The simulator approves it (amounts ending in 51
// or 05 it declines, as a test needs); the result is what the receipt
// prints, the card masked. Sign-on took trace 000001.
func ExampleStart_sale() {
	s := newShop()
	defer s.stop()
	ctx := context.Background()

	sale, err := s.term.Sale(ctx, "01", iso.Amount{Minor: 2599, Currency: iso.CNY}, keyed)
	fmt.Println(sale.Code, sale.Amount, sale.MaskedPAN, "trace", sale.STAN, err)

	_, err = s.term.Sale(ctx, "01", iso.Amount{Minor: 1051, Currency: iso.CNY}, keyed)
	var declined *isoswitch.DeclinedError
	if errors.As(err, &declined) {
		fmt.Println(declined.Code, "-", declined.Code.Action())
	}
	// Output:
	// 00 approved CNY 25.99 411111******1111 trace 000002 <nil>
	// 51 insufficient funds - decline
}

// A void of today's sale, found by the trace number on its receipt. Voids
// need an operator allowed to void (here the supervisor).
func ExampleStart_void() {
	s := newShop()
	defer s.stop()
	ctx := context.Background()
	sale, _ := s.term.Sale(ctx, "01", iso.Amount{Minor: 800, Currency: iso.CNY}, keyed)

	void, err := s.term.Void(ctx, supervisorCreds, isoswitch.Original{STAN: sale.STAN})
	fmt.Println(void.Kind, void.Amount, "of trace", sale.STAN, err)
	_, err = s.term.Void(ctx, supervisorCreds, isoswitch.Original{STAN: sale.STAN})
	fmt.Println(errors.Is(err, isoswitch.ErrNotAllowed))
	// Output:
	// void CNY 8.00 of trace 000002 <nil>
	// true
}

// The host keeps the sale but its reply never comes (a fault injected
// into the simulator). The outcome is unknown: the call returns the
// transaction's identity and an *OutcomeUnknownError, and the terminal
// reverses the sale on its own. Drain waits for that reversal (every
// call drains first anyway); the journal and the host then agree nothing
// was charged.
func ExampleStart_timeout() {
	s := newShop()
	defer s.stop()
	ctx := context.Background()
	s.host.SetFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindSale, Times: 1})

	sale, err := s.term.Sale(ctx, "01", iso.Amount{Minor: 3300, Currency: iso.CNY}, keyed)
	fmt.Println(err)
	var unknown *isoswitch.OutcomeUnknownError
	if errors.As(err, &unknown) {
		fmt.Println("reason:", unknown.Reason, "- timed out:", errors.Is(err, isoswitch.ErrTimeout))
	}

	if err := s.term.Drain(ctx); err != nil {
		fmt.Println(err)
	}
	rec, _ := s.j.Get(sale.RecordID)
	fmt.Println("journal:", rec.State, "- host:", s.host.Transactions()[0].State)
	// Output:
	// isoswitch: outcome of trace 000002 unknown: no reply in 300ms; reversal queued
	// reason: timeout - timed out: true
	// journal: reversed - host: reversed
}

// Settlement closes the batch: the terminal sends its totals, the host
// compares them with its own. CUP totals are gross: a voided sale still
// counts as a debit and its void as a credit (CaoEnXin/LiaoYang_POS
// Src/posfiles.c ComputeTransTotal), so two sales and one void total two
// debits and one credit, net CNY 10.00.
func ExampleStart_settle() {
	s := newShop()
	defer s.stop()
	ctx := context.Background()
	s.term.Sale(ctx, "01", iso.Amount{Minor: 1000, Currency: iso.CNY}, keyed)
	voided, _ := s.term.Sale(ctx, "01", iso.Amount{Minor: 250, Currency: iso.CNY}, keyed)
	s.term.Void(ctx, supervisorCreds, isoswitch.Original{STAN: voided.STAN})

	res, err := s.term.Settle(ctx, supervisorCreds, nil)
	t := res.Totals.Foreign // a Visa card: CUP settles it in the foreign-card class
	fmt.Println(res.Verdict, "- debits", t.DebitCount, t.DebitAmount, "credits", t.CreditCount, t.CreditAmount)
	fmt.Println("batch", res.Batch, "closed; next", res.NextBatch, err)
	// Output:
	// balanced - debits 2 1250 credits 1 250
	// batch 000001 closed; next 000002 <nil>
}

// Cancel is "undo this payment": the journal decides how (a void in the
// open batch, a reversal, a refund after settlement, or nothing).
func ExampleStart_cancel() {
	s := newShop()
	defer s.stop()
	ctx := context.Background()
	sale, _ := s.term.Sale(ctx, "01", iso.Amount{Minor: 500, Currency: iso.CNY}, keyed)

	c, err := s.term.Cancel(ctx, supervisorCreds, sale.RecordID, nil)
	fmt.Println(c.Action, "-", c.Why, err)
	c, err = s.term.Cancel(ctx, supervisorCreds, sale.RecordID, nil)
	fmt.Println(c.Action, "-", c.Why, err)
	// Output:
	// voided - approved in the open batch <nil>
	// nothing - it was already voided (record 2) <nil>
}

// A QR order the customer's wallet pays: the terminal shows the payload,
// the customer pays (here the simulator is told to), and WaitQROrder
// returns the approved payment.
func ExampleStart_qrOrder() {
	s := newShop()
	defer s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	order, err := s.term.CreateQROrder(ctx, "01", iso.Amount{Minor: 1200, Currency: iso.CNY}, 2*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("show:", order.Status, order.Payload != "")
	s.host.PayQR(order.Ref) // the customer pays

	paid, err := s.term.WaitQROrder(ctx, order.RecordID, 50*time.Millisecond)
	fmt.Println(paid.Status, paid.Payment.Amount, err)
	// Output:
	// show: waiting true
	// paid CNY 12.00 <nil>
}

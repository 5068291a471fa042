package isoswitch_test

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
)

// exampleTerminal starts a scripted host on 127.0.0.1 and a signed-on
// terminal against it, with a journal in a temporary directory and a
// supervisor "00" who may void, refund, cancel and settle.
func exampleTerminal() (*isoswitch.Terminal, *scriptedHost, func()) {
	d, _ := cup.New()
	h, stopHost, err := listenHost(d, log.Printf, nil)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "posswitch-example")
	// CUP sends the PAN after the fact (reversals, keyed voids, batch
	// upload): the journal keeps it encrypted under the application's
	// data key, which a real terminal keeps in its secure element.
	j, err := reversal.Open(filepath.Join(dir, "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		log.Fatal(err)
	}
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	ops.Add("01", isoswitch.RoleCashier, "4711")
	term, err := isoswitch.New(isoswitch.Config{
		Dialect: d, Addr: h.addr, Terminal: "TERM0001", Merchant: "898310048161234",
		MasterKey: testTMK, Journal: j,
	}, isoswitch.WithTimeout(2*time.Second), isoswitch.WithAuthoriser(ops))
	if err != nil {
		log.Fatal(err)
	}
	if err := term.Start(context.Background(), "01"); err != nil {
		log.Fatal(err)
	}
	return term, h, func() { term.Close(); j.Close(); stopHost(); os.RemoveAll(dir) }
}

func Example() {
	term, _, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()

	card := iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	sale, err := term.Sale(ctx, "01", iso.Amount{Minor: 2599, Currency: iso.CNY}, card)
	var unknown *isoswitch.OutcomeUnknownError
	switch {
	case errors.As(err, &unknown):
		fmt.Println("no answer: the terminal is reversing it")
	case errors.Is(err, isoswitch.ErrDeclined):
		fmt.Println("declined:", err)
	case err != nil:
		fmt.Println(err)
	default:
		fmt.Println(sale.Code, sale.Amount, sale.MaskedPAN)
	}
	// Output: 00 approved CNY 25.99 411111******1111
}

// Revoking payments: Cancel decides from the journal what undoes them.
func ExampleTerminal_Cancel() {
	term, _, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()
	supervisor := isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}

	sale, _ := term.Sale(ctx, "01", iso.Amount{Minor: 500, Currency: iso.CNY}, card)
	c, _ := term.Cancel(ctx, supervisor, sale.RecordID, nil)
	fmt.Println(c.Action, "-", c.Why)
	c, _ = term.Cancel(ctx, supervisor, sale.RecordID, nil)
	fmt.Println(c.Action, "-", c.Why)

	_, err := term.Cancel(ctx, isoswitch.Credentials{Operator: "01", Password: "4711"}, sale.RecordID, nil)
	fmt.Println(errors.Is(err, isoswitch.ErrUnauthorised))
	// Output:
	// voided - approved in the open batch
	// nothing - it was already voided (record 2)
	// true
}

// A QR order the customer's wallet pays: show the payload, wait for the
// payment; the paid order is in the batch once.
func ExampleTerminal_CreateQROrder() {
	term, host, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()

	order, err := term.CreateQROrder(ctx, "01", iso.Amount{Minor: 1200, Currency: iso.CNY}, 2*time.Minute)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("show:", order.Status, order.Payload != "")
	host.setOrder(order.Ref, iso.QRPaid) // the customer pays

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	paid, err := term.WaitQROrder(ctx, order.RecordID, 50*time.Millisecond)
	fmt.Println(paid.Status, paid.Payment.Amount, err)
	// Output:
	// show: waiting true
	// paid CNY 12.00 <nil>
}

// Settlement at the end of the day, with the batch upload the host asks for.
func ExampleTerminal_Settle() {
	term, host, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}
	for _, minor := range []int64{100, 250, 325} {
		term.Sale(ctx, "01", iso.Amount{Minor: minor, Currency: iso.CNY}, card)
	}
	host.setScript(settleScript(iso.CodeReconcileError, 0)) // the host disagrees at first

	res, err := term.Settle(ctx, isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"},
		func(done, total int) { fmt.Printf("uploaded %d of %d\n", done, total) })
	fmt.Println(res.Verdict, res.Totals.Domestic.DebitCount, res.Totals.Domestic.DebitAmount, res.Batch, "→", res.NextBatch, err)
	// Output:
	// uploaded 3 of 3
	// out of balance 3 675 000001 → 000002 <nil>
}

// A void needs an operator allowed to void; a second void of the same sale
// is refused, saying why.
func ExampleTerminal_Void() {
	term, _, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}
	sale, _ := term.Sale(ctx, "01", iso.Amount{Minor: 800, Currency: iso.CNY}, card)

	supervisor := isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}
	void, err := term.Void(ctx, supervisor, isoswitch.Original{STAN: sale.STAN})
	fmt.Println(void.Kind, void.Amount, void.Operator, err)
	_, err = term.Void(ctx, supervisor, isoswitch.Original{STAN: sale.STAN})
	fmt.Println(err)
	// Output:
	// void CNY 8.00 00 <nil>
	// isoswitch: not allowed: the sale was already voided (record 2); nothing to undo
}

// The application could not complete an approved sale (the printer
// jammed): Reverse undoes it at the host.
func ExampleTerminal_Reverse() {
	term, _, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}
	sale, _ := term.Sale(ctx, "01", iso.Amount{Minor: 800, Currency: iso.CNY}, card)
	res, err := term.Reverse(ctx, sale.RecordID)
	fmt.Println(res.RecordID == sale.RecordID, err, term.Stats().ReversalsSent)
	// Output: true <nil> 1
}

func ExampleTerminal_BalanceInquiry() {
	term, _, stop := exampleTerminal()
	defer stop()
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}
	res, err := term.BalanceInquiry(context.Background(), "01", card, iso.CNY)
	fmt.Println(res.Balance, err)
	// Output: CNY 1234.56 <nil>
}

// Refunds are for settled sales, found by RRN and date, up to what is left.
func ExampleTerminal_Refund() {
	term, _, stop := exampleTerminal()
	defer stop()
	ctx := context.Background()
	supervisor := isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}
	card := iso.Card{PAN: "4111111111111111", Entry: iso.EntryMode{Method: iso.EntryManual}}
	sale, _ := term.Sale(ctx, "01", iso.Amount{Minor: 1000, Currency: iso.CNY}, card)
	if _, err := term.Settle(ctx, supervisor, nil); err != nil {
		fmt.Println(err)
		return
	}
	refund, err := term.Refund(ctx, supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()},
		iso.Amount{Minor: 300, Currency: iso.CNY}, card)
	fmt.Println(refund.Kind, refund.Amount, err)
	_, err = term.Refund(ctx, supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()},
		iso.Amount{Minor: 800, Currency: iso.CNY}, card)
	fmt.Println(err)
	// Output:
	// refund CNY 3.00 <nil>
	// isoswitch: not allowed: only CNY 7.00 is left to refund
}

// The customer shows a payment code in the wallet app; the terminal scans
// it and charges it like a card.
func ExampleTerminal_PaymentCodeSale() {
	term, _, stop := exampleTerminal()
	defer stop()
	res, err := term.PaymentCodeSale(context.Background(), "01", iso.Amount{Minor: 1880, Currency: iso.CNY}, "134567890123456789")
	fmt.Println(res.Kind, res.Amount, res.MaskedPAN, err)
	// Output: payment-code sale CNY 18.80 134567********6789 <nil>
}

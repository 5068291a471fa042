package isoswitch_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// exampleTerminal starts a scripted host on 127.0.0.1 and a signed-on
// terminal against it, with a journal in a temporary directory and a
// supervisor "00" who may void, refund, cancel and settle.
func exampleTerminal() (*isoswitch.Terminal, *scriptedHost, func()) {
	d, _ := iso.CUP()
	h, stopHost, err := listenHost(d, log.Printf, nil)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "posswitch-example")
	j, err := reversal.Open(filepath.Join(dir, "journal.db"))
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

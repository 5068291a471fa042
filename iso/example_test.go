package iso_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// A terminal builds a card sale, signs and frames it; the host's approval
// is decoded, checked against the request and read as a typed response.
func Example() {
	d, _ := iso87.New()
	mak := []byte("0123456789ABCDEF") // a 16-byte test MAK
	mac, _ := d.NewMAC(mak)

	env := iso.Envelope{Terminal: "TERM0001", Merchant: "MERCHANT0000001", STAN: 42, Batch: 1, Time: time.Now()}
	sale := iso.SaleRequest{
		Amount: iso.Amount{Minor: 1250, Currency: iso.USD},
		Card:   iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}},
	}
	req, err := d.BuildRequest(env, sale)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := d.Encode(req, mac)
	var wire bytes.Buffer
	_ = d.Framing().WriteFrame(&wire, d.Frame(body))

	// The host's side, in one line each: read, answer, send.
	hostFrame, _ := d.Framing().ReadFrame(&wire)
	hostReq, _ := d.Decode(hostFrame.Body)
	approval, _ := d.BuildResponse(hostReq, iso.FinancialResponse{Of: iso.KindSale, Amount: sale.Amount,
		Reply: iso.Reply{Code: iso.CodeApproved, RRN: "000000000777", AuthCode: "AB1234"}})
	replyBody, _ := d.Encode(approval, mac)

	// The terminal trusts nothing until CheckReply says the reply is its own.
	reply, _ := d.Decode(replyBody)
	if err := iso.CheckReply(req, reply, mac); err != nil {
		fmt.Println("reverse:", err)
		return
	}
	resp, _ := d.ParseResponse(req, reply)
	r := resp.(iso.FinancialResponse)
	fmt.Println(r.Code, r.Code.Action(), r.RRN, r.AuthCode, r.Amount)
	fmt.Println(sale.Card.PAN)
	// Output:
	// 00 approved approve 000000000777 AB1234 USD 12.50
	// 411111******1111
}

// Bad input is refused before anything is built, naming the field only.
func ExampleDialect_BuildRequest_invalid() {
	d, _ := cup.New()
	env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 1, Batch: 1, Time: time.Now()}
	_, err := d.BuildRequest(env, iso.SaleRequest{
		Amount: iso.Amount{Minor: 100, Currency: iso.CNY},
		Card:   iso.Card{PAN: "4111111111111112", Entry: iso.EntryMode{Method: iso.EntryManual}},
	})
	fmt.Println(err)
	// Output: iso: invalid Card.PAN: fails the Luhn check
}

// A sale whose reply never came is reversed; the dialect builds the
// reversal, here the ISO87 ladder of attempts.
func ExampleDialect_Reversal() {
	d, _ := iso87.New(iso87.WithAdviceAfter(2))
	env := iso.Envelope{Terminal: "TERM0001", Merchant: "MERCHANT0000001", STAN: 7, Batch: 1, Time: time.Now()}
	sale, _ := d.BuildRequest(env, iso.SaleRequest{Amount: iso.Amount{Minor: 990, Currency: iso.USD},
		Card: iso.Card{PAN: "5555555555554444", Entry: iso.EntryMode{Method: iso.EntryManual}}})
	for attempt := range 4 {
		r, _ := d.Reversal(sale, iso.ReasonTimeout, attempt)
		fmt.Println(r.MTI, r.Value(11), r.Value(39))
	}
	// Output:
	// 0400 000007 68
	// 0401 000007 68
	// 0420 000007 68
	// 0421 000007 68
}

// Response codes carry their meaning and what the terminal should do.
func ExampleResponseCode_Action() {
	for _, c := range []iso.ResponseCode{"00", "51", "96", "A0"} {
		fmt.Printf("%s → %s\n", c, c.Action())
	}
	// Output:
	// 00 approved → approve
	// 51 insufficient funds → decline
	// 96 system malfunction → retry
	// A0 MAC error, sign on again → re-sign-on
}

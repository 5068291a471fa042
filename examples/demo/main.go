// Command demo walks every message kind of both shipped dialects: it builds
// each request and its reply from typed values, encodes and frames them,
// reads the frame back, decodes it, checks the reply as a terminal would,
// and prints a masked field-by-field dump. It exits non-zero if any message
// does not survive the round trip.
//
//	go run ./examples/demo
package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/posswitch/posswitch/iso"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// The demo's keys are test values, never production keys.
var (
	mak = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	tmk = bytes.Repeat([]byte{0x11}, 16)
)

func run() error {
	cup, err := iso.CUP()
	if err != nil {
		return err
	}
	i87, err := iso.ISO87()
	if err != nil {
		return err
	}
	total := 0
	for _, d := range []struct {
		dialect iso.Dialect
		amount  iso.Amount
		pan     iso.PAN // published test card numbers
	}{
		{cup, iso.Amount{Minor: 2599, Currency: iso.CNY}, "6200000000000005"},
		{i87, iso.Amount{Minor: 2599, Currency: iso.USD}, "4111111111111111"},
	} {
		n, err := walk(d.dialect, d.amount, d.pan)
		if err != nil {
			return fmt.Errorf("%s: %w", d.dialect.Name(), err)
		}
		total += n
	}
	fmt.Printf("\n%d messages built, framed, decoded and checked; card data masked throughout.\n", total)
	return nil
}

// exchange is one request the demo sends and the reply its host gives.
type exchange struct {
	title string
	req   func(d iso.Dialect, env iso.Envelope) (*iso.Message, error)
	reply iso.Response
}

func walk(d iso.Dialect, amount iso.Amount, pan iso.PAN) (int, error) {
	now := time.Now()
	mac, err := d.NewMAC(mak)
	if err != nil {
		return 0, err
	}
	keys, err := signOnKeys()
	if err != nil {
		return 0, err
	}
	card := iso.Card{PAN: pan, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	original := iso.Original{STAN: 1, Batch: 1, Time: now.Add(-time.Minute), RRN: "000000000001", AuthCode: "123456", Amount: amount}
	ok := iso.Reply{Code: iso.CodeApproved, HostTime: now, RRN: "000000000002", AuthCode: "654321"}
	plain := func(r iso.Request) func(iso.Dialect, iso.Envelope) (*iso.Message, error) {
		return func(d iso.Dialect, env iso.Envelope) (*iso.Message, error) { return d.BuildRequest(env, r) }
	}
	sale := iso.SaleRequest{Amount: amount, Card: card}
	exchanges := []exchange{
		{"sign-on", plain(iso.SignOnRequest{Scheme: iso.KeysDoubleDES}), iso.SignOnResponse{Reply: ok, Batch: 1, Keys: keys}},
		{"echo", plain(iso.EchoRequest{}), iso.NetworkResponse{Reply: ok, Of: iso.KindEcho}},
		{"sale", plain(sale), iso.FinancialResponse{Reply: ok, Of: iso.KindSale, Amount: amount}},
		{"payment-code sale", plain(iso.PaymentCodeSaleRequest{Amount: amount, Code: "134567890123456789"}),
			iso.FinancialResponse{Reply: ok, Of: iso.KindPaymentCodeSale, Amount: amount}},
		{"balance inquiry", plain(iso.BalanceInquiryRequest{Card: card, Currency: amount.Currency}),
			iso.FinancialResponse{Reply: ok, Of: iso.KindBalanceInquiry, Balance: &iso.Amount{Minor: 100000, Currency: amount.Currency}}},
		{"void", plain(iso.VoidRequest{Original: original}), iso.FinancialResponse{Reply: ok, Of: iso.KindVoid, Amount: amount}},
		{"refund", plain(iso.RefundRequest{Amount: amount, Card: card, Original: original}),
			iso.FinancialResponse{Reply: ok, Of: iso.KindRefund, Amount: amount}},
		{"reversal of a sale (no reply in time)", func(d iso.Dialect, env iso.Envelope) (*iso.Message, error) {
			m, err := d.BuildRequest(env, sale)
			if err != nil {
				return nil, err
			}
			return d.Reversal(m, iso.ReasonTimeout, 0)
		}, iso.ReversalResponse{Reply: ok}},
		{"QR order create", plain(iso.QROrderCreateRequest{Amount: amount, Validity: 2 * time.Minute}),
			iso.QROrderResponse{Reply: ok, Of: iso.KindQROrderCreate, Amount: amount,
				Order: iso.QROrder{Ref: "ORDER0001", Payload: "https://qr.example.test/ORDER0001", Expires: now.Add(2 * time.Minute), Status: iso.QRWaiting}}},
		{"QR order query", plain(iso.QROrderQueryRequest{OrderRef: "ORDER0001"}),
			iso.QROrderResponse{Reply: ok, Of: iso.KindQROrderQuery, Order: iso.QROrder{Ref: "ORDER0001", Status: iso.QRWaiting}}},
		{"QR order close", plain(iso.QROrderCloseRequest{OrderRef: "ORDER0001"}),
			iso.QROrderResponse{Reply: ok, Of: iso.KindQROrderClose, Order: iso.QROrder{Ref: "ORDER0001", Status: iso.QRClosed}}},
	}
	entries := []iso.BatchEntry{{Kind: iso.KindSale, STAN: 3, Time: now, Amount: amount, RRN: "000000000002", AuthCode: "654321", PAN: pan}}
	totals := d.Totals(entries)
	exchanges = append(exchanges,
		exchange{"settlement", plain(iso.SettlementRequest{Totals: totals, Currency: amount.Currency}), settled(d, iso.VerdictOutOfBalance)},
		exchange{"batch upload", plain(iso.BatchUploadRequest{Entries: entries}), iso.BatchUploadResponse{Reply: ok}},
	)
	closing := d.CloseAfterUpload(totals, amount.Currency, len(entries), false)
	if _, isSettlement := closing.(iso.SettlementRequest); isSettlement {
		exchanges = append(exchanges, exchange{"settlement after upload", plain(closing), settled(d, iso.VerdictBalanced)})
	} else {
		exchanges = append(exchanges, exchange{"batch upload end", plain(closing), iso.BatchUploadResponse{Reply: ok, End: true}})
	}
	exchanges = append(exchanges, exchange{"sign-off", plain(iso.SignOffRequest{}), iso.NetworkResponse{Reply: ok, Of: iso.KindSignOff}})

	fmt.Printf("==== dialect %s ====\n", d.Name())
	for i, x := range exchanges {
		env := iso.Envelope{Terminal: "DEMO0001", Merchant: "DEMO00000000001", STAN: iso.STAN(i + 1), Batch: 1, Time: now, Operator: "01"}
		req, err := x.req(d, env)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", x.title, err)
		}
		reply, err := d.BuildResponse(req, x.reply)
		if err != nil {
			return 0, fmt.Errorf("%s reply: %w", x.title, err)
		}
		sentReq, err := roundTrip(d, req, mac)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", x.title, err)
		}
		gotReply, err := roundTrip(d, reply, mac)
		if err != nil {
			return 0, fmt.Errorf("%s reply: %w", x.title, err)
		}
		if err := iso.CheckReply(sentReq, gotReply, mac); err != nil {
			return 0, fmt.Errorf("%s: reply check: %w", x.title, err)
		}
		typed, err := d.ParseResponse(sentReq, gotReply)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", x.title, err)
		}
		fmt.Printf("\n-- %s → %s (%s)\n%s%s", x.title, typed.Result(), typed.Result().Action(), sentReq.Dump(), gotReply.Dump())
	}
	return 2 * len(exchanges), nil
}

// roundTrip encodes and frames m, then reads the frame back and decodes it,
// failing unless every field survives unchanged.
func roundTrip(d iso.Dialect, m *iso.Message, mac iso.MAC) (*iso.Message, error) {
	body, err := d.Encode(m, mac)
	if err != nil {
		return nil, err
	}
	var wire bytes.Buffer
	if err := d.Framing().WriteFrame(&wire, d.Frame(body)); err != nil {
		return nil, err
	}
	fr, err := d.Framing().ReadFrame(&wire)
	if err != nil {
		return nil, err
	}
	got, err := d.Decode(fr.Body)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(got.Fields()) != fmt.Sprint(m.Fields()) {
		return nil, fmt.Errorf("decoded %v, sent %v", got, m)
	}
	return got, nil
}

func settled(d iso.Dialect, v iso.Verdict) iso.Response {
	code := iso.CodeApproved
	if v == iso.VerdictOutOfBalance && d.Name() == "ISO87" {
		code = iso.CodeReconcileError
	}
	return iso.SettlementResponse{Reply: iso.Reply{Code: code, HostTime: time.Now()}, Verdict: v, Domestic: v}
}

func signOnKeys() (iso.SignOnKeys, error) {
	pik, err := iso.WrapKey(tmk, bytes.Repeat([]byte{0x22}, 16))
	if err != nil {
		return iso.SignOnKeys{}, err
	}
	wrappedMAK, err := iso.WrapKey(tmk, mak)
	return iso.SignOnKeys{PIK: pik, MAK: wrappedMAK}, err
}

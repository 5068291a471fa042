package iso_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// TestBadInputIsRefusedBeforeAnyByte: every request with a bad value is
// refused with a *FieldError naming the field, matching ErrInvalidInput,
// carrying no card value, and no message is built.
func TestBadInputIsRefusedBeforeAnyByte(t *testing.T) {
	good := iso.Card{PAN: panVisa, Entry: iso.EntryMode{Method: iso.EntryManual}}
	luhnBad := iso.PAN("4111111111111112")
	orig := iso.Original{STAN: 41, Batch: 7, Time: fixtureTime, RRN: "307310000041", Amount: usd}
	cases := []struct {
		name  string
		env   iso.Envelope
		req   iso.Request
		field string
	}{
		{"zero amount", env(1), iso.SaleRequest{Amount: iso.Amount{Currency: iso.USD}, Card: good}, "Amount"},
		{"negative amount", env(1), iso.SaleRequest{Amount: iso.Amount{Minor: -5, Currency: iso.USD}, Card: good}, "Amount"},
		{"amount wider than n12", env(1), iso.SaleRequest{Amount: iso.Amount{Minor: 1_000_000_000_000, Currency: iso.USD}, Card: good}, "Amount"},
		{"unknown currency", env(1), iso.SaleRequest{Amount: iso.Amount{Minor: 5, Currency: iso.Currency{"XXX", "999", 2}}, Card: good}, "Currency"},
		{"Luhn failure", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: luhnBad, Entry: good.Entry}}, "Card.PAN"},
		{"short PAN", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: "411111111111", Entry: good.Entry}}, "Card.PAN"},
		{"no card number", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{Entry: good.Entry}}, "Card.PAN"},
		{"track of another card", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panMaster, Track2: testTrack2, Entry: good.Entry}}, "Card.Track2"},
		{"bad track", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{Track2: "4111111111111111", Entry: good.Entry}}, "Card.Track2"},
		{"bad expiry", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panVisa, Expiry: "2813", Entry: good.Entry}}, "Card.Expiry"},
		{"PIN flag without PIN block", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panVisa, Entry: iso.EntryMode{Method: iso.EntryICC, PINEntered: true}}}, "Card.PINBlock"},
		{"unknown entry method", env(1), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panVisa, Entry: iso.EntryMode{Method: "99"}}}, "Card.Entry"},
		{"short terminal ID", iso.Envelope{Terminal: "T1", Merchant: "898310048161234", STAN: 1, Batch: 1, Time: fixtureTime}, iso.EchoRequest{}, "TerminalID"},
		{"long merchant ID", iso.Envelope{Terminal: "TERM0001", Merchant: "8983100481612345", STAN: 1, Batch: 1, Time: fixtureTime}, iso.EchoRequest{}, "MerchantID"},
		{"STAN zero", iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", Batch: 1, Time: fixtureTime}, iso.EchoRequest{}, "STAN"},
		{"STAN too wide", iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 1_000_000, Batch: 1, Time: fixtureTime}, iso.EchoRequest{}, "STAN"},
		{"no time", iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 1, Batch: 1}, iso.EchoRequest{}, "Time"},
		{"void without its original", env(1), iso.VoidRequest{}, "Original"},
		{"refund without RRN", env(1), iso.RefundRequest{Amount: usd, Card: good, Original: iso.Original{Time: fixtureTime}}, "Original.RRN"},
		{"refund above the original", env(1), iso.RefundRequest{Amount: iso.Amount{Minor: 99999, Currency: iso.USD}, Card: good, Original: orig}, "Amount"},
		{"payment code too short", env(1), iso.PaymentCodeSaleRequest{Amount: usd, Code: "12345"}, "PaymentCode"},
		{"QR validity not whole seconds", env(1), iso.QROrderCreateRequest{Amount: usd, Validity: 1500 * time.Millisecond}, "Validity"},
		{"QR validity over a day", env(1), iso.QROrderCreateRequest{Amount: usd, Validity: 25 * time.Hour}, "Validity"},
		{"empty order reference", env(1), iso.QROrderCloseRequest{}, "OrderRef"},
		{"unknown key scheme", env(1), iso.SignOnRequest{}, "Scheme"},
		{"empty upload", env(1), iso.BatchUploadRequest{}, "Entries"},
	}
	for name, tc := range dialects(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				m, err := tc.d.BuildRequest(c.env, c.req)
				if m != nil {
					t.Errorf("a message was built from bad input")
				}
				var fe *iso.FieldError
				if !errors.As(err, &fe) || !errors.Is(err, iso.ErrInvalidInput) {
					t.Fatalf("err = %v, want a *FieldError matching ErrInvalidInput", err)
				}
				if fe.Field != c.field {
					t.Errorf("field = %q, want %q (%v)", fe.Field, c.field, err)
				}
				for _, secret := range []string{string(panVisa), string(luhnBad), string(panMaster), "134567890123456789"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q contains a card value", err)
					}
				}
			})
		}
	}
}

// TestDialectSpecificRefusals: what one dialect cannot spell is refused with
// a typed error, not sent half-formed.
func TestDialectSpecificRefusals(t *testing.T) {
	ds := dialects(t)
	cupD, i87 := ds["cup"].d, ds["iso87"].d
	entries := batchEntries(usd, panVisa)

	_, err := cupD.BuildRequest(env(1), iso.SettlementRequest{Currency: iso.CNY, AfterUpload: true})
	if !errors.Is(err, iso.ErrUnsupported) {
		t.Errorf("CUP settlement after upload: err = %v, want ErrUnsupported", err)
	}
	_, err = i87.BuildRequest(env(1), iso.BatchUploadEndRequest{Count: 1})
	if !errors.Is(err, iso.ErrUnsupported) {
		t.Errorf("ISO87 upload end: err = %v, want ErrUnsupported", err)
	}
	_, err = i87.BuildRequest(env(1), iso.BatchUploadRequest{Entries: entries})
	if !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("ISO87 upload of two entries: err = %v, want ErrInvalidInput", err)
	}
	_, err = i87.BuildRequest(env(1), iso.VoidRequest{Original: iso.Original{STAN: 4, Batch: 1, Amount: usd}})
	if !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("ISO87 void without the original's time (F90): err = %v, want ErrInvalidInput", err)
	}
	nine := make([]iso.BatchEntry, 9)
	for i := range nine {
		nine[i] = iso.BatchEntry{Kind: iso.KindSale, STAN: iso.STAN(i + 1), Amount: cny}
	}
	_, err = cupD.BuildRequest(env(1), iso.BatchUploadRequest{Entries: nine})
	if !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("CUP upload of nine entries: err = %v, want ErrInvalidInput", err)
	}
	wide := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 1000, DebitAmount: 1}}
	_, err = cupD.BuildRequest(env(1), iso.SettlementRequest{Totals: wide, Currency: iso.CNY})
	if !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("CUP settlement of 1000 debits (F48 holds n3): err = %v, want ErrInvalidInput, not a silent cap", err)
	}
	if _, err := cup.New(iso87.WithAdviceAfter(2)); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("CUP with an ISO87-only option: err = %v", err)
	}
	if _, err := iso87.New(iso.WithTPDU(iso.TPDU{0x60})); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("TPDU on a framing without one: err = %v", err)
	}
	if _, err := iso87.New(iso.WithQROrderMapping(iso.QROrderMapping{MTI: "0100", CreateCode: "1", QueryCode: "2", CloseCode: "3", Field: 48})); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("QR mapping with short codes: err = %v", err)
	}
}

// TestEncodeNeedsMACKey: a message that must be MACed is not sent unsigned.
func TestEncodeNeedsMACKey(t *testing.T) {
	for name, tc := range dialects(t) {
		m, err := tc.d.BuildRequest(env(9), iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panVisa, Entry: iso.EntryMode{Method: iso.EntryManual}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.d.Encode(m, nil); !errors.Is(err, iso.ErrNoMACKey) {
			t.Errorf("%s: Encode without a MAC key = %v, want ErrNoMACKey", name, err)
		}
	}
}

// TestDecodeRefusesTrailingBytes: bytes after the last field are malformed,
// not ignored (they would escape the MAC and the checks).
func TestDecodeRefusesTrailingBytes(t *testing.T) {
	for name, tc := range dialects(t) {
		ex := spell(t, tc.d, tc.fixtures[0])
		fr, err := tc.d.Framing().ParseFrame(ex.reqFrame)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tc.d.Decode(append(fr.Body, '0', '0'))
		var me *iso.MalformedError
		if !errors.As(err, &me) || !errors.Is(err, iso.ErrMalformed) {
			t.Errorf("%s: err = %v, want a *MalformedError", name, err)
		}
	}
}

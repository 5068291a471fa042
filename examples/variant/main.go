// Command variant shows an acquirer variant built outside package iso, as
// data: "ACME" speaks CUP, but wants the operator id in F63 on every
// request (CUP sends it only on sign-on and settlement), spells F63 with an
// ASCII three-digit length instead of CUP's BCD one, and puts its own
// header, 61 31 00 31 30 31 (the header wuxinxi/unionpay sends), between
// the TPDU and the MTI.
//
// It starts a switchtest simulator built from the same dialect value, so
// the host decodes, checks and answers the way ACME would: a request
// without F63 is refused as a format error (30). Then a terminal signs on,
// sells and settles.
//
//	go run ./examples/variant
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// ACMEHeader is ACME's CUP header: application 61, version 31, normal
// status, sub-version 31 30 31.
var ACMEHeader = cup.Header{AppType: 0x61, Version: 0x31, SubVersion: "313031"}

// ACME is the variant, as data: a field format, a field rule and a code.
var ACME = iso.Variant{
	Name: "ACME",
	// F63 as ans..40 with an ASCII LLL length ("003" before "01 ").
	Fields: map[int]field.Field{
		63: field.NewString(&field.Spec{Length: 40, Description: "ACME operator id",
			Enc: encoding.ASCII, Pref: prefix.ASCII.LLL}),
	},
	// The operator id, CUP's 63.1 spelling (an3, space padded), on every
	// request: a reversal carries its original's.
	Rules: []iso.FieldRule{{
		Field: 63,
		Value: func(env iso.Envelope, _ iso.Request) (string, error) {
			return fmt.Sprintf("%-3s", string(env.Operator)), nil
		},
	}},
	// ACME answers an unknown terminal 03 (invalid merchant), not CUP's 97.
	Codes: map[iso.Refusal]iso.ResponseCode{iso.RefuseUnknownTerminal: "03"},
}

// NewACME builds the ACME dialect; extra options (WithTPDU, WithClock...)
// go on top.
func NewACME(opts ...iso.Option) (iso.Dialect, error) {
	return cup.New(append([]iso.Option{cup.WithHeader(ACMEHeader), iso.WithVariant(ACME)}, opts...)...)
}

func main() {
	if err := run(context.Background(), os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// run starts an ACME simulator and drives a terminal through sign-on, a
// sale and a settlement. via, when set, turns the host's address into the
// one the terminal dials (a test puts a recorder between them).
func run(ctx context.Context, out io.Writer, via func(hostAddr string) string) error {
	d, err := NewACME()
	if err != nil {
		return err
	}
	host, err := switchtest.Start(d)
	if err != nil {
		return err
	}
	defer host.Close()
	addr := host.Addr
	if via != nil {
		addr = via(addr)
	}

	dir, err := os.MkdirTemp("", "posswitch-variant")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	j, err := reversal.Open(filepath.Join(dir, "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		return err
	}
	defer j.Close()

	ops := isoswitch.NewOperators()
	ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup")
	ops.Add("01", isoswitch.RoleCashier, "4711")
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: host.TMK, Journal: j}, isoswitch.WithAuthoriser(ops))
	if err != nil {
		return err
	}
	defer term.Close()

	if err := term.Start(ctx, "01"); err != nil {
		return err
	}
	card := iso.Card{PAN: "6200000000000005", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	sale, err := term.Sale(ctx, "01", iso.Amount{Minor: 1250, Currency: iso.CNY}, card)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sale %s: %s %s\n", sale.MaskedPAN, sale.Code, sale.Amount)
	st, err := term.Settle(ctx, isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "settled batch %s: %s, next batch %s\n", st.Batch, st.Verdict, st.NextBatch)
	return nil
}

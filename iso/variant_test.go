package iso_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

var variantEnv = iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 46, Batch: 7, Operator: "07",
	Time: time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)}

var variantSale = iso.SaleRequest{Amount: iso.Amount{Minor: 100, Currency: iso.CNY},
	Card: iso.Card{PAN: "6200000000000005", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}}

func operatorRule(field int, kinds ...iso.Kind) iso.FieldRule {
	return iso.FieldRule{Field: field, Kinds: kinds, Value: func(env iso.Envelope, _ iso.Request) (string, error) {
		return "OP" + string(env.Operator), nil
	}}
}

// An invalid variant is refused when the dialect is built, with a
// *FieldError, for both dialects.
func TestVariantRefusedAtConstruction(t *testing.T) {
	ascii := field.NewString(&field.Spec{Length: 10, Enc: encoding.ASCII, Pref: prefix.ASCII.LL})
	bad := map[string]iso.Variant{
		"bitmap replaced":     {Fields: map[int]field.Field{1: ascii}},
		"field 65":            {Fields: map[int]field.Field{65: ascii}},
		"nil spec":            {Fields: map[int]field.Field{63: nil}},
		"rule on the MAC":     {Rules: []iso.FieldRule{operatorRule(64)}},
		"rule on MTI":         {Rules: []iso.FieldRule{operatorRule(0)}},
		"rule off the spec":   {Rules: []iso.FieldRule{operatorRule(47)}},
		"three-letter code":   {Codes: map[iso.Refusal]iso.ResponseCode{iso.RefuseMAC: "A00"}},
		"bad QR mapping":      {QR: &iso.QROrderMapping{MTI: "0100", CreateCode: "1", QueryCode: "2", CloseCode: "3", Field: 59}},
		"secondary field CUP": {Rules: []iso.FieldRule{operatorRule(90)}},
	}
	for name, v := range bad {
		_, err := cup.New(iso.WithVariant(v))
		var fe *iso.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: CUP err = %v, want a *FieldError", name, err)
		}
	}
	// A field the base spec lacks becomes usable once Fields adds it.
	if _, err := cup.New(iso.WithVariant(iso.Variant{Fields: map[int]field.Field{47: ascii},
		Rules: []iso.FieldRule{operatorRule(47)}})); err != nil {
		t.Errorf("F47 added and set: %v", err)
	}
}

// ISO87 with a variant: F47 added as an ASCII LL field and set on sales
// only, F62 (the invoice) removed from them. The wire bytes of F47 are laid
// by hand from the variant's spec: "04" then "OP07".
func TestVariantISO87SaleWire(t *testing.T) {
	d, err := iso87.New(iso.WithVariant(iso.Variant{
		Name:   "ACME87",
		Fields: map[int]field.Field{47: field.NewString(&field.Spec{Length: 20, Enc: encoding.ASCII, Pref: prefix.ASCII.LL})},
		Rules:  []iso.FieldRule{operatorRule(47, iso.KindSale), {Field: 62, Kinds: []iso.Kind{iso.KindSale}}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := plain.BuildRequest(variantEnv, variantSale)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pm.Get(62); !ok {
		t.Fatal("plain ISO87 sale has no F62: the removal below proves nothing")
	}
	m, err := d.BuildRequest(variantEnv, variantSale)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get(62); ok {
		t.Error("F62 kept on a sale the variant removes it from")
	}
	mac, err := d.NewMAC(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	body, err := d.Encode(m, mac)
	if err != nil {
		t.Fatal(err)
	}
	back, err := d.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Value(47); got != "OP07" {
		t.Errorf("F47 = %q, want OP07", got)
	}
	if !slices.Contains(d.(iso.HostRules).MandatoryFields(variantSale), 47) {
		t.Error("the variant's host does not require F47 on a sale")
	}
	if slices.Contains(d.(iso.HostRules).MandatoryFields(variantSale), 62) {
		t.Error("the variant's host requires the F62 it removes")
	}
	spec, _ := iso.SpecOf(d)
	if !strings.HasSuffix(spec.Name, " / ACME87") {
		t.Errorf("spec name %q does not name the variant", spec.Name)
	}
	// A sign-on is not a sale: no F47.
	so, err := d.BuildRequest(variantEnv, iso.SignOnRequest{Scheme: iso.KeysDoubleDES})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := so.Get(47); ok {
		t.Error("F47 on a sign-on; the rule is for sales")
	}
}

// A CUP reversal carries the rule's field as its original did, and a rule
// whose Value fails refuses the request with a *FieldError naming the field.
func TestVariantReversalAndRefusal(t *testing.T) {
	d, err := cup.New(iso.WithVariant(iso.Variant{Rules: []iso.FieldRule{operatorRule(63)}}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.BuildRequest(variantEnv, variantSale)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Value(63); got != "OP07" {
		t.Fatalf("sale F63 = %q, want OP07", got)
	}
	rev, err := d.Reversal(m, iso.ReasonTimeout, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := rev.Value(63); got != "OP07" {
		t.Errorf("reversal F63 = %q, want the sale's OP07", got)
	}

	failing, err := cup.New(iso.WithVariant(iso.Variant{Rules: []iso.FieldRule{{Field: 63,
		Value: func(iso.Envelope, iso.Request) (string, error) { return "", errors.New("no operator") }}}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = failing.BuildRequest(variantEnv, variantSale)
	var fe *iso.FieldError
	if !errors.As(err, &fe) || fe.Field != "F63" {
		t.Errorf("err = %v, want a *FieldError on F63", err)
	}
}

package cup_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// The CUP wire layout of odd-length variable numeric fields, checked against
// bytes laid by hand from the public CUP terminal sources:
//
//   - CaoEnXin/LiaoYang_POS Src/pack8583.c iPackElement / iUnPackElement:
//     an n..LLVAR / n...LLLVAR field is packed from its first digit on, the
//     odd digit count's pad nibble 0 last; its length prefix is a BCD number.
//   - alon0808/ProjectAfcApp code/AfcCore/UnionPay/qpboc_8583.c
//     Build_qpboc_8583_60_login: 60.3 "003" goes out as the bytes 00 30.
//   - wuxinxi/unionpay util/EncodeUtil.java: an odd BCD string gets a 0 on
//     the right.

// hexBytes reads hex written with spaces for readability.
func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cupDialect(t *testing.T) iso.Dialect {
	t.Helper()
	d, err := cup.New(iso.WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encodeCUP(t *testing.T, d iso.Dialect, e iso.Envelope, r iso.Request) []byte {
	t.Helper()
	m, err := d.BuildRequest(e, r)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := d.NewMAC(testCUPMAK)
	if err != nil {
		t.Fatal(err)
	}
	body, err := d.Encode(m, mac)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestCUPOddVariableFieldsAreLeftAligned(t *testing.T) {
	d := cupDialect(t)
	e := env(1)
	e.Batch = 1
	cases := []struct {
		name string
		req  iso.Request
		want string // the field as it must appear in the body, prefix included
	}{
		// Sale F60 = 60.1 "22" + 60.2 batch "000001" + 60.3 "000": 11 digits,
		// LLL 0011, then 22 00 00 01 00 and the last digit 0 with pad 0
		// (LiaoYang_POS TrTable {POS_SALE,"00","22","000"}, iPackElement).
		{"sale F60", iso.SaleRequest{Amount: cny, Card: iso.Card{Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe}}},
			"00 11 22 00 00 01 00 00"},
		// Sign-on F60 = "00" + "000001" + scheme "003": 60.3 ends in 00 30,
		// as ProjectAfcApp Build_qpboc_8583_60_login writes it.
		{"sign-on F60", iso.SignOnRequest{Scheme: iso.KeysDoubleDES}, "00 11 00 00 00 01 00 30"},
		// A 19-digit UnionPay PAN (Luhn-valid 6217000000000000004): LL 19,
		// then the digits from the first, pad 0 last (iPackElement Attr_var1).
		{"19-digit F2", iso.SaleRequest{Amount: cny, Card: iso.Card{PAN: "6217000000000000004", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}},
			"19 62 17 00 00 00 00 00 00 00 40"},
	}
	for _, tc := range cases {
		body := encodeCUP(t, d, e, tc.req)
		want := hexBytes(t, tc.want)
		if !bytes.Contains(body, want) {
			t.Errorf("%s: body %X does not hold %X", tc.name, body, want)
		}
	}
}

// cupHandLaidSignOnReply is a host's 0810 laid out by hand: the fields a CUP host
// answers a sign-on with (alon0808/ProjectAfcApp qpboc_8583.c 0810 table),
// F60 given by the caller.
func cupHandLaidSignOnReply(t *testing.T, f60 string) []byte {
	return hexBytes(t, strings.Join([]string{
		"08 10",                   // MTI
		"00 38 00 00 0E C0 00 14", // bitmap: 11 12 13 37 38 39 41 42 60 62
		"00 00 50",                // F11 n6
		"10 30 17",                // F12 n6
		"03 14",                   // F13 n4
		hex.EncodeToString([]byte("307310000042")), // F37 an12
		hex.EncodeToString([]byte("A1B2C3")),       // F38 an6
		hex.EncodeToString([]byte("00")),           // F39 an2
		hex.EncodeToString([]byte("TERM0001")),     // F41 ans8
		hex.EncodeToString([]byte("898310048161234")),
		f60,
		// F62 LLL 040, scheme 003: PIK 16 + CV 4, MAK 8 + 8 zero bytes + CV 4
		// (chfenix/iso8583 SignResponse.java quotes the layout).
		"00 40",
		"00112233445566778899AABBCCDDEEFF 01020304",
		"0011223344556677 0000000000000000 05060708",
	}, ""))
}

func TestCUPHostBatchIsReadLeftAligned(t *testing.T) {
	d := cupDialect(t)
	req, err := d.BuildRequest(env(50), iso.SignOnRequest{Scheme: iso.KeysDoubleDES})
	if err != nil {
		t.Fatal(err)
	}
	// F60 = "00" + batch "000008" + "003", pad last: 00 11 00 00 00 08 00 30.
	// Right-aligned reading would make it batch 000080.
	reply, err := d.Decode(cupHandLaidSignOnReply(t, "00 11 00 00 00 08 00 30"))
	if err != nil {
		t.Fatal(err)
	}
	if got := reply.Value(60); got != "00000008003" {
		t.Errorf("F60 reads %q, want 00000008003", got)
	}
	resp, err := d.ParseResponse(req, reply)
	if err != nil {
		t.Fatal(err)
	}
	if b := resp.(iso.SignOnResponse).Batch; b != 8 {
		t.Errorf("sign-on reply batch %s, want 000008", b)
	}
}

func TestCUPDecoderRefusesNonZeroPad(t *testing.T) {
	d := cupDialect(t)
	// Same 0810 with the pad nibble of F60 set to 3: a peer that
	// right-aligned "0000000800" + "3"... is not a CUP layout.
	_, err := d.Decode(cupHandLaidSignOnReply(t, "00 11 00 00 00 08 00 33"))
	if !errors.Is(err, iso.ErrMalformed) {
		t.Fatalf("decode: %v, want ErrMalformed", err)
	}
	var me *iso.MalformedError
	if !errors.As(err, &me) || me.Field != 60 {
		t.Fatalf("error %v does not name F60", err)
	}
	if !strings.Contains(err.Error(), "field 60: pad nibble 3, want 0") {
		t.Errorf("error %q does not say which pad nibble", err)
	}
	// A fixed-length n field keeps its pad first: F23 (n3) with pad 1.
	body := hexBytes(t, "08 00 00 00 02 00 00 00 00 00 10 23")
	var me2 *iso.MalformedError
	if _, err := d.Decode(body); !errors.As(err, &me2) || me2.Field != 23 {
		t.Errorf("F23 with pad nibble 1: %v, want a MalformedError naming F23", err)
	}
}

// TestCUPHeaderIsConfigurable: the 6-byte header is 60 31 00 00 00 00 by
// default (CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReqPacket: 60 31 00 +
// BCD version) and can be set, e.g. to wuxinxi/unionpay's
// 61 31 00 31 30 31; bad values are refused before anything is built.
func TestCUPHeaderIsConfigurable(t *testing.T) {
	d := cupDialect(t)
	if got, want := d.Frame([]byte{1}).Header, hexBytes(t, "60 31 00 00 00 00"); !bytes.Equal(got, want) {
		t.Errorf("default header % X, want % X", got, want)
	}
	w, err := cup.New(cup.WithHeader(cup.Header{AppType: 0x61, Version: 0x31, SubVersion: "313031"}))
	if err != nil {
		t.Fatal(err)
	}
	body := encodeCUP(t, w, env(1), iso.EchoRequest{})
	frame, err := w.Framing().AppendFrame(nil, w.Frame(body))
	if err != nil {
		t.Fatal(err)
	}
	// 2-byte length, TPDU 60 0000 0000, then the header.
	if got, want := frame[7:13], hexBytes(t, "61 31 00 31 30 31"); !bytes.Equal(got, want) {
		t.Errorf("header on the wire % X, want % X", got, want)
	}
	test, err := cup.New(cup.WithHeader(cup.Header{AppType: 0x60, Version: 0x31, Status: 1, SubVersion: "310000"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := test.Frame(nil).Header, hexBytes(t, "60 31 10 31 00 00"); !bytes.Equal(got, want) {
		t.Errorf("test-mode header % X, want % X", got, want)
	}
	for name, h := range map[string]cup.Header{
		"short sub-version": {AppType: 0x60, Version: 0x31, SubVersion: "00000"},
		"long sub-version":  {AppType: 0x60, Version: 0x31, SubVersion: "0000000"},
		"letters":           {AppType: 0x60, Version: 0x31, SubVersion: "00000A"},
		"status 2":          {AppType: 0x60, Version: 0x31, Status: 2, SubVersion: "000000"},
		"non-BCD app type":  {AppType: 0x6A, Version: 0x31, SubVersion: "000000"},
		"zero app type":     {Version: 0x31, SubVersion: "000000"},
	} {
		var fe *iso.FieldError
		if _, err := cup.New(cup.WithHeader(h)); !errors.As(err, &fe) || !errors.Is(err, iso.ErrInvalidInput) {
			t.Errorf("%s: %v, want a FieldError", name, err)
		}
	}
	if _, err := iso87.New(cup.WithHeader(cup.DefaultHeader())); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("ISO87 took a CUP header: %v", err)
	}
}

// TestCUPEchoCarriesNoTrace: CaoEnXin/LiaoYang_POS Src/tranproc.c
// SetCommReqField leaves F11 out of RESPONSE_TEST (0820, 60.3 301). A host
// reads such an echo and answers it without F11.
func TestCUPEchoCarriesNoTrace(t *testing.T) {
	d := cupDialect(t)
	want := hexBytes(t, strings.Join([]string{
		"08 20",
		"00 00 00 00 00 C0 00 10", // bitmap: 41 42 60, no 11
		hex.EncodeToString([]byte("TERM0001")),
		hex.EncodeToString([]byte("898310048161234")),
		"00 11 00 00 00 07 30 10", // F60 00 000007 301, pad 0 last
	}, ""))
	if got := encodeCUP(t, d, env(52), iso.EchoRequest{}); !bytes.Equal(got, want) {
		t.Errorf("echo body\n got % X\nwant % X", got, want)
	}
	m, err := d.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	e, r, err := d.ParseRequest(m)
	if err != nil {
		t.Fatalf("host cannot read an echo without F11: %v", err)
	}
	if _, ok := r.(iso.EchoRequest); !ok || e.STAN != 0 || e.Terminal != "TERM0001" {
		t.Errorf("read %T with %+v", r, e)
	}
	reply, err := d.BuildResponse(m, iso.NetworkResponse{Reply: iso.Reply{Code: "00", HostTime: fixtureTime, RRN: "307310000042"}, Of: iso.KindEcho})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Has(11) {
		t.Error("the echo reply invents an F11")
	}
	if err := iso.CheckReply(m, reply, nil); err != nil {
		t.Errorf("the reply fails the terminal's checks: %v", err)
	}
	// A sign-off still carries its trace.
	if m, _ := d.BuildRequest(env(53), iso.SignOffRequest{}); !m.Has(11) {
		t.Error("sign-off lost F11")
	}
}

// TestCUPBatchUploadCarriesNoCurrency: the packed 0320 (60.3 201) has no
// F49 (LiaoYang_POS SetCommReqField returns before F25/F49 for
// POS_BATCH_UP); the host reads the amounts in the dialect's currency.
func TestCUPBatchUploadCarriesNoCurrency(t *testing.T) {
	d := cupDialect(t)
	entries := []iso.BatchEntry{{Kind: iso.KindSale, STAN: 42, PAN: panUnionPay, Amount: cny}}
	body := encodeCUP(t, d, env(60), iso.BatchUploadRequest{Entries: entries})
	// Bitmap: 11, 41, 42, 48, 60; no 49.
	if got, want := body[2:10], hexBytes(t, "00 20 00 00 00 C1 00 10"); !bytes.Equal(got, want) {
		t.Errorf("upload bitmap % X, want % X", got, want)
	}
	m, err := d.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	_, r, err := d.ParseRequest(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.(iso.BatchUploadRequest).Entries[0].Amount; got != cny {
		t.Errorf("host read %v, want %v", got, cny)
	}
	// Another dialect currency: the same bytes read in it, and entries in
	// CNY are refused before anything is built.
	hk, err := cup.New(cup.WithCurrency(iso.HKD))
	if err != nil {
		t.Fatal(err)
	}
	if _, r, err := hk.ParseRequest(m); err != nil || r.(iso.BatchUploadRequest).Entries[0].Amount.Currency != iso.HKD {
		t.Errorf("HKD dialect read %+v, %v", r, err)
	}
	if _, err := hk.BuildRequest(env(61), iso.BatchUploadRequest{Entries: entries}); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("CNY entries on an HKD dialect: %v, want ErrInvalidInput", err)
	}
	if _, err := iso87.New(cup.WithCurrency(iso.CNY)); !errors.Is(err, iso.ErrInvalidInput) {
		t.Errorf("ISO87 took WithCurrency: %v", err)
	}
}

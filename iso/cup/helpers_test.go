package cup_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
)

// Helpers the tests of this package share, as iso's tests have them
// (iso/fixtures_test.go): published test cards and keys, a fixed clock.
// Published test card numbers only (Visa and Mastercard test PANs, the
// UnionPay test PANs of public payment-gateway sandboxes).
const (
	panVisa     = iso.PAN("4111111111111111")
	panMaster   = iso.PAN("5555555555554444")
	panUnionPay = iso.PAN("6200000000000005")
	testTrack2  = iso.Track2("4111111111111111=2812101123456789")
	testCode    = iso.PaymentCode("134567890123456789")
)

// Test keys: the published double-length key 0123456789ABCDEF FEDCBA9876543210
// (ISO/IEC 9797-1 Annex B) as MAK, PIN key and, with a second one, TMK.
// CUP MACs with single DES under an 8-byte MAK in every key scheme, so its
// fixtures use the left half, the FIPS 81 / OpenSSL DES test key.
var (
	testMAK    = mustHex("0123456789ABCDEFFEDCBA9876543210")
	testCUPMAK = mustHex("0123456789ABCDEF")
	testTMK    = mustHex("11111111111111112222222222222222")
)

// macKey is the MAK a dialect's fixtures are MACed under.
func macKey(d iso.Dialect) []byte {
	if d.Name() == "CUP" {
		return testCUPMAK
	}
	return testMAK
}

// fixtureTime is the fixed clock of every fixture: local and host times on
// the wire are derived from it.
var fixtureTime = time.Date(2026, 3, 14, 10, 30, 15, 0, time.UTC)

func fixedClock() time.Time { return fixtureTime }

var cny = iso.Amount{Minor: 12345, Currency: iso.CNY}
var usd = iso.Amount{Minor: 12345, Currency: iso.USD}

func env(stan iso.STAN) iso.Envelope {
	return iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: 7,
		Time: fixtureTime, Operator: "01"}
}

func pinBlock(t testing.TB) *iso.PINBlock {
	clear, err := iso.FormatPINBlock0("123456", panVisa.Digits())
	if err != nil {
		t.Fatal(err)
	}
	b, err := iso.EncryptPINBlock(clear, mustHex("0123456789ABCDEFFEDCBA9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	return &b
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hostReply(code iso.ResponseCode) iso.Reply {
	r := iso.Reply{Code: code, HostTime: fixtureTime.Add(2 * time.Second), RRN: "307310000042"}
	if code.Approved() {
		r.AuthCode = "A1B2C3"
	}
	return r
}

// newCUP is the CUP dialect of the recorded fixtures: fixed clock, TPDU
// 60 0032 0000.
func newCUP(t testing.TB) iso.Dialect {
	d, err := cup.New(iso.WithClock(fixedClock), iso.WithTPDU(iso.TPDU{0x60, 0x00, 0x32, 0x00, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

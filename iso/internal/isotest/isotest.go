// Package isotest holds what the tests of iso and of its dialect packages
// share: published test cards and keys, the fixed clock of the recorded
// fixtures, and a few builders. Only tests import it.
package isotest

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// Published test card numbers only (Visa and Mastercard test PANs, the
// UnionPay test PANs of public payment-gateway sandboxes).
const (
	PANVisa     = iso.PAN("4111111111111111")
	PANMaster   = iso.PAN("5555555555554444")
	PANUnionPay = iso.PAN("6200000000000005")
	Track2      = iso.Track2("4111111111111111=2812101123456789")
	Code        = iso.PaymentCode("134567890123456789")
)

// Test keys: the published double-length key 0123456789ABCDEF FEDCBA9876543210
// (ISO/IEC 9797-1 Annex B) as MAK, PIN key and, with a second one, TMK.
// CUP MACs with single DES under an 8-byte MAK in every key scheme, so its
// fixtures use the left half, the FIPS 81 / OpenSSL DES test key.
var (
	MAK    = MustHex("0123456789ABCDEFFEDCBA9876543210")
	CUPMAK = MustHex("0123456789ABCDEF")
	TMK    = MustHex("11111111111111112222222222222222")
)

// MACKey is the MAK a dialect's fixtures are MACed under.
func MACKey(d iso.Dialect) []byte {
	if d.Name() == "CUP" {
		return CUPMAK
	}
	return MAK
}

// FixtureTime is the fixed clock of every fixture: local and host times on
// the wire are derived from it.
var FixtureTime = time.Date(2026, 3, 14, 10, 30, 15, 0, time.UTC)

// FixedClock reads FixtureTime (iso.WithClock).
func FixedClock() time.Time { return FixtureTime }

// CNY and USD are the fixtures' amounts.
var (
	CNY = iso.Amount{Minor: 12345, Currency: iso.CNY}
	USD = iso.Amount{Minor: 12345, Currency: iso.USD}
)

// Env is the fixtures' envelope with the given STAN.
func Env(stan iso.STAN) iso.Envelope {
	return iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: 7,
		Time: FixtureTime, Operator: "01"}
}

// PINBlock is PIN 123456 for PANVisa in ISO 9564 format 0, enciphered under MAK.
func PINBlock(t testing.TB) *iso.PINBlock {
	clear, err := iso.FormatPINBlock0("123456", PANVisa.Digits())
	if err != nil {
		t.Fatal(err)
	}
	b, err := iso.EncryptPINBlock(clear, MAK)
	if err != nil {
		t.Fatal(err)
	}
	return &b
}

// MustHex decodes s or panics (test constants only).
func MustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// HostReply is the fixtures' host reply with the given code.
func HostReply(code iso.ResponseCode) iso.Reply {
	r := iso.Reply{Code: code, HostTime: FixtureTime.Add(2 * time.Second), RRN: "307310000042"}
	if code.Approved() {
		r.AuthCode = "A1B2C3"
	}
	return r
}

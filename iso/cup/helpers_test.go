package cup_test

import (
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/internal/isotest"
)

// The shared fixtures' cards, keys, clock and builders (iso/internal/isotest).
const (
	panVisa     = isotest.PANVisa
	panMaster   = isotest.PANMaster
	panUnionPay = isotest.PANUnionPay
	testTrack2  = isotest.Track2
	testCode    = isotest.Code
)

var (
	testMAK     = isotest.MAK
	testCUPMAK  = isotest.CUPMAK
	testTMK     = isotest.TMK
	macKey      = isotest.MACKey
	fixtureTime = isotest.FixtureTime
	fixedClock  = isotest.FixedClock
	cny         = isotest.CNY
	usd         = isotest.USD
	env         = isotest.Env
	pinBlock    = isotest.PINBlock
	mustHex     = isotest.MustHex
	hostReply   = isotest.HostReply
)

// newCUP is the CUP dialect of the recorded fixtures: fixed clock, TPDU
// 60 0032 0000.
func newCUP(t testing.TB) iso.Dialect {
	d, err := cup.New(iso.WithClock(fixedClock), iso.WithTPDU(iso.TPDU{0x60, 0x00, 0x32, 0x00, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

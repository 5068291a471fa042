package iso87_test

import (
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

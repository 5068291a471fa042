package isoswitch

import (
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// Result is what a receipt needs of a transaction. It holds the masked PAN
// only.
type Result struct {
	RecordID  uint64
	Kind      iso.Kind
	Amount    iso.Amount
	MaskedPAN string
	STAN      iso.STAN
	Batch     iso.BatchNumber
	RRN       iso.RRN
	AuthCode  iso.AuthCode
	Code      iso.ResponseCode
	Meaning   string
	HostTime  time.Time
	Operator  iso.OperatorCode
	Balance   *iso.Amount // balance inquiry
	// CardOrg is the card organisation the host named (CUP F63.1: "CUP",
	// "VIS", "MCC"...), which decides the card class it settles in; a
	// receipt prints it for a foreign card.
	CardOrg iso.CardOrg
}

func resultOf(r reversal.Record) Result {
	return Result{RecordID: r.ID, Kind: r.Kind, Amount: r.Amount, MaskedPAN: r.MaskedPAN, STAN: r.STAN, Batch: r.Batch,
		RRN: r.RRN, AuthCode: r.AuthCode, Code: r.Code, Meaning: r.Code.Meaning(), HostTime: r.HostTime, Operator: r.Operator,
		CardOrg: r.CardOrg}
}

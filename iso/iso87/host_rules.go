package iso87

import "github.com/posswitch/posswitch/iso"

// Mandatory request fields, ISO87 terminal profile (resza/MAB
// source/tranproc.c SetCommReqField: every request sets 3, 11, 24, 41, 42;
// financial ones add 4 (not on a balance inquiry), 22 and 25, and
// PackInvoice F62; formats per jpos/jPOS
// jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java).
// Network management is posswitch's 0800 with F70 (ISO 8583:1987 field 70,
// n3) rather than MAB's 0800 920000, so F3 is not demanded there.
var iso87Mandatory = map[iso.Kind][]int{
	iso.KindSale:           {3, 4, 11, 22, 24, 25, 41, 42, 62},         // MAB SetCommReqField, glTranConfig "SALE", PackInvoice
	iso.KindBalanceInquiry: {3, 11, 22, 24, 25, 41, 42},                // MAB SetCommReqField without an amount
	iso.KindVoid:           {3, 4, 11, 22, 24, 25, 37, 41, 42, 62},     // MAB TransVoid: 0200 020000 with the original's F37 and invoice
	iso.KindRefund:         {3, 4, 11, 22, 24, 25, 41, 42, 62},         // MAB glTranConfig "REFUND"
	iso.KindReversal:       {3, 4, 11, 24, 39, 41, 42},                 // MAB TranReversal: a copy of the request (F39 the reason)
	iso.KindSettlement:     {3, 11, 24, 41, 42, 60, 63},                // MAB TransSettleSubNew (F60 batch, F63 totals)
	iso.KindBatchUpload:    {3, 4, 11, 22, 24, 25, 39, 41, 42, 60, 62}, // MAB TransUpLoad (F60 original MTI + STAN, F39, F62)
	iso.KindSignOn:         {11, 24, 41, 42, 70},
	iso.KindSignOff:        {11, 24, 41, 42, 70},
	iso.KindEcho:           {11, 24, 41, 42, 70},
}

// Mandatory request fields, ISO87 host-to-host profile: as the terminal
// profile without F24 and F62 (no TPDU, no invoice), the void a 0400 with
// F39 17 and F90, settlement totals in F74–F77, F86–F89 and F97
// (ISO 8583:1987 formats, jPOS ISO87APackager).
var iso87H2HMandatory = map[iso.Kind][]int{
	iso.KindSale:           {3, 4, 11, 22, 25, 41, 42},
	iso.KindBalanceInquiry: {3, 11, 22, 25, 41, 42},
	iso.KindVoid:           {3, 4, 11, 25, 37, 39, 41, 42, 90},
	iso.KindRefund:         {3, 4, 11, 22, 25, 41, 42},
	iso.KindReversal:       {3, 4, 11, 39, 41, 42, 90},
	iso.KindSettlement:     {3, 11, 41, 42, 60, 74, 75, 76, 77, 86, 87, 88, 89, 97},
	iso.KindBatchUpload:    {3, 4, 11, 41, 42, 60},
	iso.KindSignOn:         {11, 41, 42, 70},
	iso.KindSignOff:        {11, 41, 42, 70},
	iso.KindEcho:           {11, 41, 42, 70},
}

// MandatoryFields: see HostRules, iso87Mandatory and iso87H2HMandatory.
func (d *iso87Dialect) MandatoryFields(r iso.Request) []int {
	return d.VariantMandatory(r.Kind(), d.mandatory(r))
}

func (d *iso87Dialect) mandatory(r iso.Request) []int {
	table := iso87Mandatory
	if !d.terminal() {
		table = iso87H2HMandatory
	}
	switch r.(type) {
	case iso.PaymentCodeSaleRequest:
		return append(append([]int(nil), table[iso.KindSale]...), d.CodeField())
	case iso.QROrderCreateRequest, iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		return iso.QRMandatory(r, d.QR())
	}
	return table[r.Kind()]
}

// MACRequired: posswitch's ISO87 profile signs every financial request with
// the ANSI X9.19 MAC (iso/doc.go); the host demands it on those. It checks
// a MAC on settlement and upload when one is present but does not demand
// it.
func (d *iso87Dialect) MACRequired(k iso.Kind) bool { return iso.MACedKind(k) }

// SignOnRequired: as CUP.
func (d *iso87Dialect) SignOnRequired(k iso.Kind) bool { return iso.SignOnKind(k) }

// RefusalCode, ISO 8583:1987 meanings: 30 format error; 03 invalid
// merchant for an unknown terminal; 63 security violation for a missing or
// bad MAC and for a terminal without working keys (no MAC can verify).
func (d *iso87Dialect) RefusalCode(why iso.Refusal) iso.ResponseCode {
	if c, ok := d.VariantCode(why); ok {
		return c
	}
	switch why {
	case iso.RefuseUnknownTerminal:
		return iso.CodeInvalidMerchant
	case iso.RefuseNotSignedOn, iso.RefuseMAC:
		return iso.CodeSecurityViolation
	}
	return iso.CodeFormatError
}

package iso87

import "github.com/posswitch/posswitch/iso"

import "fmt"

// How an ISO87 terminal recovers a request whose outcome it does not know
// (ISO 8583:1987 repeat and advice MTIs, moov-io/iso8583 docs/mti.md):
// sales, payment-code sales and refunds are reversed by the
// 0400 → 0401 → 0420 → 0421 ladder. In the terminal profile a void (0200
// 020000) is reversed the same way (resza/MAB source/global.c glTranConfig
// marks VOID NEED_REVERSAL); in the host-to-host profile a void is itself
// a reversal, so it is repeated (0401) until acknowledged and its effect
// stands.

func (d *iso87Dialect) Recovery(req *iso.Message) (iso.Recovery, error) {
	kind, err := d.Classify(req)
	if err != nil {
		return iso.RecoveryNone, err
	}
	switch kind {
	case iso.KindSale, iso.KindPaymentCodeSale, iso.KindRefund:
		return iso.RecoveryReverse, nil
	case iso.KindVoid:
		if d.terminal() {
			return iso.RecoveryReverse, nil
		}
		return iso.RecoveryRepeat, nil
	}
	return iso.RecoveryNone, nil
}

// iso87ReasonCodes spell reversal reasons in F39 with ISO 8583:1987 codes:
// 68 response received too late, 06 error, 22 suspected malfunction, 17
// customer cancellation. After a refusal the next try says 06.
var iso87ReasonCodes = map[iso.ReversalReason]iso.ResponseCode{
	iso.ReasonRefused:        "06",
	iso.ReasonTimeout:        "68",
	iso.ReasonBadReply:       "06",
	iso.ReasonBadMAC:         "06",
	iso.ReasonCannotComplete: "22",
	iso.ReasonLateReply:      "68",
	iso.ReasonCustomerCancel: "17",
}

// reversalMTI is the ladder: the first attempt 0400, repeats 0401, and from
// attempt adviceAfter on the advice 0420, its repeats 0421.
func (d *iso87Dialect) reversalMTI(attempt int) string {
	switch {
	case d.adviceAfter > 0 && attempt == d.adviceAfter:
		return "0420"
	case d.adviceAfter > 0 && attempt > d.adviceAfter:
		return "0421"
	case attempt == 0:
		return "0400"
	}
	return "0401"
}

// Reversal copies the request minus tracks and PIN data (the PAN and expiry
// a swiped track carried move to F2/F14 so the host can find the card),
// keeps the STAN, sets the reason in F39 and a fresh F7: F7 is the
// transmission date and time (jPOS ISO87APackager's field name), and a
// host that keys messages on F11 + F7 would take a copy of the original's
// for the original. The host-to-host profile carries the original's MTI,
// STAN and F7 in F90; the terminal profile sends the copy as resza/MAB
// source/tranproc.c TranReversal does, with no F90 (the host finds the
// original by the same STAN).
func (d *iso87Dialect) Reversal(orig *iso.Message, reason iso.ReversalReason, attempt int) (*iso.Message, error) {
	m, err := d.reversal(orig, reason, attempt)
	if err != nil {
		return nil, err
	}
	d.CarryRules(orig, m, iso.KindReversal)
	return m, nil
}

func (d *iso87Dialect) reversal(orig *iso.Message, reason iso.ReversalReason, attempt int) (*iso.Message, error) {
	rec, err := d.Recovery(orig)
	if err != nil {
		return nil, err
	}
	if rec != iso.RecoveryReverse {
		return nil, fmt.Errorf("%w: this request is not reversed in ISO87", iso.ErrUnsupported)
	}
	code, ok := iso87ReasonCodes[reason]
	if !ok {
		return nil, iso.InvalidField("Reason", "unknown reversal reason")
	}
	if attempt < 0 {
		return nil, iso.InvalidField("Attempt", "must not be negative")
	}
	stan, err := iso.ParseN6(11, orig.Value(11))
	if err != nil {
		return nil, err
	}
	sent, err := d.transmissionTimeOf(7, orig.Value(7))
	if err != nil {
		return nil, err
	}
	r := orig.Clone()
	r.Set(7, transmissionTime(d.Now()))
	if t, ok := orig.Get(35); ok && !orig.Has(2) {
		track := iso.Track2(t)
		r.Set(2, track.PAN().Digits())
		if exp := track.Expiry(); exp != "" {
			r.Set(14, string(exp))
		}
	}
	iso.StripForReversal(r)
	r.MTI = d.reversalMTI(attempt)
	r.Unset(64)
	r.Set(39, string(code))
	if d.terminal() {
		r.Set(64, iso.MACPlaceholder)
		return r, nil // a copy: a void's F37 (the sale's RRN) stays
	}
	r.Unset(37)
	r.Set(90, originalDataElements(orig.MTI, iso.STAN(stan), sent))
	r.Set(64, iso.MACPlaceholder) // Encode moves it to F128: F90 needs the secondary bitmap
	return r, nil
}

// Repeat resends a host-to-host void (itself a 0400) as 0401 from the
// second attempt on, with a fresh F7 (the original's is in F90).
func (d *iso87Dialect) Repeat(orig *iso.Message, attempt int) (*iso.Message, error) {
	rec, err := d.Recovery(orig)
	if err != nil {
		return nil, err
	}
	if rec != iso.RecoveryRepeat {
		return nil, fmt.Errorf("%w: this request is not repeated in ISO87", iso.ErrUnsupported)
	}
	if attempt < 0 {
		return nil, iso.InvalidField("Attempt", "must not be negative")
	}
	r := orig.Clone()
	r.Set(7, transmissionTime(d.Now()))
	if attempt > 0 {
		r.MTI = orig.MTI[:3] + "1"
	}
	r.Unset(128)
	r.Set(64, iso.MACPlaceholder) // a stored request has lost its MAC; Encode places it
	return r, nil
}

// Totals adds a batch the ISO87 way. Terminal profile: the sales and the
// refunds F63 carries, a voided sale and its void left out (resza/MAB
// source/tranproc.c TransSettleSubNew totals sales and refunds only).
// Host-to-host: sales are debits and refunds credits; a void, being a
// reversal of its sale, counts as a debit reversal, so the net (F97) is
// sales net of voids.
func (d *iso87Dialect) Totals(entries []iso.BatchEntry) iso.Totals {
	var c iso.ClassTotals
	for _, e := range entries {
		switch e.Kind {
		case iso.KindSale, iso.KindPaymentCodeSale:
			if d.terminal() && e.Voided {
				continue
			}
			c.DebitCount++
			c.DebitAmount += e.Amount.Minor
		case iso.KindVoid:
			if d.terminal() {
				continue
			}
			c.DebitReversalCount++
			c.DebitReversalAmount += e.Amount.Minor
		case iso.KindRefund:
			c.CreditCount++
			c.CreditAmount += e.Amount.Minor
		}
	}
	return iso.Totals{Domestic: c}
}

// BatchLimit: the terminal profile's F63 counts in three digits, so 999;
// host-to-host F74–F77 count in ten, which no terminal reaches.
func (d *iso87Dialect) BatchLimit() int {
	if d.terminal() {
		return 999
	}
	return 0
}

// PlanUpload: a balanced 0510 (00) closes the batch; out of balance (95),
// the entries go up one a 0320 and a second settlement, 0500 960000,
// closes it (the Hypercom/TSYS-style terminal flow of resza/MAB
// source/tranproc.c TransSettleSubNew and TransUpLoad). The terminal
// profile uploads no void and no voided sale (TransUpLoad skips TS_VOID
// records); host-to-host uploads every entry.
func (d *iso87Dialect) PlanUpload(v iso.SettlementResponse, pending []iso.BatchEntry, _ int, t iso.Totals, c iso.Currency) (iso.UploadPlan, error) {
	switch v.Verdict {
	case iso.VerdictBalanced:
		return iso.UploadPlan{}, nil
	case iso.VerdictOutOfBalance:
	default:
		return iso.UploadPlan{}, iso.InvalidField("Verdict", "the host could not reconcile the batch; there is nothing to upload against")
	}
	plan := iso.UploadPlan{Close: iso.SettlementRequest{Totals: t, Currency: c, AfterUpload: true}}
	for i, e := range pending {
		if d.terminal() && (e.Kind == iso.KindVoid || e.Voided) {
			continue
		}
		plan.Steps = append(plan.Steps, iso.UploadStep{Request: iso.BatchUploadRequest{Entries: []iso.BatchEntry{e}}, Entries: []int{i}})
	}
	return plan, nil
}

// Rules of an ISO87 host: voids until settlement, whatever the day; the
// PAN is not needed after the fact (a reversal finds its original by F90,
// an upload leaves F2 out when the journal has no PAN). Recovery: 4 sends a
// drain and 12 in all, or the advice's share of the ladder (WithAdviceAfter)
// plus two drains, whichever is more. Terminal code of this style keeps a
// refused reversal and sends it once before each transaction until a 00
// (resza/MAB source/tranproc.c TranReversal); posswitch bounds it instead,
// so a host that keeps refusing cannot lock the merchant out.
func (d *iso87Dialect) Rules() iso.Rules {
	const perTrigger = 4
	total := 3 * perTrigger
	if a := d.adviceAfter + 2*perTrigger; a > total {
		total = a
	}
	return iso.Rules{Recovery: iso.RecoveryLimits{PerTrigger: perTrigger, Total: total}}
}

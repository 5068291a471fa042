package switchtest

import (
	"fmt"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// The host's rules for each kind of request. Callers hold the ledger lock.

func (h *Host) sale(env iso.Envelope, r iso.Request, reply func(iso.ResponseCode) iso.Reply) (iso.Response, error) {
	l := h.ledger
	k := txnKey{env.Terminal, env.Batch, env.STAN}
	var amount iso.Amount
	var pan iso.PAN
	switch r := r.(type) {
	case iso.SaleRequest:
		amount, pan = r.Amount, r.Card.Account()
	case iso.PaymentCodeSaleRequest:
		amount = r.Amount
	}
	org := h.orgOf(pan)
	if _, seen := l.txns[k]; seen {
		return iso.FinancialResponse{Reply: iso.Reply{Code: iso.CodeDuplicate}, Of: r.Kind()}, nil
	}
	code := h.rule(r)
	if sr, ok := r.(iso.SaleRequest); ok && sr.Card.CheckExpiry(time.Now()) != nil {
		code = iso.CodeExpiredCard // F14 (or track 2's expiry) in the past, whatever the rule says
	}
	if code == "" {
		code = iso.CodeApproved
	}
	rep := reply(code)
	t := &Txn{Terminal: env.Terminal, Batch: env.Batch, STAN: env.STAN, Kind: r.Kind(), Amount: amount,
		CardOrg: org, PAN: pan, RRN: rep.RRN, AuthCode: rep.AuthCode, Code: code, State: Approved}
	if !code.Approved() {
		t.State, org = Declined, ""
	}
	l.add(t)
	return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: amount, CardOrg: org}, nil
}

// void cancels an approved sale of the open batch, once. A repeat of the
// same void (ISO87 host-to-host's 0401) is answered 00 again, with the void's RRN and
// auth code.
func (h *Host) void(env iso.Envelope, r iso.VoidRequest, reply func(iso.ResponseCode) iso.Reply) (iso.Response, error) {
	l := h.ledger
	batch := r.Original.Batch
	if batch == 0 {
		batch = env.Batch
	}
	ok := func(code iso.ResponseCode) (iso.Response, error) {
		return iso.FinancialResponse{Reply: reply(code), Of: iso.KindVoid, Amount: r.Original.Amount}, nil
	}
	k := txnKey{env.Terminal, batch, r.Original.STAN}
	if r.Original.STAN == 0 {
		// ISO87's terminal-profile void names its sale by RRN (F37), not
		// by STAN (resza/MAB source/tranproc.c TransVoid).
		k = l.byRRN[r.Original.RRN]
	}
	orig, found := l.txns[k]
	if found && orig.Terminal != env.Terminal {
		found = false
	}
	switch {
	case !found || orig.State != Approved:
		return ok(iso.CodeOriginalNotFound)
	case orig.Settled:
		return ok(iso.CodeOutsideWindow)
	case orig.VoidedBy != 0 && orig.VoidedBy == env.STAN:
		// The same void again: answered as the first time, with the
		// void's own RRN and auth code, as a repeated refund is.
		if v, seen := l.txns[txnKey{env.Terminal, env.Batch, env.STAN}]; seen {
			rep := reply(iso.CodeApproved)
			rep.RRN, rep.AuthCode = v.RRN, v.AuthCode
			return iso.FinancialResponse{Reply: rep, Of: iso.KindVoid, Amount: orig.Amount, CardOrg: orig.CardOrg}, nil
		}
		return ok(iso.CodeApproved)
	case orig.VoidedBy != 0:
		return ok(iso.CodeInvalidTxn)
	case orig.Amount != r.Original.Amount:
		return ok(iso.CodeAmountMismatch)
	}
	rep := reply(iso.CodeApproved)
	orig.VoidedBy = env.STAN
	l.add(&Txn{Terminal: env.Terminal, Batch: env.Batch, STAN: env.STAN, Kind: iso.KindVoid, Amount: orig.Amount,
		CardOrg: orig.CardOrg, RRN: rep.RRN, AuthCode: rep.AuthCode, Code: rep.Code, State: Approved,
		Original: &k})
	return iso.FinancialResponse{Reply: rep, Of: iso.KindVoid, Amount: orig.Amount, CardOrg: orig.CardOrg}, nil
}

// refund returns money against a sale found by RRN, up to what is left.
// A repeat of a refund it has (same terminal, batch and STAN: a resent
// advice) is recognised first and answered as the first time, with the
// same RRN and auth code: the remainder it checks has already counted the
// first, so checking it again would decline the repeat of an approved
// refund that used it up.
func (h *Host) refund(env iso.Envelope, r iso.RefundRequest, reply func(iso.ResponseCode) iso.Reply) (iso.Response, error) {
	l := h.ledger
	resp := func(code iso.ResponseCode) (iso.Response, error) {
		// a decline is kept too, so that its repeat is answered the same
		l.add(&Txn{Terminal: env.Terminal, Batch: env.Batch, STAN: env.STAN, Kind: iso.KindRefund, Amount: r.Amount,
			Code: code, State: Declined})
		return iso.FinancialResponse{Reply: reply(code), Of: iso.KindRefund, Amount: r.Amount}, nil
	}
	if existing, seen := l.txns[txnKey{env.Terminal, env.Batch, env.STAN}]; seen {
		if existing.Kind != iso.KindRefund || existing.Amount != r.Amount {
			// another request under this STAN
			return iso.FinancialResponse{Reply: reply(iso.CodeDuplicate), Of: iso.KindRefund, Amount: r.Amount}, nil
		}
		rep := reply(existing.Code)
		rep.RRN, rep.AuthCode = existing.RRN, existing.AuthCode
		return iso.FinancialResponse{Reply: rep, Of: iso.KindRefund, Amount: r.Amount, CardOrg: existing.CardOrg}, nil
	}
	k, found := l.byRRN[r.Original.RRN]
	if !found {
		return resp(iso.CodeOriginalNotFound)
	}
	orig := l.txns[k]
	if orig.State != Approved || orig.VoidedBy != 0 {
		return resp(iso.CodeInvalidTxn)
	}
	if r.Amount.Minor > orig.Amount.Minor-orig.Refunded {
		return resp(iso.CodeInvalidAmount)
	}
	// The refund is filed in its sale's class, whatever F63 says: the
	// host knows the card it approved.
	rep := reply(iso.CodeApproved)
	orig.Refunded += r.Amount.Minor
	l.add(&Txn{Terminal: env.Terminal, Batch: env.Batch, STAN: env.STAN, Kind: iso.KindRefund, Amount: r.Amount,
		CardOrg: orig.CardOrg, RRN: rep.RRN, AuthCode: rep.AuthCode, Code: rep.Code, State: Approved, Original: &k})
	return iso.FinancialResponse{Reply: rep, Of: iso.KindRefund, Amount: r.Amount, CardOrg: orig.CardOrg}, nil
}

// reverse undoes a transaction the host approved: 00 the first time and
// every time after; 25 for one it never saw approved.
func (h *Host) reverse(env iso.Envelope, r iso.ReversalRequest) iso.ResponseCode {
	l := h.ledger
	t, found := l.txns[txnKey{env.Terminal, env.Batch, r.Original.STAN}]
	switch {
	case !found || t.State == Declined:
		return iso.CodeOriginalNotFound
	case t.State == Reversed:
		return iso.CodeApproved
	}
	t.State = Reversed
	if t.Original != nil {
		if orig, ok := l.txns[*t.Original]; ok {
			switch t.Kind {
			case iso.KindVoid:
				orig.VoidedBy = 0
			case iso.KindRefund:
				orig.Refunded -= t.Amount.Minor
			}
		}
	}
	return iso.CodeApproved
}

func (h *Host) qr(env iso.Envelope, r iso.Request, reply func(iso.ResponseCode) iso.Reply) (iso.Response, error) {
	l := h.ledger
	switch r := r.(type) {
	case iso.QROrderCreateRequest:
		ref := fmt.Sprintf("QR%s%06d", env.Terminal, l.next())
		expires := time.Now().Add(r.Validity).Truncate(time.Second)
		l.orders[ref] = &order{key: txnKey{env.Terminal, env.Batch, env.STAN}, amount: r.Amount, status: iso.QRWaiting, expires: expires}
		return iso.QROrderResponse{Reply: iso.Reply{Code: iso.CodeApproved, HostTime: time.Now()}, Of: r.Kind(), Amount: r.Amount,
			Order: iso.QROrder{Ref: ref, Payload: "https://qr.switchtest.invalid/" + ref, Expires: expires, Status: iso.QRWaiting}}, nil
	}
	var ref string
	switch q := r.(type) {
	case iso.QROrderQueryRequest:
		ref = q.OrderRef
	case iso.QROrderCloseRequest:
		ref = q.OrderRef
	}
	o, found := l.orders[ref]
	if !found {
		return iso.QROrderResponse{Reply: iso.Reply{Code: iso.CodeOriginalNotFound}, Of: r.Kind()}, nil
	}
	if o.status == iso.QRWaiting && time.Now().After(o.expires) {
		o.status = iso.QRExpired
	}
	if _, closing := r.(iso.QROrderCloseRequest); closing && o.status == iso.QRWaiting {
		o.status = iso.QRClosed
	}
	out := iso.QROrderResponse{Reply: iso.Reply{Code: iso.CodeApproved, HostTime: time.Now()}, Of: r.Kind(),
		Order: iso.QROrder{Ref: ref, Status: o.status}}
	if o.status == iso.QRPaid {
		if t, ok := l.txns[o.key]; ok {
			out.Reply.RRN, out.Reply.AuthCode, out.Amount = t.RRN, t.AuthCode, t.Amount
		}
	}
	return out, nil
}

// settle reconciles the terminal's totals with the ledger's, per card
// class. Whether the verdict closes the batch at once is the dialect's to
// say (Dialect.PlanUpload: ISO87 closes a balanced batch; CUP always waits
// for the upload end); otherwise the close after the upload does (ISO87's
// 960000, CUP's upload end).
func (h *Host) settle(env iso.Envelope, r iso.SettlementRequest, reply func(iso.ResponseCode) iso.Reply) iso.Response {
	l := h.ledger
	l.settling[env.Terminal] = env.Batch
	if r.AfterUpload {
		l.closeBatch(env.Terminal, env.Batch)
		return iso.SettlementResponse{Reply: reply(iso.CodeApproved), AfterUpload: true, Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced}
	}
	mine := h.d.Totals(l.entries(env.Terminal, env.Batch))
	verdict := func(a, b iso.ClassTotals) iso.Verdict {
		if a == b {
			return iso.VerdictBalanced
		}
		return iso.VerdictOutOfBalance
	}
	dom, forn := verdict(mine.Domestic, r.Totals.Domestic), verdict(mine.Foreign, r.Totals.Foreign)
	overall := iso.VerdictBalanced
	if dom != iso.VerdictBalanced || forn != iso.VerdictBalanced {
		overall = iso.VerdictOutOfBalance
	}
	// The code is left to the dialect, which spells the verdict its way.
	rep := iso.Reply{HostTime: time.Now(), RRN: l.rrn()}
	resp := iso.SettlementResponse{Reply: rep, Verdict: overall, Domestic: dom, Foreign: forn}
	if plan, err := h.d.PlanUpload(resp, nil, 0, r.Totals, r.Currency); err == nil && plan.Close == nil {
		l.closeBatch(env.Terminal, env.Batch)
	}
	return resp
}

// batchUpload takes an upload message: packed records or a refund alone.
// Each record is counted against the transaction it names (by STAN). An
// upload whose message names no batch (ISO87: F60 is the original MTI and
// STAN, resza/MAB source/tranproc.c TransUpLoad) is filed in the batch the
// terminal is settling, else its open batch.
func (h *Host) batchUpload(env iso.Envelope, r iso.BatchUploadRequest, reply func(iso.ResponseCode) iso.Reply) iso.Response {
	l := h.ledger
	batch := env.Batch
	if batch == 0 {
		var ok bool
		if batch, ok = l.settling[env.Terminal]; !ok {
			batch = l.batch(env.Terminal)
		}
	}
	for _, e := range r.Entries {
		l.uploads[txnKey{env.Terminal, batch, e.STAN}]++
	}
	l.upLog = append(l.upLog, Upload{Terminal: env.Terminal, Batch: batch, Entries: append([]iso.BatchEntry(nil), r.Entries...)})
	return iso.BatchUploadResponse{Reply: reply(iso.CodeApproved)}
}

// uploadEnd closes the batch: CUP sends it whatever the verdict, 207 after
// both classes balanced and 202 otherwise, F48 the records uploaded.
func (h *Host) uploadEnd(env iso.Envelope, r iso.BatchUploadEndRequest, reply func(iso.ResponseCode) iso.Reply) iso.Response {
	l := h.ledger
	l.upLog = append(l.upLog, Upload{Terminal: env.Terminal, Batch: env.Batch, End: true, Balanced: r.Balanced, Count: r.Count})
	l.closeBatch(env.Terminal, env.Batch)
	return iso.BatchUploadResponse{Reply: reply(iso.CodeApproved), End: true}
}

package iso87

import (
	"fmt"
	"strconv"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// What an ISO87 host reads from a request and how it answers.

func (d *iso87Dialect) BuildResponse(req *iso.Message, r iso.Response) (*iso.Message, error) {
	return d.BuildResponseWith(d, req, r)
}

func (d *iso87Dialect) ParseResponse(req, reply *iso.Message) (iso.Response, error) {
	return d.ParseResponseWith(d, req, reply)
}

// EchoFields: a reply repeats these when the request carried them (F24
// and F62 only come from the terminal profile).
func (d *iso87Dialect) EchoFields() []int {
	return []int{2, 3, 4, 7, 11, 24, 25, 41, 42, 49, 60, 62, 70, 90}
}

func (d *iso87Dialect) Classify(m *iso.Message) (iso.Kind, error) {
	if k := d.QRKind(m); k != 0 {
		return k, nil
	}
	f3 := m.Value(3)
	switch m.MTI {
	case "0200":
		switch f3 {
		case "020000":
			if d.terminal() {
				return iso.KindVoid, nil
			}
		case "000000":
			if _, ok := iso.PaymentCodeOf(m, d.CodeField()); ok {
				return iso.KindPaymentCodeSale, nil
			}
			return iso.KindSale, nil
		case "310000":
			return iso.KindBalanceInquiry, nil
		case "200000":
			return iso.KindRefund, nil
		}
	case "0400", "0401":
		// Host-to-host: a void is a customer-cancellation reversal (F39
		// 17) of an approved transaction, so it names the original's RRN;
		// a recovery reversal carries no F37.
		if !d.terminal() && m.Value(39) == string(iso.CodeCustomerCancel) && m.Has(37) {
			return iso.KindVoid, nil
		}
		return iso.KindReversal, nil
	case "0420", "0421":
		return iso.KindReversal, nil
	case "0500":
		if f3 == "920000" || f3 == "960000" {
			return iso.KindSettlement, nil
		}
	case "0320":
		return iso.KindBatchUpload, nil
	case "0800":
		switch m.Value(70) {
		case f70SignOn:
			return iso.KindSignOn, nil
		case f70SignOff:
			return iso.KindSignOff, nil
		case f70Echo:
			return iso.KindEcho, nil
		}
	}
	return 0, fmt.Errorf("%w: ISO87 has no message %s with processing code %q", iso.ErrUnsupported, m.MTI, f3)
}

func (d *iso87Dialect) ParseRequest(m *iso.Message) (iso.Envelope, iso.Request, error) {
	env, err := iso.EnvelopeOf(m)
	if err != nil {
		return iso.Envelope{}, nil, err
	}
	if env.Time, err = d.transmissionTimeOf(7, m.Value(7)); err != nil {
		return iso.Envelope{}, nil, err
	}
	// A 0320's F60 is the original MTI and STAN, not a batch number
	// (resza/MAB source/tranproc.c TransUpLoad): the host files the upload
	// in the batch it is settling for the terminal (Envelope.Batch zero).
	if v, ok := m.Get(60); ok && len(v) >= 6 && m.MTI != "0320" {
		b, err := iso.ParseN6(60, v[:6])
		if err != nil {
			return iso.Envelope{}, nil, err
		}
		env.Batch = iso.BatchNumber(b)
	}
	if q, ok, err := d.ParseQRRequest(m); ok {
		return env, q, err
	}
	kind, err := d.Classify(m)
	if err != nil {
		return iso.Envelope{}, nil, err
	}
	r, err := d.parseRequestOf(kind, m)
	return env, r, err
}

// transmissionTimeOf reads F7 (MMDDhhmmss, UTC).
func (d *iso87Dialect) transmissionTimeOf(field int, v string) (time.Time, error) {
	if len(v) != 10 {
		return time.Time{}, iso.Malformed(field, "want MMDDhhmmss")
	}
	return d.ResolveDateIn(field, v[:4], v[4:], d.Now().UTC())
}

func (d *iso87Dialect) parseRequestOf(kind iso.Kind, m *iso.Message) (iso.Request, error) {
	amount, err := iso.AmountOf(m)
	if err != nil {
		return nil, err
	}
	if r, ok, err := d.ParseSharedRequest(kind, m, amount, d.originalOf); ok {
		return iso87PINFromBlock(r), err
	}
	switch kind {
	case iso.KindRefund:
		card, err := iso.CardOf(m)
		card.Entry.PINEntered = card.PINBlock != nil
		return iso.RefundRequest{Amount: amount, Card: card, Original: iso.Original{RRN: iso.RRN(m.Value(37))}}, err
	case iso.KindReversal:
		orig, err := d.reversedOf(m, amount)
		if err != nil {
			return nil, err
		}
		copyOf := m.Clone()
		copyOf.MTI = "0200" // every reversible ISO87 request is a 0200
		if m.Has(90) {
			copyOf.MTI = m.Value(90)[:4]
		}
		of, err := d.Classify(copyOf)
		return iso.ReversalRequest{Of: of, Amount: amount, Original: iso.Original{STAN: orig.STAN, Time: orig.Time},
			Reason: iso.ResponseCode(m.Value(39)), Advice: m.MTI[2] == '2', Repeat: m.MTI[3] == '1'}, err
	case iso.KindSettlement:
		t, err := iso87TotalsOf(m)
		if d.terminal() {
			t, err = terminalTotalsOf(m.Value(63))
		}
		if err != nil {
			return nil, err
		}
		cur, err := iso.CurrencyByCode(m.Value(49))
		return iso.SettlementRequest{Totals: iso.Totals{Domestic: t}, Currency: cur, AfterUpload: m.Value(3) == "960000"}, err
	case iso.KindBatchUpload:
		e, err := d.uploadEntryOf(m, amount)
		return iso.BatchUploadRequest{Entries: []iso.BatchEntry{e}}, err
	case iso.KindSignOn:
		elems, err := iso.ParseTLV(m.Value(48))
		if err != nil {
			return nil, iso.Malformed(48, "want the key scheme TLV")
		}
		code, _ := iso.TLVValue(elems, tagKeyScheme)
		return iso.SignOnRequestOf(48, code)
	}
	return nil, fmt.Errorf("%w: %s", iso.ErrUnsupported, kind)
}

// iso87PINFromBlock: F22's third digit is the terminal's PIN entry
// capability in ISO 8583:1987, so whether a PIN came with the card is
// whether F52 did.
func iso87PINFromBlock(r iso.Request) iso.Request {
	switch v := r.(type) {
	case iso.SaleRequest:
		v.Card.Entry.PINEntered = v.Card.PINBlock != nil
		return v
	case iso.BalanceInquiryRequest:
		v.Card.Entry.PINEntered = v.Card.PINBlock != nil
		return v
	case iso.VoidRequest:
		if v.Card != nil {
			c := *v.Card
			c.Entry.PINEntered = c.PINBlock != nil
			v.Card = &c
		}
		return v
	}
	return r
}

// reversedOf is what a reversal names: F90 in the host-to-host profile;
// in the terminal profile, a copy of the request, its own STAN and local
// time (resza/MAB source/tranproc.c TranReversal).
func (d *iso87Dialect) reversedOf(m *iso.Message, amount iso.Amount) (iso.Original, error) {
	if d.terminal() && !m.Has(90) {
		t, err := d.HostTime(m)
		if err != nil {
			return iso.Original{}, err
		}
		stan, err := iso.ParseN6(11, m.Value(11))
		return iso.Original{STAN: iso.STAN(stan), Time: t, Amount: amount}, err
	}
	return d.originalOf(m, amount)
}

// originalOf reads the original a void names: host-to-host F90 and the RRN
// and auth code; terminal profile F37, F38, F12/F13 and the invoice (F62),
// the original's STAN unknown (zero: a host finds it by RRN).
func (d *iso87Dialect) originalOf(m *iso.Message, amount iso.Amount) (iso.Original, error) {
	if d.terminal() {
		t, err := d.HostTime(m)
		if err != nil {
			return iso.Original{}, err
		}
		o := iso.Original{Time: t, RRN: iso.RRN(m.Value(37)), AuthCode: iso.AuthCode(m.Value(38)), Amount: amount}
		if v, ok := m.Get(62); ok {
			n, err := iso.ParseN6(62, v)
			if err != nil {
				return iso.Original{}, err
			}
			o.Invoice = iso.Invoice(n)
		}
		return o, nil
	}
	f90 := m.Value(90)
	if len(f90) != 42 || !iso.IsDigits(f90) {
		return iso.Original{}, iso.Malformed(90, "want 42 digits of original data")
	}
	stan, _ := iso.ParseN6(90, f90[4:10])
	t, err := d.transmissionTimeOf(90, f90[10:20])
	if err != nil {
		return iso.Original{}, err
	}
	return iso.Original{STAN: iso.STAN(stan), Time: t, RRN: iso.RRN(m.Value(37)), AuthCode: iso.AuthCode(m.Value(38)), Amount: amount}, nil
}

func (d *iso87Dialect) uploadEntryOf(m *iso.Message, amount iso.Amount) (iso.BatchEntry, error) {
	f60 := m.Value(60)
	if len(f60) < 10 || !iso.IsDigits(f60[:10]) {
		return iso.BatchEntry{}, iso.Malformed(60, "want original MTI and STAN")
	}
	stan, _ := iso.ParseN6(60, f60[4:10])
	t, err := d.HostTime(m)
	if err != nil {
		return iso.BatchEntry{}, err
	}
	kind := iso.KindSale
	proc := m.Value(3)
	if d.terminal() && len(proc) == 6 {
		proc = proc[:5] + "0" // TransUpLoad: the original's proc code, last digit 1
	}
	switch {
	case f60[:4] == "0400", proc == "020000":
		kind = iso.KindVoid
	case proc == "200000":
		kind = iso.KindRefund
	}
	e := iso.BatchEntry{Kind: kind, STAN: iso.STAN(stan), Time: t, Amount: amount, RRN: iso.RRN(m.Value(37)),
		AuthCode: iso.AuthCode(m.Value(38)), PAN: iso.PAN(m.Value(2))}
	if v := m.Value(22); len(v) == 3 && v[:2] != "00" {
		e.Entry = iso.EntryMethod(v[:2])
	}
	if v, ok := m.Get(62); ok {
		n, err := iso.ParseN6(62, v)
		if err != nil {
			return iso.BatchEntry{}, err
		}
		e.Invoice = iso.Invoice(n)
	}
	return e, nil
}

func iso87TotalsOf(m *iso.Message) (iso.ClassTotals, error) {
	var c iso.ClassTotals
	for id, dst := range map[int]*int{74: &c.CreditCount, 75: &c.CreditReversalCount, 76: &c.DebitCount, 77: &c.DebitReversalCount} {
		v := m.Value(id)
		n, err := strconv.Atoi(v)
		if err != nil || len(v) != 10 || !iso.IsDigits(v) {
			return c, iso.Malformed(id, "want 10 digits")
		}
		*dst = n
	}
	for id, dst := range map[int]*int64{86: &c.CreditAmount, 87: &c.CreditReversalAmount, 88: &c.DebitAmount, 89: &c.DebitReversalAmount} {
		v := m.Value(id)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || len(v) != 16 || !iso.IsDigits(v) {
			return c, iso.Malformed(id, "want 16 digits")
		}
		*dst = n
	}
	return c, nil
}

// Settlement verdict travels in F39: 00 balanced, 95 out of balance
// (resza/MAB source/tranproc.c TransSettleSubNew); any other code is an error verdict.
func (d *iso87Dialect) BuildSettlementResponse(m, _ *iso.Message, r iso.SettlementResponse) error {
	want := map[iso.Verdict]iso.ResponseCode{iso.VerdictBalanced: iso.CodeApproved, iso.VerdictOutOfBalance: iso.CodeReconcileError}[r.Verdict]
	if r.Code == "" && want != "" {
		r.Code = want // the verdict says it: 00 or 95
	}
	if want != "" && r.Code != want || want == "" && (r.Code == iso.CodeApproved || r.Code == iso.CodeReconcileError) {
		return iso.InvalidField("Verdict", "%s does not agree with response code %s", r.Verdict, r.Code)
	}
	return iso.SetReplyCommon(m, r.Reply)
}

func (d *iso87Dialect) ParseSettlementResponse(req, _ *iso.Message, rep iso.Reply) (iso.Response, error) {
	v := iso.VerdictError
	switch rep.Code {
	case iso.CodeApproved:
		v = iso.VerdictBalanced
	case iso.CodeReconcileError:
		v = iso.VerdictOutOfBalance
	}
	return iso.SettlementResponse{Reply: rep, AfterUpload: req.Value(3) == "960000", Verdict: v, Domestic: v}, nil
}

// Sign-on reply: working keys in F125 as hex text, laid out as
// iso87KeyBlocks says for the scheme the request asked for (F48 tag K1).
func (d *iso87Dialect) BuildSignOnResponse(m, req *iso.Message, r iso.SignOnResponse) error {
	if err := iso.SetReplyCommon(m, r.Reply); err != nil {
		return err
	}
	if r.Batch != 0 { // the host's open batch, as F60 carries it in requests
		if err := r.Batch.Validate(); err != nil {
			return err
		}
		m.Set(60, r.Batch.String())
	}
	return iso.SetSignOnKeys(m, 125, d.KeyBlocks(), iso87SchemeCode(req), r)
}

func (d *iso87Dialect) ParseSignOnResponse(req, reply *iso.Message, rep iso.Reply) (iso.Response, error) {
	r := iso.SignOnResponse{Reply: rep}
	if v, ok := reply.Get(60); ok {
		b, err := iso.ParseN6(60, v)
		if err != nil {
			return nil, err
		}
		r.Batch = iso.BatchNumber(b)
	}
	keys, err := iso.SignOnKeysOf(reply, 125, d.KeyBlocks(), rep.Code, iso87SchemeCode(req))
	if err != nil {
		return nil, err
	}
	r.Keys = keys
	return r, nil
}

// iso87SchemeCode is the key scheme code a sign-on request carries in F48
// tag K1, or "" when it carries none.
func iso87SchemeCode(req *iso.Message) string {
	elems, _ := iso.ParseTLV(req.Value(48))
	code, _ := iso.TLVValue(elems, tagKeyScheme)
	return code
}

package cup

import (
	"fmt"
	"strings"

	"github.com/posswitch/posswitch/iso"
)

// What a CUP host reads from a request and how it answers
// (CaoEnXin/LiaoYang_POS Src/trancomm.c SaveRspPackData reads the reply).

// BuildResponse spells the reply; a financial reply names the card
// organisation in F63.1 when r.CardOrg is set.
func (d *cupDialect) BuildResponse(req *iso.Message, r iso.Response) (*iso.Message, error) {
	if f, ok := r.(iso.FinancialResponse); ok {
		if err := f.CardOrg.Validate(); err != nil {
			return nil, err
		}
	}
	m, err := d.BuildResponseWith(d, req, r)
	if err != nil {
		return nil, err
	}
	if f, ok := r.(iso.FinancialResponse); ok && f.CardOrg != "" {
		m.Set(63, string(f.CardOrg))
	}
	return m, nil
}

// ParseResponse reads the reply; a financial reply's F63.1 is the card
// organisation (SaveRspPackData keeps it as the card unit).
func (d *cupDialect) ParseResponse(req, reply *iso.Message) (iso.Response, error) {
	r, err := d.ParseResponseWith(d, req, reply)
	if f, ok := r.(iso.FinancialResponse); ok && err == nil {
		f.CardOrg = iso.CardOrgOf(reply)
		return f, nil
	}
	return r, err
}

// EchoFields: a CUP reply echoes the request's identifying fields (S1
// SaveRspPackData lists what comes back).
func (d *cupDialect) EchoFields() []int { return []int{2, 3, 4, 11, 25, 41, 42, 49, 60, 61} }

func (d *cupDialect) Classify(m *iso.Message) (iso.Kind, error) {
	if k := d.QRKind(m); k != 0 {
		return k, nil
	}
	f3 := m.Value(3)
	netCode := cupNetCode(m)
	switch {
	case m.MTI == "0200" && f3 == "000000":
		if _, ok := iso.PaymentCodeOf(m, d.CodeField()); ok {
			return iso.KindPaymentCodeSale, nil
		}
		return iso.KindSale, nil
	case m.MTI == "0200" && f3 == "310000":
		return iso.KindBalanceInquiry, nil
	case m.MTI == "0200" && f3 == "200000":
		return iso.KindVoid, nil
	case (m.MTI == "0220" || m.MTI == "0221") && f3 == "200000":
		return iso.KindRefund, nil
	case m.MTI == "0400":
		return iso.KindReversal, nil
	case m.MTI == "0500":
		return iso.KindSettlement, nil
	case m.MTI == "0320" && netCode == cup603Settle,
		m.MTI == "0320" && netCode == cup603None && f3 == "200000": // a refund uploaded alone
		return iso.KindBatchUpload, nil
	case m.MTI == "0320" && (netCode == cup603UploadEndB || netCode == cup603UploadEndU):
		return iso.KindBatchUploadEnd, nil
	case m.MTI == "0800":
		return iso.KindSignOn, nil
	case m.MTI == "0820" && netCode == cup603SignOff:
		return iso.KindSignOff, nil
	case m.MTI == "0820" && netCode == cup603Echo:
		return iso.KindEcho, nil
	}
	return 0, fmt.Errorf("%w: CUP has no message %s with processing code %q", iso.ErrUnsupported, m.MTI, f3)
}

func (d *cupDialect) ParseRequest(m *iso.Message) (iso.Envelope, iso.Request, error) {
	if iso.TracksEnciphered(m) {
		return iso.Envelope{}, nil, iso.Malformed(35, "track data is enciphered under the TDK: decipher it first (DecryptTracks)")
	}
	var env iso.Envelope
	var err error
	if m.MTI == "0820" && !m.Has(11) {
		// An echo test carries no F11 (CaoEnXin/LiaoYang_POS Src/tranproc.c
		// SetCommReqField skips it for RESPONSE_TEST): STAN 0.
		env = iso.Envelope{Terminal: iso.TerminalID(m.Value(41)), Merchant: iso.MerchantID(m.Value(42))}
	} else if env, err = iso.EnvelopeOf(m); err != nil {
		return iso.Envelope{}, nil, err
	}
	f60 := m.Value(60)
	if len(f60) < 11 || !iso.IsDigits(f60) {
		return iso.Envelope{}, nil, iso.Malformed(60, "want type, batch and network code")
	}
	batch, _ := iso.ParseN6(60, f60[2:8])
	env.Batch = iso.BatchNumber(batch)
	if q, ok, err := d.ParseQRRequest(m); ok {
		return env, q, err
	}
	kind, err := d.Classify(m)
	if err != nil {
		return iso.Envelope{}, nil, err
	}
	r, err := d.parseRequestOf(kind, m, &env)
	return env, r, err
}

func (d *cupDialect) parseRequestOf(kind iso.Kind, m *iso.Message, env *iso.Envelope) (iso.Request, error) {
	amount, err := iso.AmountOf(m)
	if err != nil {
		return nil, err
	}
	if r, ok, err := d.ParseSharedRequest(kind, m, amount, d.originalOf); ok {
		return r, err
	}
	switch kind {
	case iso.KindRefund:
		orig, err := d.originalOf(m, iso.Amount{})
		if err != nil {
			return nil, err
		}
		card, err := iso.CardOf(m)
		return iso.RefundRequest{Amount: amount, Card: card, Original: orig, CardOrg: iso.CardOrgOf(m)}, err
	case iso.KindReversal:
		copyOf := m.Clone()
		copyOf.MTI = "0200"
		of, err := d.Classify(copyOf)
		return iso.ReversalRequest{Of: of, Amount: amount, Original: iso.Original{STAN: env.STAN},
			Reason: iso.ResponseCode(m.Value(39))}, err
	case iso.KindSettlement:
		t, _, err := parseCUPTotalsF48(m.Value(48))
		if err != nil {
			return nil, err
		}
		env.Operator = iso.OperatorCode(strings.TrimRight(m.Value(63), " "))
		cur, err := iso.CurrencyByCode(m.Value(49))
		return iso.SettlementRequest{Totals: t, Currency: cur}, err
	case iso.KindBatchUpload:
		if m.Value(3) == "200000" {
			e, err := d.refundUploadOf(m, amount, env)
			return iso.BatchUploadRequest{Entries: []iso.BatchEntry{e}}, err
		}
		// The packed upload carries no F49 (LiaoYang_POS SetCommReqField):
		// its amounts are in the dialect's currency.
		entries, err := parseCUPUploadF48(m.Value(48), d.currency)
		return iso.BatchUploadRequest{Entries: entries}, err
	case iso.KindBatchUploadEnd:
		f48 := m.Value(48)
		if len(f48) != 4 || !iso.IsDigits(f48) {
			return nil, iso.Malformed(48, "want a four-digit count")
		}
		var n int
		fmt.Sscanf(f48, "%d", &n)
		return iso.BatchUploadEndRequest{Count: n, Balanced: cupNetCode(m) == cup603UploadEndB}, nil
	case iso.KindSignOn:
		env.Operator = iso.OperatorCode(strings.TrimRight(m.Value(63), " "))
		return iso.SignOnRequestOf(60, cupNetCode(m))
	}
	return nil, fmt.Errorf("%w: %s", iso.ErrUnsupported, kind)
}

// refundUploadOf reads a refund uploaded alone: its trace is F11, its card
// F2, F63 the card organisation, F37/F61 the sale it refunded.
func (d *cupDialect) refundUploadOf(m *iso.Message, amount iso.Amount, env *iso.Envelope) (iso.BatchEntry, error) {
	if f60 := m.Value(60); f60[:2] != cup601Refund {
		return iso.BatchEntry{}, iso.Malformed(60, "a refund upload has type 25")
	}
	orig, err := d.originalOf(m, iso.Amount{})
	if err != nil {
		return iso.BatchEntry{}, err
	}
	return iso.BatchEntry{Kind: iso.KindRefund, STAN: env.STAN, Amount: amount, PAN: iso.PAN(m.Value(2)),
		CardOrg: iso.CardOrgOf(m), Original: orig}, nil
}

// originalOf reads F37/F38/F61 (batch, trace, optional MMDD).
func (d *cupDialect) originalOf(m *iso.Message, amount iso.Amount) (iso.Original, error) {
	f61 := m.Value(61)
	if len(f61) != 12 && len(f61) != 16 {
		return iso.Original{}, iso.Malformed(61, "want batch, trace and optional date")
	}
	batch, err := iso.ParseN6(61, f61[:6])
	if err != nil {
		return iso.Original{}, err
	}
	stan, _ := iso.ParseN6(61, f61[6:12])
	o := iso.Original{STAN: iso.STAN(stan), Batch: iso.BatchNumber(batch), AuthCode: iso.AuthCode(m.Value(38)), Amount: amount}
	if rrn := m.Value(37); strings.Trim(rrn, "0") != "" {
		o.RRN = iso.RRN(rrn)
	}
	if len(f61) == 16 {
		if o.Time, err = d.ResolveDate(61, f61[12:], ""); err != nil {
			return iso.Original{}, err
		}
	}
	return o, nil
}

func (d *cupDialect) BuildSettlementResponse(m, req *iso.Message, r iso.SettlementResponse) error {
	t, _, err := parseCUPTotalsF48(req.Value(48))
	if err != nil {
		return err
	}
	f48, err := cupTotalsF48(t, cupVerdictDigits[r.Domestic], cupVerdictDigits[r.Foreign])
	if err != nil {
		return err
	}
	m.Set(48, f48)
	m.Unset(4)
	if r.Code == "" {
		r.Code = iso.CodeApproved // CUP reports the verdict in F48, not F39
	}
	return iso.SetReplyCommon(m, r.Reply)
}

// ParseSettlementResponse reads the verdict from F48's result digits: CUP
// signals imbalance there, not in F39 (CaoEnXin/LiaoYang_POS Src/tranproc.c
// PosSettleTran: "结算响应没有bit 39", results at F48 offsets 30 and 61).
func (d *cupDialect) ParseSettlementResponse(_, reply *iso.Message, rep iso.Reply) (iso.Response, error) {
	_, v, err := parseCUPTotalsF48(reply.Value(48))
	if err != nil {
		return nil, err
	}
	return iso.SettlementResponse{Reply: rep, Domestic: v[0], Foreign: v[1], Verdict: overallVerdict(v[0], v[1])}, nil
}

// Sign-on reply F62: the key block of the scheme the request asked for in
// 60.3, laid out as cupKeyBlocks says.
func (d *cupDialect) BuildSignOnResponse(m, req *iso.Message, r iso.SignOnResponse) error {
	if err := iso.SetReplyCommon(m, r.Reply); err != nil {
		return err
	}
	if err := r.Batch.Validate(); err != nil {
		return err
	}
	f60 := req.Value(60)
	if len(f60) < 11 {
		return iso.Malformed(60, "sign-on request without a network code")
	}
	m.Set(60, f60[:2]+r.Batch.String()+f60[8:])
	return iso.SetSignOnKeys(m, 62, d.KeyBlocks(), cupNetCode(req), r)
}

func (d *cupDialect) ParseSignOnResponse(req, reply *iso.Message, rep iso.Reply) (iso.Response, error) {
	r := iso.SignOnResponse{Reply: rep}
	if f60 := reply.Value(60); len(f60) >= 8 {
		b, err := iso.ParseN6(60, f60[2:8])
		if err != nil {
			return nil, err
		}
		r.Batch = iso.BatchNumber(b)
	}
	keys, err := iso.SignOnKeysOf(reply, 62, d.KeyBlocks(), rep.Code, cupNetCode(req))
	if err != nil {
		return nil, err
	}
	r.Keys = keys
	return r, nil
}

// cupNetCode is 60.3, the network management code, or "" when F60 is short.
func cupNetCode(m *iso.Message) string {
	if f60 := m.Value(60); len(f60) >= 11 {
		return f60[8:11]
	}
	return ""
}

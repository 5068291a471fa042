package cup

import . "github.com/posswitch/posswitch/iso"

import (
	"fmt"
	"strings"
)

// What a CUP host reads from a request and how it answers
// (CaoEnXin/LiaoYang_POS Src/trancomm.c SaveRspPackData reads the reply).

// BuildResponse spells the reply; a financial reply names the card
// organisation in F63.1 when r.CardOrg is set.
func (d *cupDialect) BuildResponse(req *Message, r Response) (*Message, error) {
	if f, ok := r.(FinancialResponse); ok {
		if err := f.CardOrg.Validate(); err != nil {
			return nil, err
		}
	}
	m, err := d.BuildResponseWith(d, req, r)
	if err != nil {
		return nil, err
	}
	if f, ok := r.(FinancialResponse); ok && f.CardOrg != "" {
		m.Set(63, string(f.CardOrg))
	}
	return m, nil
}

// ParseResponse reads the reply; a financial reply's F63.1 is the card
// organisation (SaveRspPackData keeps it as the card unit).
func (d *cupDialect) ParseResponse(req, reply *Message) (Response, error) {
	r, err := d.ParseResponseWith(d, req, reply)
	if f, ok := r.(FinancialResponse); ok && err == nil {
		f.CardOrg = CardOrgOf(reply)
		return f, nil
	}
	return r, err
}

// echoFields: a CUP reply echoes the request's identifying fields (S1
// SaveRspPackData lists what comes back).
func (d *cupDialect) EchoFields() []int { return []int{2, 3, 4, 11, 25, 41, 42, 49, 60, 61} }

func (d *cupDialect) Classify(m *Message) (Kind, error) {
	if k := d.QRKind(m); k != 0 {
		return k, nil
	}
	f3 := m.Value(3)
	netCode := cupNetCode(m)
	switch {
	case m.MTI == "0200" && f3 == "000000":
		if _, ok := PaymentCodeOf(m, d.CodeField()); ok {
			return KindPaymentCodeSale, nil
		}
		return KindSale, nil
	case m.MTI == "0200" && f3 == "310000":
		return KindBalanceInquiry, nil
	case m.MTI == "0200" && f3 == "200000":
		return KindVoid, nil
	case (m.MTI == "0220" || m.MTI == "0221") && f3 == "200000":
		return KindRefund, nil
	case m.MTI == "0400":
		return KindReversal, nil
	case m.MTI == "0500":
		return KindSettlement, nil
	case m.MTI == "0320" && netCode == cup603Settle,
		m.MTI == "0320" && netCode == cup603None && f3 == "200000": // a refund uploaded alone
		return KindBatchUpload, nil
	case m.MTI == "0320" && (netCode == cup603UploadEndB || netCode == cup603UploadEndU):
		return KindBatchUploadEnd, nil
	case m.MTI == "0800":
		return KindSignOn, nil
	case m.MTI == "0820" && netCode == cup603SignOff:
		return KindSignOff, nil
	case m.MTI == "0820" && netCode == cup603Echo:
		return KindEcho, nil
	}
	return 0, fmt.Errorf("%w: CUP has no message %s with processing code %q", ErrUnsupported, m.MTI, f3)
}

func (d *cupDialect) ParseRequest(m *Message) (Envelope, Request, error) {
	if TracksEnciphered(m) {
		return Envelope{}, nil, Malformed(35, "track data is enciphered under the TDK: decipher it first (DecryptTracks)")
	}
	var env Envelope
	var err error
	if m.MTI == "0820" && !m.Has(11) {
		// An echo test carries no F11 (CaoEnXin/LiaoYang_POS Src/tranproc.c
		// SetCommReqField skips it for RESPONSE_TEST): STAN 0.
		env = Envelope{Terminal: TerminalID(m.Value(41)), Merchant: MerchantID(m.Value(42))}
	} else if env, err = EnvelopeOf(m); err != nil {
		return Envelope{}, nil, err
	}
	f60 := m.Value(60)
	if len(f60) < 11 || !IsDigits(f60) {
		return Envelope{}, nil, Malformed(60, "want type, batch and network code")
	}
	batch, _ := ParseN6(60, f60[2:8])
	env.Batch = BatchNumber(batch)
	if q, ok, err := d.ParseQRRequest(m); ok {
		return env, q, err
	}
	kind, err := d.Classify(m)
	if err != nil {
		return Envelope{}, nil, err
	}
	r, err := d.parseRequestOf(kind, m, &env)
	return env, r, err
}

func (d *cupDialect) parseRequestOf(kind Kind, m *Message, env *Envelope) (Request, error) {
	amount, err := AmountOf(m)
	if err != nil {
		return nil, err
	}
	if r, ok, err := d.ParseSharedRequest(kind, m, amount, d.originalOf); ok {
		return r, err
	}
	switch kind {
	case KindRefund:
		orig, err := d.originalOf(m, Amount{})
		if err != nil {
			return nil, err
		}
		card, err := CardOf(m)
		return RefundRequest{Amount: amount, Card: card, Original: orig, CardOrg: CardOrgOf(m)}, err
	case KindReversal:
		copyOf := m.Clone()
		copyOf.MTI = "0200"
		of, err := d.Classify(copyOf)
		return ReversalRequest{Of: of, Amount: amount, Original: Original{STAN: env.STAN},
			Reason: ResponseCode(m.Value(39))}, err
	case KindSettlement:
		t, _, err := parseCUPTotalsF48(m.Value(48))
		if err != nil {
			return nil, err
		}
		env.Operator = OperatorCode(strings.TrimRight(m.Value(63), " "))
		cur, err := CurrencyByCode(m.Value(49))
		return SettlementRequest{Totals: t, Currency: cur}, err
	case KindBatchUpload:
		if m.Value(3) == "200000" {
			e, err := d.refundUploadOf(m, amount, env)
			return BatchUploadRequest{Entries: []BatchEntry{e}}, err
		}
		// The packed upload carries no F49 (LiaoYang_POS SetCommReqField):
		// its amounts are in the dialect's currency.
		entries, err := parseCUPUploadF48(m.Value(48), d.currency)
		return BatchUploadRequest{Entries: entries}, err
	case KindBatchUploadEnd:
		f48 := m.Value(48)
		if len(f48) != 4 || !IsDigits(f48) {
			return nil, Malformed(48, "want a four-digit count")
		}
		var n int
		fmt.Sscanf(f48, "%d", &n)
		return BatchUploadEndRequest{Count: n, Balanced: cupNetCode(m) == cup603UploadEndB}, nil
	case KindSignOn:
		env.Operator = OperatorCode(strings.TrimRight(m.Value(63), " "))
		return SignOnRequestOf(60, cupNetCode(m))
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupported, kind)
}

// refundUploadOf reads a refund uploaded alone: its trace is F11, its card
// F2, F63 the card organisation, F37/F61 the sale it refunded.
func (d *cupDialect) refundUploadOf(m *Message, amount Amount, env *Envelope) (BatchEntry, error) {
	if f60 := m.Value(60); f60[:2] != cup601Refund {
		return BatchEntry{}, Malformed(60, "a refund upload has type 25")
	}
	orig, err := d.originalOf(m, Amount{})
	if err != nil {
		return BatchEntry{}, err
	}
	return BatchEntry{Kind: KindRefund, STAN: env.STAN, Amount: amount, PAN: PAN(m.Value(2)),
		CardOrg: CardOrgOf(m), Original: orig}, nil
}

// originalOf reads F37/F38/F61 (batch, trace, optional MMDD).
func (d *cupDialect) originalOf(m *Message, amount Amount) (Original, error) {
	f61 := m.Value(61)
	if len(f61) != 12 && len(f61) != 16 {
		return Original{}, Malformed(61, "want batch, trace and optional date")
	}
	batch, err := ParseN6(61, f61[:6])
	if err != nil {
		return Original{}, err
	}
	stan, _ := ParseN6(61, f61[6:12])
	o := Original{STAN: STAN(stan), Batch: BatchNumber(batch), AuthCode: AuthCode(m.Value(38)), Amount: amount}
	if rrn := m.Value(37); strings.Trim(rrn, "0") != "" {
		o.RRN = RRN(rrn)
	}
	if len(f61) == 16 {
		if o.Time, err = d.ResolveDate(61, f61[12:], ""); err != nil {
			return Original{}, err
		}
	}
	return o, nil
}

func (d *cupDialect) BuildSettlementResponse(m, req *Message, r SettlementResponse) error {
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
		r.Code = CodeApproved // CUP reports the verdict in F48, not F39
	}
	return SetReplyCommon(m, r.Reply)
}

// parseSettlementResponse reads the verdict from F48's result digits: CUP
// signals imbalance there, not in F39 (CaoEnXin/LiaoYang_POS Src/tranproc.c
// PosSettleTran: "结算响应没有bit 39", results at F48 offsets 30 and 61).
func (d *cupDialect) ParseSettlementResponse(_, reply *Message, rep Reply) (Response, error) {
	_, v, err := parseCUPTotalsF48(reply.Value(48))
	if err != nil {
		return nil, err
	}
	return SettlementResponse{Reply: rep, Domestic: v[0], Foreign: v[1], Verdict: overallVerdict(v[0], v[1])}, nil
}

// Sign-on reply F62: the key block of the scheme the request asked for in
// 60.3, laid out as cupKeyBlocks says.
func (d *cupDialect) BuildSignOnResponse(m, req *Message, r SignOnResponse) error {
	if err := SetReplyCommon(m, r.Reply); err != nil {
		return err
	}
	if err := r.Batch.Validate(); err != nil {
		return err
	}
	f60 := req.Value(60)
	if len(f60) < 11 {
		return Malformed(60, "sign-on request without a network code")
	}
	m.Set(60, f60[:2]+r.Batch.String()+f60[8:])
	return SetSignOnKeys(m, 62, d.KeyBlocks(), cupNetCode(req), r)
}

func (d *cupDialect) ParseSignOnResponse(req, reply *Message, rep Reply) (Response, error) {
	r := SignOnResponse{Reply: rep}
	if f60 := reply.Value(60); len(f60) >= 8 {
		b, err := ParseN6(60, f60[2:8])
		if err != nil {
			return nil, err
		}
		r.Batch = BatchNumber(b)
	}
	keys, err := SignOnKeysOf(reply, 62, d.KeyBlocks(), rep.Code, cupNetCode(req))
	if err != nil {
		return nil, err
	}
	r.Keys = keys
	return r, nil
}

// cupNetCode is 60.3, the network management code, or "" when F60 is short.
func cupNetCode(m *Message) string {
	if f60 := m.Value(60); len(f60) >= 11 {
		return f60[8:11]
	}
	return ""
}

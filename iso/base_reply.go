package iso

import "fmt"

// The response spellings both dialects share. A dialect classifies the
// request (it alone knows how its kinds are spelled) and hands the shared
// kinds here; settlement and sign-on replies it spells itself.

// Hooks is what a dialect tells Base's shared response helpers
// (BuildResponseWith, ParseResponseWith) that only it knows: how it spells
// its kinds, which fields a reply echoes, and its settlement and sign-on
// replies. The dialect passes itself.
type Hooks interface {
	Classify(m *Message) (Kind, error)
	EchoFields() []int // request fields a reply echoes
	BuildSettlementResponse(m, req *Message, r SettlementResponse) error
	BuildSignOnResponse(m, req *Message, r SignOnResponse) error
	ParseSettlementResponse(req, reply *Message, rep Reply) (Response, error)
	ParseSignOnResponse(req, reply *Message, rep Reply) (Response, error)
}

// BuildResponseWith is the BuildResponse of the response kinds the dialects
// share; h classifies the request and spells the settlement and sign-on
// replies.
func (b *Base) BuildResponseWith(d Hooks, req *Message, r Response) (*Message, error) {
	if r == nil {
		return nil, InvalidField("Response", "nil")
	}
	kind, err := d.Classify(req)
	if err != nil {
		return nil, err
	}
	if !responseFits(kind, r) {
		return nil, InvalidField("Response", "a %T does not answer a %s", r, kind)
	}
	m := &Message{MTI: ResponseMTI(req.MTI)}
	echo(m, req, d.EchoFields()...)
	switch r := r.(type) {
	case FinancialResponse:
		err = SetReplyCommon(m, r.Reply)
		if err == nil && r.Amount.Minor != 0 {
			SetAmount(m, r.Amount)
		}
		if err == nil && r.Balance != nil {
			m.Set(54, balanceField(*r.Balance))
		}
	case ReversalResponse:
		err = SetReplyCommon(m, r.Reply)
	case NetworkResponse:
		err = SetReplyCommon(m, r.Reply)
	case BatchUploadResponse:
		err = SetReplyCommon(m, r.Reply)
	case QROrderResponse:
		err = SetReplyCommon(m, r.Reply)
		if err == nil && r.Amount.Minor != 0 {
			SetAmount(m, r.Amount)
		}
		m.Set(b.qr.Field, qrTLV(r.Order, 0))
	case SettlementResponse:
		err = d.BuildSettlementResponse(m, req, r)
	case SignOnResponse:
		err = d.BuildSignOnResponse(m, req, r)
	default:
		return nil, fmt.Errorf("%w: response %T", ErrUnsupported, r)
	}
	if err != nil {
		return nil, err
	}
	// A host MACs what it approves when the request was MACed; declines go
	// unsigned (CaoEnXin/LiaoYang_POS Src/trancomm.c checks the MAC
	// only when F39 is 00). The code is read from the message: a
	// dialect may have derived it (a settlement's verdict).
	if macFieldOf(req) != 0 && ResponseCode(m.Value(39)).Approved() {
		m.Set(64, MACPlaceholder)
	}
	return m, nil
}

func responseFits(kind Kind, r Response) bool {
	switch r.(type) {
	case FinancialResponse:
		return kind == KindSale || kind == KindPaymentCodeSale || kind == KindBalanceInquiry || kind == KindVoid || kind == KindRefund
	case QROrderResponse:
		return kind == KindQROrderCreate || kind == KindQROrderQuery || kind == KindQROrderClose
	case NetworkResponse:
		return kind == KindSignOff || kind == KindEcho
	case BatchUploadResponse:
		return kind == KindBatchUpload || kind == KindBatchUploadEnd
	}
	return r.Kind() == kind
}

// ParseResponseWith is the ParseResponse of the response kinds the dialects
// share (financial, reversal, upload, QR, sign-off, echo); h classifies the
// request and reads the settlement and sign-on replies.
func (b *Base) ParseResponseWith(d Hooks, req, reply *Message) (Response, error) {
	kind, err := d.Classify(req)
	if err != nil {
		return nil, err
	}
	rep, err := b.replyCommon(reply)
	if err != nil {
		return nil, err
	}
	switch kind {
	case KindSale, KindPaymentCodeSale, KindBalanceInquiry, KindVoid, KindRefund:
		r := FinancialResponse{Reply: rep, Of: kind}
		if r.Amount, err = AmountOf(reply); err != nil {
			return nil, err
		}
		if v, ok := reply.Get(54); ok {
			if r.Balance, err = parseBalance(v); err != nil {
				return nil, err
			}
		}
		return r, nil
	case KindReversal:
		return ReversalResponse{Reply: rep, Advice: req.MTI[2] == '2'}, nil
	case KindSignOff, KindEcho:
		return NetworkResponse{Reply: rep, Of: kind}, nil
	case KindBatchUpload, KindBatchUploadEnd:
		return BatchUploadResponse{Reply: rep, End: kind == KindBatchUploadEnd}, nil
	case KindQROrderCreate, KindQROrderQuery, KindQROrderClose:
		r := QROrderResponse{Reply: rep, Of: kind}
		if r.Amount, err = AmountOf(reply); err != nil {
			return nil, err
		}
		if v, ok := reply.Get(b.qr.Field); ok {
			if r.Order, _, err = parseQRTLV(b.qr.Field, v); err != nil {
				return nil, err
			}
		}
		return r, nil
	case KindSettlement:
		return d.ParseSettlementResponse(req, reply, rep)
	case KindSignOn:
		return d.ParseSignOnResponse(req, reply, rep)
	}
	return nil, fmt.Errorf("%w: response to %s", ErrUnsupported, kind)
}

// ParseQRRequest reads a QR order request with the mapping; ok is false when
// the message is not one.
func (b *Base) ParseQRRequest(m *Message) (Request, bool, error) {
	kind := b.QRKind(m)
	if kind == 0 {
		return nil, false, nil
	}
	o, validity, err := parseQRTLV(b.qr.Field, m.Value(b.qr.Field))
	if err != nil {
		return nil, true, err
	}
	switch kind {
	case KindQROrderCreate:
		a, err := AmountOf(m)
		return QROrderCreateRequest{Amount: a, Validity: validity}, true, err
	case KindQROrderQuery:
		return QROrderQueryRequest{OrderRef: o.Ref}, true, nil
	}
	return QROrderCloseRequest{OrderRef: o.Ref}, true, nil
}

// QRKind classifies a QR order request by the mapping, or returns 0.
func (b *Base) QRKind(m *Message) Kind {
	if m.MTI != b.qr.MTI {
		return 0
	}
	switch m.Value(3) {
	case b.qr.CreateCode:
		return KindQROrderCreate
	case b.qr.QueryCode:
		return KindQROrderQuery
	case b.qr.CloseCode:
		return KindQROrderClose
	}
	return 0
}

// PaymentCodeOf returns the A3 payment code of a private TLV field.
func PaymentCodeOf(m *Message, field int) (PaymentCode, bool) {
	elems, err := ParseTLV(m.Value(field))
	if err != nil {
		return "", false
	}
	v, ok := TLVValue(elems, TagPaymentCode)
	return PaymentCode(v), ok
}

// ParseSharedRequest reads the requests both dialects spell alike apart
// from where the payment code travels and how the original is found; ok is
// false for other kinds.
func (b *Base) ParseSharedRequest(kind Kind, m *Message, amount Amount,
	originalOf func(*Message, Amount) (Original, error)) (r Request, ok bool, err error) {
	switch kind {
	case KindSale:
		card, err := CardOf(m)
		return SaleRequest{Amount: amount, Card: card}, true, err
	case KindPaymentCodeSale:
		code, _ := PaymentCodeOf(m, b.codeField)
		return PaymentCodeSaleRequest{Amount: amount, Code: code}, true, nil
	case KindBalanceInquiry:
		card, err := CardOf(m)
		if err != nil {
			return nil, true, err
		}
		cur, err := CurrencyByCode(m.Value(49))
		return BalanceInquiryRequest{Card: card, Currency: cur}, true, err
	case KindVoid:
		orig, err := originalOf(m, amount)
		if err != nil {
			return nil, true, err
		}
		v := VoidRequest{Original: orig}
		if m.Has(2) || m.Has(35) {
			card, err := CardOf(m)
			if err != nil {
				return nil, true, err
			}
			v.Card = &card
		}
		return v, true, nil
	case KindSignOff:
		return SignOffRequest{}, true, nil
	case KindEcho:
		return EchoRequest{}, true, nil
	}
	return nil, false, nil
}

// SignOnRequestOf reads a sign-on's key scheme from its code (CUP's 60.3
// values, which ISO87 carries in F48 tag K1).
func SignOnRequestOf(field int, code string) (Request, error) {
	for scheme, c := range schemeCodes {
		if c == code {
			return SignOnRequest{Scheme: scheme}, nil
		}
	}
	return nil, Malformed(field, "unknown key scheme")
}

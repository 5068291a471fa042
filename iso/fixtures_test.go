package iso_test

import (
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
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

// The recorded fixtures: one typed request and its typed reply per message
// kind and dialect. golden_test.go spells them to testdata/<dialect>/ and
// checks the bytes and the typed values both ways.

// fixture is one exchange: a request (or a reversal of an earlier request)
// and the host's reply.
type fixture struct {
	name string
	env  iso.Envelope
	req  iso.Request
	// reverse, when set, builds the request as the dialect's reversal (or
	// repeat) of req at this attempt instead of req itself.
	reverse *reversalStep
	resp    iso.Response
}

type reversalStep struct {
	reason  iso.ReversalReason
	attempt int
	repeat  bool // Dialect.Repeat instead of Dialect.Reversal
}

func wrapped(t testing.TB, clear string) iso.WrappedKey {
	w, err := iso.WrapKey(testTMK, mustHex(clear))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// commonFixtures are the exchanges both dialects spell.
func commonFixtures(t testing.TB, amount iso.Amount, pan iso.PAN, mak string) []fixture {
	original := iso.Original{STAN: 41, Batch: 7, Time: fixtureTime.Add(-time.Hour), RRN: "307310000041",
		AuthCode: "Z9Y8X7", Amount: amount}
	swiped := iso.Card{Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: pinBlock(t)}
	keyed := iso.Card{PAN: pan, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	chip := iso.Card{PAN: pan, Expiry: "2812", Sequence: "001", Entry: iso.EntryMode{Method: iso.EntryICC}}
	ok := hostReply(iso.CodeApproved)
	balance := iso.Amount{Minor: 998877, Currency: amount.Currency}
	return []fixture{
		{name: "sale", env: env(42), req: iso.SaleRequest{Amount: amount, Card: swiped},
			resp: iso.FinancialResponse{Reply: ok, Of: iso.KindSale, Amount: amount}},
		{name: "sale_declined", env: env(43), req: iso.SaleRequest{Amount: amount, Card: chip},
			resp: iso.FinancialResponse{Reply: hostReply(iso.CodeInsufficientFunds), Of: iso.KindSale, Amount: amount}},
		{name: "payment_code_sale", env: env(44), req: iso.PaymentCodeSaleRequest{Amount: amount, Code: testCode},
			resp: iso.FinancialResponse{Reply: ok, Of: iso.KindPaymentCodeSale, Amount: amount}},
		{name: "balance_inquiry", env: env(45), req: iso.BalanceInquiryRequest{Card: keyed, Currency: amount.Currency},
			resp: iso.FinancialResponse{Reply: ok, Of: iso.KindBalanceInquiry, Balance: &balance}},
		{name: "void", env: env(46), req: iso.VoidRequest{Original: original},
			resp: iso.FinancialResponse{Reply: ok, Of: iso.KindVoid, Amount: amount}},
		{name: "refund", env: env(47), req: iso.RefundRequest{Amount: iso.Amount{Minor: 5000, Currency: amount.Currency}, Card: keyed, Original: original, CardOrg: iso.CardOrgCUP},
			resp: iso.FinancialResponse{Reply: ok, Of: iso.KindRefund, Amount: iso.Amount{Minor: 5000, Currency: amount.Currency}}},
		{name: "reversal", env: env(42), req: iso.SaleRequest{Amount: amount, Card: swiped},
			reverse: &reversalStep{reason: iso.ReasonTimeout},
			resp:    iso.ReversalResponse{Reply: ok}},
		{name: "sign_on", env: env(50), req: iso.SignOnRequest{Scheme: iso.KeysDoubleDES},
			resp: iso.SignOnResponse{Reply: hostReply(iso.CodeApproved), Batch: 8, Keys: iso.SignOnKeys{
				PIK: wrapped(t, "0123456789ABCDEF0123456789ABCDEF"), MAK: wrapped(t, mak)}}},
		{name: "sign_off", env: env(51), req: iso.SignOffRequest{},
			resp: iso.NetworkResponse{Reply: hostReply(iso.CodeApproved), Of: iso.KindSignOff}},
		{name: "echo", env: env(52), req: iso.EchoRequest{},
			resp: iso.NetworkResponse{Reply: hostReply(iso.CodeApproved), Of: iso.KindEcho}},
		{name: "qr_order_create", env: env(53), req: iso.QROrderCreateRequest{Amount: amount, Validity: 5 * time.Minute},
			resp: iso.QROrderResponse{Reply: hostReply(iso.CodeApproved), Of: iso.KindQROrderCreate, Amount: amount,
				Order: iso.QROrder{Ref: "QR20260314000053", Payload: "https://qr.example.test/o/QR20260314000053",
					Expires: fixtureTime.Add(5 * time.Minute), Status: iso.QRWaiting}}},
		{name: "qr_order_query", env: env(54), req: iso.QROrderQueryRequest{OrderRef: "QR20260314000053"},
			resp: iso.QROrderResponse{Reply: ok, Of: iso.KindQROrderQuery, Amount: amount,
				Order: iso.QROrder{Ref: "QR20260314000053", Status: iso.QRPaid}}},
		{name: "qr_order_close", env: env(55), req: iso.QROrderCloseRequest{OrderRef: "QR20260314000053"},
			resp: iso.QROrderResponse{Reply: ok, Of: iso.KindQROrderClose,
				Order: iso.QROrder{Ref: "QR20260314000053", Status: iso.QRClosed}}},
	}
}

func batchEntries(amount iso.Amount, pan iso.PAN) []iso.BatchEntry {
	return []iso.BatchEntry{
		{Kind: iso.KindSale, STAN: 42, Time: fixtureTime.Add(-2 * time.Hour), Amount: amount, RRN: "307310000042", AuthCode: "A1B2C3", PAN: pan},
		{Kind: iso.KindSale, STAN: 43, Time: fixtureTime.Add(-time.Hour), Amount: iso.Amount{Minor: 900, Currency: amount.Currency}, RRN: "307310000043", AuthCode: "A1B2C4", PAN: panMaster, CardOrg: iso.CardOrgMC},
	}
}

func cupFixtures(t testing.TB) []fixture {
	fx := commonFixtures(t, cny, panUnionPay, "0123456789ABCDEF")
	entries := batchEntries(cny, panUnionPay)
	totals := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 1, DebitAmount: 12345}, Foreign: iso.ClassTotals{DebitCount: 1, DebitAmount: 900}}
	return append(fx,
		fixture{name: "refund_repeat", env: env(47), req: fx[5].req, reverse: &reversalStep{attempt: 1, repeat: true},
			resp: fx[5].resp},
		fixture{name: "settlement", env: env(60), req: iso.SettlementRequest{Totals: totals, Currency: iso.CNY},
			resp: iso.SettlementResponse{Reply: hostReply(iso.CodeApproved), Verdict: iso.VerdictOutOfBalance,
				Domestic: iso.VerdictBalanced, Foreign: iso.VerdictOutOfBalance}},
		fixture{name: "batch_upload", env: env(61), req: iso.BatchUploadRequest{Entries: []iso.BatchEntry{
			{Kind: iso.KindSale, STAN: 42, Amount: cny, PAN: panUnionPay},
			{Kind: iso.KindSale, STAN: 43, Amount: entries[1].Amount, PAN: panMaster, CardOrg: iso.CardOrgMC}}},
			resp: iso.BatchUploadResponse{Reply: hostReply(iso.CodeApproved)}},
		fixture{name: "batch_upload_end", env: env(62), req: iso.BatchUploadEndRequest{Count: 2},
			resp: iso.BatchUploadResponse{Reply: hostReply(iso.CodeApproved), End: true}},
	)
}

// iso87Fixtures are the terminal profile's (the default): void 0200
// 020000 and its reversal, F63 totals, the upload with F60 = MTI + STAN +
// 12 spaces.
func iso87Fixtures(t testing.TB) []fixture {
	fx := commonFixtures(t, usd, panVisa, "0123456789ABCDEFFEDCBA9876543210")
	sale := fx[0]
	entries := batchEntries(usd, panVisa)
	entries[0].Entry = iso.EntryMagstripe
	totals := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 2, DebitAmount: 13245, CreditCount: 1, CreditAmount: 5000}}
	ok := iso.ReversalResponse{Reply: hostReply(iso.CodeApproved)}
	return append(fx,
		fixture{name: "reversal_repeat", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 1}, resp: ok},
		fixture{name: "reversal_advice", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 3},
			resp: iso.ReversalResponse{Reply: hostReply(iso.CodeApproved), Advice: true}},
		fixture{name: "reversal_advice_repeat", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 4},
			resp: iso.ReversalResponse{Reply: hostReply(iso.CodeApproved), Advice: true}},
		fixture{name: "void_reversal", env: env(46), req: fx[4].req, reverse: &reversalStep{reason: iso.ReasonTimeout}, resp: ok},
		fixture{name: "settlement", env: env(60), req: iso.SettlementRequest{Totals: totals, Currency: iso.USD},
			resp: iso.SettlementResponse{Reply: hostReply(iso.CodeReconcileError), Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictOutOfBalance}},
		fixture{name: "batch_upload", env: env(61), req: iso.BatchUploadRequest{Entries: entries[:1]},
			resp: iso.BatchUploadResponse{Reply: hostReply(iso.CodeApproved)}},
		fixture{name: "settlement_after_upload", env: env(63), req: iso.SettlementRequest{Totals: totals, Currency: iso.USD, AfterUpload: true},
			resp: iso.SettlementResponse{Reply: hostReply(iso.CodeApproved), AfterUpload: true, Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced}},
	)
}

// iso87HostToHostFixtures are ProfileHostToHost's: the void a 0400 with F39
// 17 repeated as 0401, F74–F97 totals, F90 on reversals.
func iso87HostToHostFixtures(t testing.TB) []fixture {
	fx := commonFixtures(t, usd, panVisa, "0123456789ABCDEFFEDCBA9876543210")
	sale := fx[0]
	entries := batchEntries(usd, panVisa)
	totals := iso.Totals{Domestic: iso.ClassTotals{DebitCount: 2, DebitAmount: 13245, CreditCount: 1, CreditAmount: 5000,
		DebitReversalCount: 1, DebitReversalAmount: 900}}
	ok := iso.ReversalResponse{Reply: hostReply(iso.CodeApproved)}
	return append(fx,
		fixture{name: "reversal_repeat", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 1}, resp: ok},
		fixture{name: "reversal_advice", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 3},
			resp: iso.ReversalResponse{Reply: hostReply(iso.CodeApproved), Advice: true}},
		fixture{name: "reversal_advice_repeat", env: sale.env, req: sale.req, reverse: &reversalStep{reason: iso.ReasonTimeout, attempt: 4},
			resp: iso.ReversalResponse{Reply: hostReply(iso.CodeApproved), Advice: true}},
		fixture{name: "void_repeat", env: env(46), req: fx[4].req, reverse: &reversalStep{attempt: 1, repeat: true}, resp: fx[4].resp},
		fixture{name: "settlement", env: env(60), req: iso.SettlementRequest{Totals: totals, Currency: iso.USD},
			resp: iso.SettlementResponse{Reply: hostReply(iso.CodeReconcileError), Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictOutOfBalance}},
		fixture{name: "batch_upload", env: env(61), req: iso.BatchUploadRequest{Entries: entries[:1]},
			resp: iso.BatchUploadResponse{Reply: hostReply(iso.CodeApproved)}},
		fixture{name: "settlement_after_upload", env: env(63), req: iso.SettlementRequest{Totals: totals, Currency: iso.USD, AfterUpload: true},
			resp: iso.SettlementResponse{Reply: hostReply(iso.CodeApproved), AfterUpload: true, Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced}},
	)
}

// Package switchtest runs an acquirer host in-process for tests, the way
// net/http/httptest runs an HTTP server: NewHost starts it on 127.0.0.1:0
// and t.Cleanup stops it.
//
// The host behaves like a real one: it refuses what a real host refuses
// before acting on anything (isoswitch.Server's checks: a missing mandatory
// field or an undecodable one gets 30, an unregistered terminal CUP 97 /
// ISO87 03, a terminal that has not signed on or a financial request
// without a valid MAC CUP A0 / ISO87 63; see strict.go); it issues working
// keys at sign-on (wrapped under the terminal master key, with check values,
// laid out as the dialect's sign-on reply publishes them: for CUP a
// single-length MAK in every scheme and a track-data key under 004) and
// verifies and signs MACs with them, and deciphers TDK-enciphered tracks;
// it approves or declines by rules, and declines a card whose expiry
// (F14, or track 2's) has passed with 54; issues RRNs
// and auth codes; answers a repeated request with 94; reverses
// idempotently (a repeated reversal gets 00, a reversal of an unknown
// original 25); voids an original once; refunds up to the original; serves
// QR orders (a test pays or expires them; an order still waiting when its
// batch closes ends with it, and its payment is refused); names the card organisation of
// an approval from its BIN (WithCardOrgs) and files the transaction in that
// card class; reconciles settlement totals per class against its own ledger
// (balanced or out of balance, as the dialect says it); takes packed and
// one-per-message uploads (Uploads lists them) and closes the batch on the
// close the dialect plans (CUP's upload end, ISO87's 960000, or a balanced
// ISO87 verdict). Faults can be injected per message kind or by a seeded
// probability. The ledger can be read from the test: what the host
// believes was approved, reversed and settled.
//
// A session can be recorded (WithRecording, WriteRecording) to a readable
// fixture under testdata/ and replayed by NewReplayHost, which fails the
// test on any request it did not expect, with a go-cmp diff.
//
// Start and Close run a host outside tests (a demo, a simulator binary).
package switchtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// Host is an in-process acquirer host.
type Host struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// TMK is the terminal master key working keys are wrapped under.
	TMK []byte

	d      iso.Dialect
	rule   func(iso.Request) iso.ResponseCode
	ledger *ledger
	faults *faults
	srv    *isoswitch.Server
	served chan error
	logger *slog.Logger
	listen string
	rec    *recorder
	orgOf  func(iso.PAN) iso.CardOrg
	known  isoswitch.TerminalSet // registered terminals (strict.go); nil: every one
	// require is the processing requirement the next reply's CUP header
	// carries (RequireOnce); 0 when none is due.
	require atomic.Uint32
	// workingKeys, when set, gives the clear keys sign-on issues instead
	// of random ones (WithWorkingKeys).
	workingKeys func(iso.KeyScheme) (pik, mak, tdk []byte)

	closeOnce sync.Once
}

// Option configures a Host.
type Option func(*Host)

// WithTMK sets the terminal master key (default: 16 bytes of 0x11 0x22).
func WithTMK(key []byte) Option { return func(h *Host) { h.TMK = key } }

// WithRule decides approvals: it returns the response code for a financial
// request, or "" to approve. The default declines amounts whose minor units
// end in 51 with 51 (insufficient funds) and in 05 with 05 (do not honour).
// A sale with an expired card is declined 54 whatever the rule says.
func WithRule(rule func(iso.Request) iso.ResponseCode) Option { return func(h *Host) { h.rule = rule } }

// WithCardOrgs decides the card organisation the host names in F63 of an
// approval, from the card's PAN (empty for a payment-code sale); the
// transaction is filed, totalled and reconciled in that organisation's
// class. The default is DefaultCardOrg.
func WithCardOrgs(orgOf func(iso.PAN) iso.CardOrg) Option { return func(h *Host) { h.orgOf = orgOf } }

// DefaultCardOrg names a card's organisation from its BIN the way CUP
// terminals print it (CaoEnXin/LiaoYang_POS Src/emvtranproc.c SetIssuerName):
// 62 UnionPay "CUP", 4 "VIS", 51-55 "MCC", 35 "JCB", 34/37 "AEX"; anything
// else, a wallet payment included, is filed as "CUP".
func DefaultCardOrg(pan iso.PAN) iso.CardOrg {
	p := pan.Digits()
	switch {
	case strings.HasPrefix(p, "62"):
		return iso.CardOrgCUP
	case strings.HasPrefix(p, "4"):
		return iso.CardOrgVisa
	case len(p) >= 2 && p[0] == '5' && p[1] >= '1' && p[1] <= '5':
		return iso.CardOrgMC
	case strings.HasPrefix(p, "35"):
		return iso.CardOrgJCB
	case strings.HasPrefix(p, "34"), strings.HasPrefix(p, "37"):
		return iso.CardOrgAmex
	}
	return iso.CardOrgCUP
}

// WithWorkingKeys makes sign-on issue the clear keys keys returns for the
// scheme asked for, instead of random ones of the dialect's lengths
// (iso.SignOnKeyLengths): a test that checks the key block byte for byte.
// tdk is nil for schemes without a track-data key. Keys of the wrong
// length make the sign-on go unanswered (the dialect refuses to lay them).
func WithWorkingKeys(keys func(s iso.KeyScheme) (pik, mak, tdk []byte)) Option {
	return func(h *Host) { h.workingKeys = keys }
}

// WithFaults injects faults (see Fault), drawn with the given seed.
func WithFaults(seed uint64, fs ...Fault) Option {
	return func(h *Host) { h.faults = newFaults(seed, fs) }
}

// DefaultTMK is the master key a Host uses unless told otherwise.
var DefaultTMK = bytes.Repeat([]byte{0x11, 0x22}, 8)

// NewHost starts a host serving d on 127.0.0.1 and stops it when the test
// ends.
func NewHost(t testing.TB, d iso.Dialect, opts ...Option) *Host {
	t.Helper()
	h, err := Start(d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// Start starts a host outside a test (a demo, a simulator); Close stops it.
func Start(d iso.Dialect, opts ...Option) (*Host, error) {
	h := &Host{d: d, TMK: DefaultTMK, rule: defaultRule, ledger: newLedger(), faults: newFaults(1, nil), listen: "127.0.0.1:0",
		orgOf: DefaultCardOrg}
	for _, o := range opts {
		o(h)
	}
	ln, err := net.Listen("tcp", h.listen)
	if err != nil {
		return nil, err
	}
	h.Addr = ln.Addr().String()
	h.srv = &isoswitch.Server{Dialect: d, Handler: h, Keys: h.ledger, Intercept: h.intercept,
		IdleTimeout: time.Minute, ReadTimeout: 10 * time.Second, Logger: h.logger}
	if h.known != nil {
		h.srv.Terminals = h.known
	}
	h.served = make(chan error, 1)
	go func() { h.served <- h.srv.Serve(ln) }()
	return h, nil
}

// Close stops the host: requests being answered finish (up to 5 s), then
// every connection closes.
// It is safe to call more than once.
func (h *Host) Close() {
	h.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
		<-h.served
	})
}

// WithAddr listens on addr instead of 127.0.0.1:0 (a standalone
// simulator on a known port).
func WithAddr(addr string) Option { return func(h *Host) { h.listen = addr } }

// WithLogger logs what the host does (masked).
func WithLogger(l *slog.Logger) Option { return func(h *Host) { h.logger = l } }

func defaultRule(r iso.Request) iso.ResponseCode {
	var a iso.Amount
	switch r := r.(type) {
	case iso.SaleRequest:
		a = r.Amount
	case iso.PaymentCodeSaleRequest:
		a = r.Amount
	default:
		return ""
	}
	switch a.Minor % 100 {
	case 51:
		return iso.CodeInsufficientFunds
	case 5:
		return iso.CodeDoNotHonour
	}
	return ""
}

// RequireOnce makes the host's next reply carry r as the processing
// requirement of its CUP header (iso.HostRequirement), as a real CUP host
// does to ask a terminal for a download (1, 4, 5, 6, 7), a status upload
// (2) or a new sign-on (3). Only that one reply carries it.
func (h *Host) RequireOnce(r iso.HostRequirement) { h.require.Store(uint32(r)) }

// SetFaults replaces the faults injected from now on.
func (h *Host) SetFaults(seed uint64, fs ...Fault) { h.faults.set(seed, fs) }

// Transactions returns the host's ledger, in arrival order.
func (h *Host) Transactions() []Txn {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	out := make([]Txn, 0, len(h.ledger.order))
	for _, k := range h.ledger.order {
		out = append(out, *h.ledger.txns[k])
	}
	return out
}

// Totals is what the host would settle for a terminal's batch now.
func (h *Host) Totals(tid iso.TerminalID, b iso.BatchNumber) iso.Totals {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	return h.d.Totals(h.ledger.entries(tid, b))
}

// Uploads returns the batch-upload messages the host received, in order.
func (h *Host) Uploads() []Upload {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	return append([]Upload(nil), h.ledger.upLog...)
}

// Batch is the terminal's open batch at the host.
func (h *Host) Batch(tid iso.TerminalID) iso.BatchNumber {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	return h.ledger.batch(tid)
}

// Errors PayQR and ExpireQR report.
var (
	// ErrQRUnknown: the host issued no such order.
	ErrQRUnknown = errors.New("switchtest: no such QR order")
	// ErrQRNotWaiting: the order is already paid, closed or expired.
	ErrQRNotWaiting = errors.New("switchtest: the QR order is not waiting")
	// ErrQRBatchClosed: the order's batch was closed while it waited,
	// which ended it; the payment is refused, as the terminal refuses it
	// (reversal.ErrQRBatchClosed), so no payment lands in a batch both
	// sides have reconciled.
	ErrQRBatchClosed = errors.New("switchtest: the QR order's batch is closed")
)

// QROrder is a merchant-presented order as the host holds it.
type QROrder struct {
	Ref      string
	Terminal iso.TerminalID
	Batch    iso.BatchNumber // the batch it was created in, where its payment goes
	STAN     iso.STAN        // of the request that created it
	Amount   iso.Amount
	Status   iso.QRStatus
	// BatchClosed: its batch closed while it waited, which ended it.
	BatchClosed bool
}

// QROrders returns the orders the host issued, by reference, including
// those whose creation the terminal never heard answered.
func (h *Host) QROrders() []QROrder {
	l := h.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]QROrder, 0, len(l.orders))
	for ref, o := range l.orders {
		out = append(out, QROrder{Ref: ref, Terminal: o.key.tid, Batch: o.key.batch, STAN: o.key.stan, Amount: o.amount,
			Status: o.status, BatchClosed: o.batchClosed})
	}
	slices.SortFunc(out, func(a, b QROrder) int { return strings.Compare(a.Ref, b.Ref) })
	return out
}

// PayQR is the customer's wallet paying an order: it enters the batch the
// order was created in. An order that is not waiting is refused, and one
// whose batch the host has closed is refused with ErrQRBatchClosed.
func (h *Host) PayQR(ref string) error { return h.setOrder(ref, iso.QRPaid) }

// ExpireQR lets an order run out (the same refusals as PayQR).
func (h *Host) ExpireQR(ref string) error { return h.setOrder(ref, iso.QRExpired) }

func (h *Host) setOrder(ref string, s iso.QRStatus) error {
	l := h.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	o, ok := l.orders[ref]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrQRUnknown, ref)
	case o.batchClosed:
		return fmt.Errorf("%w: order %s of batch %s", ErrQRBatchClosed, ref, o.key.batch)
	case o.status != iso.QRWaiting:
		return fmt.Errorf("%w: order %s is %s", ErrQRNotWaiting, ref, o.status)
	}
	o.status = s
	if s == iso.QRPaid {
		l.add(&Txn{Terminal: o.key.tid, Batch: o.key.batch, STAN: o.key.stan, Kind: iso.KindPaymentCodeSale,
			Amount: o.amount, RRN: l.rrn(), AuthCode: l.auth(), Code: iso.CodeApproved, State: Approved})
	}
	return nil
}

// Record adds a transaction the terminal does not know about (a host-side
// error, say), which puts the next settlement out of balance.
func (h *Host) Record(t Txn) {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	if t.State == "" {
		t.State = Approved
	}
	h.ledger.add(&t)
}

// ServeISO answers one call from the ledger.
func (h *Host) ServeISO(_ context.Context, c *isoswitch.Call) (iso.Response, error) {
	l := h.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	env := c.Envelope
	now := time.Now()
	reply := func(code iso.ResponseCode) iso.Reply {
		r := iso.Reply{Code: code, HostTime: now, RRN: l.rrn()}
		if code.Approved() {
			r.AuthCode = l.auth()
		}
		return r
	}
	c.Requirement = iso.HostRequirement(h.require.Swap(0))
	if c.HasMAC && !c.MACValid {
		return isoswitch.Decline(c.Request, iso.CodeMACError), nil
	}
	switch r := c.Request.(type) {
	case iso.SignOnRequest:
		return h.signOn(env, r, reply(iso.CodeApproved))
	case iso.SignOffRequest:
		delete(l.keys, env.Terminal) // signed off: no working keys until the next sign-on
		return iso.NetworkResponse{Reply: reply(iso.CodeApproved), Of: r.Kind()}, nil
	case iso.EchoRequest:
		return iso.NetworkResponse{Reply: reply(iso.CodeApproved), Of: r.Kind()}, nil
	case iso.BalanceInquiryRequest:
		return iso.FinancialResponse{Reply: reply(iso.CodeApproved), Of: r.Kind(),
			Balance: &iso.Amount{Minor: 1_000_000, Currency: r.Currency}}, nil
	case iso.SaleRequest, iso.PaymentCodeSaleRequest:
		return h.sale(env, c.Request, reply)
	case iso.VoidRequest:
		return h.void(env, r, reply)
	case iso.RefundRequest:
		return h.refund(env, r, reply)
	case iso.ReversalRequest:
		return iso.ReversalResponse{Reply: iso.Reply{Code: h.reverse(env, r), HostTime: now}, Advice: r.Advice}, nil
	case iso.QROrderCreateRequest, iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		return h.qr(env, c.Request, reply)
	case iso.SettlementRequest:
		return h.settle(env, r, reply), nil
	case iso.BatchUploadRequest:
		return h.batchUpload(env, r, reply), nil
	case iso.BatchUploadEndRequest:
		return h.uploadEnd(env, r, reply), nil
	}
	return isoswitch.Decline(c.Request, iso.CodeInvalidTxn), nil
}

func (h *Host) signOn(env iso.Envelope, r iso.SignOnRequest, rep iso.Reply) (iso.Response, error) {
	n, err := iso.SignOnKeyLengths(h.d, r.Scheme)
	if err != nil {
		return nil, err
	}
	var pik, mak, tdk []byte
	if h.workingKeys != nil {
		pik, mak, tdk = h.workingKeys(r.Scheme)
	} else {
		pik, mak = make([]byte, n.PIK), make([]byte, n.MAK)
		rand.Read(pik)
		rand.Read(mak)
		if n.TDK > 0 {
			tdk = make([]byte, n.TDK)
			rand.Read(tdk)
		}
	}
	wp, err := iso.WrapKey(h.TMK, pik)
	if err != nil {
		return nil, err
	}
	wm, err := iso.WrapKey(h.TMK, mak)
	if err != nil {
		return nil, err
	}
	keys := iso.SignOnKeys{PIK: wp, MAK: wm}
	delete(h.ledger.tdks, env.Terminal)
	if tdk != nil {
		wt, err := iso.WrapKey(h.TMK, tdk)
		if err != nil {
			return nil, err
		}
		keys.TDK = &wt
		h.ledger.tdks[env.Terminal] = tdk
	}
	h.ledger.keys[env.Terminal] = mak
	return iso.SignOnResponse{Reply: rep, Batch: h.ledger.batch(env.Terminal), Keys: keys}, nil
}

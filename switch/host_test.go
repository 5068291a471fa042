package isoswitch_test

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// A minimal scripted host on 127.0.0.1 for the terminal's tests (the full
// simulator is switchtest's). It signs on with keys wrapped under testTMK,
// MACs with testMAK and answers each request as its script says.

var (
	testTMK = bytes.Repeat([]byte{0x11, 0x22}, 8)
	// testDataKey keeps PANs encrypted in test journals: CUP needs them
	// after the fact (isoswitch.ErrDataKeyRequired).
	testDataKey = bytes.Repeat([]byte{0x5a}, 32)
	testMAK     = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	testPIK     = bytes.Repeat([]byte{0x5A}, 16)
)

// testMAKFor is the MAK the scripted hosts issue under d's default key
// scheme: testMAK cut to the dialect's length (CUP's MAK is 8 bytes).
func testMAKFor(d iso.Dialect) []byte {
	n, err := iso.SignOnKeyLengths(d, iso.KeysDoubleDES)
	if err != nil {
		panic(err)
	}
	return testMAK[:n.MAK]
}

// move is what the host does with one request.
type move int

const (
	answer       move = iota // reply as the script's code says
	silence                  // read it and never answer
	late                     // answer after the terminal's deadline
	badMAC                   // answer with a MAC under another key
	hangUp                   // close the connection without answering
	cutReply                 // send the first half of the reply's frame, then close
	garbledReply             // answer with a whole frame whose body does not decode
)

type scriptedHost struct {
	fail  func(format string, args ...any) // t.Errorf in tests, log.Printf in examples
	d     iso.Dialect
	addr  string
	delay time.Duration // for late

	mu        sync.Mutex
	orders    map[string]iso.QRStatus // QR orders by reference
	askSignOn atomic.Bool             // the next reply's CUP header asks for a new sign-on
	batch     atomic.Uint32           // the batch a sign-on reply announces; 0: 1
	script    func(kind iso.Kind, req *iso.Message) (move, iso.ResponseCode)
	seen      []*iso.Message
	conns     int
}

func startHost(t *testing.T, d iso.Dialect) *scriptedHost {
	t.Helper()
	h, stop, err := listenHost(d, t.Errorf, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return h
}

// listenHost starts a host on 127.0.0.1:0; stop closes it and waits for
// its goroutines.
func listenHost(d iso.Dialect, fail func(string, ...any), wrap func(net.Listener) net.Listener) (*scriptedHost, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	h := &scriptedHost{fail: fail, d: d, addr: ln.Addr().String(), delay: 400 * time.Millisecond, orders: map[string]iso.QRStatus{},
		script: func(iso.Kind, *iso.Message) (move, iso.ResponseCode) { return answer, "00" }}
	var wg sync.WaitGroup
	var open []net.Conn
	stop := func() {
		ln.Close()
		h.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		h.mu.Unlock()
		wg.Wait()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			h.conns++
			open = append(open, c)
			h.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); h.serve(c, &wg) }()
		}
	}()
	return h, stop, nil
}

func (h *scriptedHost) setScript(s func(kind iso.Kind, req *iso.Message) (move, iso.ResponseCode)) {
	h.mu.Lock()
	h.script = s
	h.mu.Unlock()
}

// setOrder is the customer paying, or the order expiring, at the host.
func (h *scriptedHost) setOrder(ref string, s iso.QRStatus) {
	h.mu.Lock()
	h.orders[ref] = s
	h.mu.Unlock()
}

// requests returns the MTIs the host has read, in order.
func (h *scriptedHost) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, len(h.seen))
	for i, m := range h.seen {
		out[i] = m.MTI
	}
	return out
}

func (h *scriptedHost) serve(c net.Conn, wg *sync.WaitGroup) {
	defer c.Close()
	var wmu sync.Mutex
	write := func(fr iso.Frame, body []byte) {
		wmu.Lock()
		defer wmu.Unlock()
		out := h.d.ReplyFrame(fr, body)
		if len(out.Header) == 6 && h.askSignOn.CompareAndSwap(true, false) {
			out.Header = append([]byte(nil), out.Header...)
			out.Header[2] = out.Header[2]&0xF0 | 3 // processing requirement 3: sign on again
		}
		h.d.Framing().WriteFrame(c, out)
	}
	mac, _ := h.d.NewMAC(testMAKFor(h.d))
	wrong, _ := h.d.NewMAC(testPIK[:len(testMAKFor(h.d))])
	for {
		fr, err := h.d.Framing().ReadFrame(c)
		if err != nil {
			return
		}
		req, err := h.d.Decode(fr.Body)
		if err != nil {
			h.fail("host: %v", err)
			return
		}
		_, typed, err := h.d.ParseRequest(req)
		if err != nil {
			h.fail("host cannot read %s: %v", req.MTI, err)
			return
		}
		h.mu.Lock()
		h.seen = append(h.seen, req)
		mv, code := h.script(typed.Kind(), req)
		resp := h.response(typed, code) // under h.mu: it may change h.orders
		h.mu.Unlock()
		reply, err := h.d.BuildResponse(req, resp)
		if err != nil {
			h.fail("host cannot answer %s: %v", req.MTI, err)
			return
		}
		switch mv {
		case silence:
			continue
		case hangUp:
			return
		case badMAC:
			body, _ := h.d.Encode(reply, wrong)
			write(fr, body)
		case cutReply:
			body, _ := h.d.Encode(reply, mac)
			whole, _ := h.d.Framing().AppendFrame(nil, h.d.ReplyFrame(fr, body))
			c.Write(whole[:len(whole)/2])
			return
		case garbledReply:
			body := bytes.Repeat([]byte{0xFF}, 40) // no MTI, no bitmap
			write(fr, body)
		case late:
			body, _ := h.d.Encode(reply, mac)
			wg.Add(1)
			time.AfterFunc(h.delay, func() { defer wg.Done(); write(fr, body) })
		default:
			body, err := h.d.Encode(reply, mac)
			if err != nil {
				h.fail("host: %v", err)
				return
			}
			write(fr, body)
		}
	}
}

var rrnSeq atomic.Int64

func nextRRN() iso.RRN { return iso.RRN(fmt.Sprintf("%012d", rrnSeq.Add(1))) }

// response is the host's typed answer to a request; serve holds h.mu.
func (h *scriptedHost) response(r iso.Request, code iso.ResponseCode) iso.Response {
	rep := iso.Reply{Code: code, HostTime: time.Now(), RRN: nextRRN()}
	if code.Approved() {
		rep.AuthCode = "AP0001"
	}
	switch r := r.(type) {
	case iso.SignOnRequest:
		pik, _ := iso.WrapKey(testTMK, testPIK)
		mak, _ := iso.WrapKey(testTMK, testMAKFor(h.d))
		batch := iso.BatchNumber(h.batch.Load())
		if batch == 0 {
			batch = 1
		}
		return iso.SignOnResponse{Reply: rep, Batch: batch, Keys: iso.SignOnKeys{PIK: pik, MAK: mak}}
	case iso.SignOffRequest, iso.EchoRequest:
		return iso.NetworkResponse{Reply: rep, Of: r.Kind()}
	case iso.ReversalRequest:
		return iso.ReversalResponse{Reply: rep}
	case iso.SaleRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}
	case iso.PaymentCodeSaleRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}
	case iso.VoidRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Original.Amount}
	case iso.RefundRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}
	case iso.SettlementRequest:
		// "95" in the script means: the host's totals disagree. CUP says so
		// in F48 with F39 00; ISO87 in F39.
		v := iso.VerdictBalanced
		if code == iso.CodeReconcileError {
			v = iso.VerdictOutOfBalance
			if h.d.Name() == "CUP" {
				rep.Code, rep.AuthCode = "00", ""
			}
		}
		return iso.SettlementResponse{Reply: rep, AfterUpload: r.AfterUpload, Verdict: v, Domestic: v}
	case iso.BatchUploadRequest:
		return iso.BatchUploadResponse{Reply: rep}
	case iso.BatchUploadEndRequest:
		return iso.BatchUploadResponse{Reply: rep, End: true}
	case iso.QROrderCreateRequest:
		ref := fmt.Sprintf("QR%010d", rrnSeq.Add(1))
		h.orders[ref] = iso.QRWaiting
		return iso.QROrderResponse{Reply: iso.Reply{Code: code, HostTime: rep.HostTime}, Of: r.Kind(), Amount: r.Amount,
			Order: iso.QROrder{Ref: ref, Payload: "https://qr.example.test/" + ref, Expires: time.Now().Add(r.Validity).Truncate(time.Second), Status: iso.QRWaiting}}
	case iso.QROrderQueryRequest, iso.QROrderCloseRequest:
		var ref string
		switch q := r.(type) {
		case iso.QROrderQueryRequest:
			ref = q.OrderRef
		case iso.QROrderCloseRequest:
			ref = q.OrderRef
		}
		st := h.orders[ref]
		if _, closing := r.(iso.QROrderCloseRequest); closing && st == iso.QRWaiting {
			st = iso.QRClosed
			h.orders[ref] = st
		}
		out := iso.QROrderResponse{Reply: iso.Reply{Code: code, HostTime: rep.HostTime}, Of: r.Kind(), Order: iso.QROrder{Ref: ref, Status: st}}
		if st == iso.QRPaid {
			out.Reply.RRN, out.Reply.AuthCode = rep.RRN, "QRPAID"
		}
		return out
	case iso.BalanceInquiryRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Balance: &iso.Amount{Minor: 123456, Currency: r.Currency}}
	}
	h.fail("host has no answer for %T", r)
	return iso.NetworkResponse{Reply: rep, Of: iso.KindEcho}
}

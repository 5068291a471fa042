package isoswitch_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// benchHost is a lean host on 127.0.0.1 for the benchmarks: it signs on
// with keys wrapped under testTMK and approves every sale, MACed under
// testMAK. Unlike scriptedHost it keeps nothing per request (unless keep)
// and takes a testing.TB. Its first error is reported at cleanup.
type benchHost struct {
	d    iso.Dialect
	addr string
	mac  iso.MAC
	keys iso.SignOnKeys
	keep bool // record the sale bodies read (TestBenchSalePathsAgree)
	rrn  atomic.Int64

	mu     sync.Mutex
	err    error
	closed bool
	kept   [][]byte
}

// benchStartHost starts a host; with keep it records the sale bodies it reads.
func benchStartHost(tb testing.TB, d iso.Dialect, keep bool) *benchHost {
	tb.Helper()
	mac, err := d.NewMAC(testMAKFor(d))
	if err != nil {
		tb.Fatal(err)
	}
	pik, err := iso.WrapKey(testTMK, testPIK)
	if err != nil {
		tb.Fatal(err)
	}
	mak, err := iso.WrapKey(testTMK, testMAKFor(d))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	h := &benchHost{d: d, addr: ln.Addr().String(), mac: mac, keys: iso.SignOnKeys{PIK: pik, MAK: mak}, keep: keep}
	var wg sync.WaitGroup
	var open []net.Conn
	tb.Cleanup(func() {
		ln.Close()
		h.mu.Lock()
		h.closed = true
		for _, c := range open {
			c.Close()
		}
		h.mu.Unlock()
		wg.Wait()
		if h.err != nil {
			tb.Errorf("bench host: %v", h.err)
		}
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.mu.Lock()
			open = append(open, c)
			h.mu.Unlock()
			wg.Go(func() { h.serve(c) })
		}
	})
	return h
}

func (h *benchHost) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		fr, err := h.d.Framing().ReadFrame(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				h.fail(err)
			}
			return
		}
		body, err := h.answer(fr.Body)
		if err != nil {
			h.fail(err)
			return
		}
		if err := h.d.Framing().WriteFrame(c, h.d.ReplyFrame(fr, body)); err != nil {
			h.fail(err)
			return
		}
	}
}

// answer is the host's work per request: decode, parse, build the reply,
// encode it with the MAC.
func (h *benchHost) answer(body []byte) ([]byte, error) {
	req, err := h.d.Decode(body)
	if err != nil {
		return nil, err
	}
	_, typed, err := h.d.ParseRequest(req)
	if err != nil {
		return nil, err
	}
	rep := iso.Reply{Code: iso.CodeApproved, HostTime: time.Now(), AuthCode: "AP0001",
		RRN: iso.RRN(fmt.Sprintf("%012d", h.rrn.Add(1)))}
	var resp iso.Response
	switch r := typed.(type) {
	case iso.SaleRequest:
		if h.keep {
			h.mu.Lock()
			h.kept = append(h.kept, bytes.Clone(body))
			h.mu.Unlock()
		}
		resp = iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}
	case iso.SignOnRequest:
		resp = iso.SignOnResponse{Reply: rep, Batch: 1, Keys: h.keys}
	case iso.SignOffRequest, iso.EchoRequest:
		resp = iso.NetworkResponse{Reply: rep, Of: r.Kind()}
	default:
		return nil, fmt.Errorf("no answer for %T", r)
	}
	reply, err := h.d.BuildResponse(req, resp)
	if err != nil {
		return nil, err
	}
	return h.d.Encode(reply, h.mac)
}

func (h *benchHost) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil && !h.closed {
		h.err = err
	}
}

func (h *benchHost) sales() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.kept)
}

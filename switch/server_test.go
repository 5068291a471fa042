package isoswitch_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// keyring is a KeyStore: the MAK each terminal's sign-on issued.
type keyring struct {
	mu   sync.Mutex
	keys map[iso.TerminalID][]byte
}

func (k *keyring) MAK(tid iso.TerminalID) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, ok := k.keys[tid]
	return m, ok
}

// approver approves everything, issues keys at sign-on, and counts MACs it
// saw verify.
type approver struct {
	d         iso.Dialect
	keys      *keyring
	macsValid atomic.Int64
	macsBad   atomic.Int64
}

func (a *approver) ServeISO(_ context.Context, c *isoswitch.Call) (iso.Response, error) {
	if c.HasMAC {
		if !c.MACValid {
			a.macsBad.Add(1)
			return decline(c.Request, iso.CodeMACError), nil
		}
		a.macsValid.Add(1)
	}
	rep := iso.Reply{Code: "00", HostTime: time.Now(), RRN: nextRRN(), AuthCode: "SRV001"}
	switch r := c.Request.(type) {
	case iso.SignOnRequest:
		pik, _ := iso.WrapKey(testTMK, testPIK)
		mak, _ := iso.WrapKey(testTMK, testMAKFor(a.d))
		a.keys.mu.Lock()
		a.keys.keys[c.Envelope.Terminal] = testMAKFor(a.d)
		a.keys.mu.Unlock()
		return iso.SignOnResponse{Reply: rep, Batch: 1, Keys: iso.SignOnKeys{PIK: pik, MAK: mak}}, nil
	case iso.SaleRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}, nil
	case iso.ReversalRequest:
		return iso.ReversalResponse{Reply: rep}, nil
	case iso.EchoRequest, iso.SignOffRequest:
		return iso.NetworkResponse{Reply: rep, Of: r.Kind()}, nil
	}
	return decline(c.Request, iso.CodeInvalidTxn), nil
}

func decline(r iso.Request, code iso.ResponseCode) iso.Response {
	rep := iso.Reply{Code: code}
	switch r.Kind() {
	case iso.KindSignOn:
		return iso.SignOnResponse{Reply: rep}
	case iso.KindReversal:
		return iso.ReversalResponse{Reply: rep}
	}
	return iso.FinancialResponse{Reply: rep, Of: r.Kind()}
}

func startServer(t *testing.T, d iso.Dialect, h isoswitch.Handler, keys isoswitch.KeyStore, tune func(*isoswitch.Server)) (*isoswitch.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &isoswitch.Server{Dialect: d, Handler: h, Keys: keys}
	if tune != nil {
		tune(s)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-served; !errors.Is(err, isoswitch.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, ln.Addr().String()
}

// TestServerServesTheTerminal: a Terminal signs on and sells against a
// Server; the host verifies the terminal's MACs and signs its approvals.
func TestServerServesTheTerminal(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			a := &approver{d: d, keys: &keyring{keys: map[iso.TerminalID][]byte{}}}
			_, addr := startServer(t, d, a, a.keys, nil)
			h := &scriptedHost{d: d, addr: addr}
			term, _ := newTerminal(t, h)
			for range 3 {
				if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
					t.Fatal(err)
				}
			}
			if a.macsValid.Load() != 3 || a.macsBad.Load() != 0 {
				t.Errorf("MACs verified %d, bad %d", a.macsValid.Load(), a.macsBad.Load())
			}
		})
	}
}

// TestServerRefusesABadMAC: a request MACed under another key is answered
// A0 by the Server itself and never reaches the handler; a Permissive
// server hands it over marked invalid instead.
func TestServerRefusesABadMAC(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	for _, permissive := range []bool{false, true} {
		a := &approver{d: d, keys: &keyring{keys: map[iso.TerminalID][]byte{}}}
		wrongKeys := &keyring{keys: map[iso.TerminalID][]byte{"TERM0001": testPIK[:8]}}
		srv, addr := startServer(t, d, a, wrongKeys, func(s *isoswitch.Server) { s.Permissive = permissive })
		term, _ := newTerminal(t, &scriptedHost{d: d, addr: addr})
		_, err := term.Sale(ctx5(t), "01", cny10, visa)
		var de *isoswitch.DeclinedError
		if !errors.As(err, &de) || de.Code != iso.CodeMACError {
			t.Fatalf("permissive %v: err = %v", permissive, err)
		}
		wantHandler, wantServer := int64(0), uint64(1)
		if permissive {
			wantHandler, wantServer = 1, 0
		}
		if a.macsBad.Load() != wantHandler || srv.Stats().BadMAC != wantServer {
			t.Errorf("permissive %v: handler saw %d bad MACs, server refused %d", permissive, a.macsBad.Load(), srv.Stats().BadMAC)
		}
	}
}

// TestServerMalformedInput: bytes that do not decode close the connection;
// a message no request kind matches gets a format error (30).
func TestServerMalformedInput(t *testing.T) {
	d := dialectsUnderTest(t)["iso87"]
	srv, addr := startServer(t, d, &approver{d: d, keys: &keyring{keys: map[iso.TerminalID][]byte{}}}, nil, nil)

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d.Framing().WriteFrame(c, d.Frame([]byte("this is not an ISO message")))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("garbage: read %v, want the connection closed", err)
	}
	if st := srv.Stats(); st.Dropped != 1 {
		t.Errorf("stats %+v, want one dropped connection", st)
	}

	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	odd := iso.NewMessage("0600")
	odd.Set(11, "000123")
	odd.Set(41, "TERM0001")
	body, err := d.Encode(odd, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Framing().WriteFrame(c2, d.Frame(body))
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr, err := d.Framing().ReadFrame(c2)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := d.Decode(fr.Body)
	if err != nil || reply.MTI != "0610" || reply.Value(39) != "30" || reply.Value(11) != "000123" {
		t.Errorf("reply %v (%v)", reply, err)
	}
}

// TestServerLimitsAndTimeouts: connections beyond MaxConns are closed at
// once; an idle connection is closed after IdleTimeout.
func TestServerLimitsAndTimeouts(t *testing.T) {
	d := dialectsUnderTest(t)["iso87"]
	_, addr := startServer(t, d, &approver{d: d, keys: &keyring{keys: map[iso.TerminalID][]byte{}}}, nil, func(s *isoswitch.Server) {
		s.MaxConns, s.IdleTimeout = 1, 200*time.Millisecond
	})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	time.Sleep(50 * time.Millisecond) // let the server take the first
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := second.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("second connection: %v, want closed", err)
	}
	start := time.Now()
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); !errors.Is(err, io.EOF) || time.Since(start) > 3*time.Second {
		t.Errorf("idle connection: %v after %s", err, time.Since(start))
	}
}

// TestServerRefusesAnUnknownTerminal: with Terminals set, a terminal that
// is not registered cannot even sign on: CUP 97 "terminal not registered",
// ISO87 03 "invalid merchant"; the handler never sees it.
func TestServerRefusesAnUnknownTerminal(t *testing.T) {
	want := map[string]iso.ResponseCode{"cup": iso.CodeTerminalNotRegistered, "iso87": iso.CodeInvalidMerchant, "iso87_h2h": iso.CodeInvalidMerchant}
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			a := &approver{keys: &keyring{keys: map[iso.TerminalID][]byte{}}}
			srv, addr := startServer(t, d, a, a.keys, func(s *isoswitch.Server) {
				s.Terminals = isoswitch.TerminalSet{"TERM0002": true}
			})
			term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: addr, Terminal: "TERM0001",
				Merchant: "898310048161234", MasterKey: testTMK, Journal: openJournal(t)}, isoswitch.WithTimeout(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer term.Close()
			err = term.Start(ctx5(t), "01")
			var de *isoswitch.DeclinedError
			if !errors.As(err, &de) || de.Code != want[name] {
				t.Fatalf("start: %v, want declined %s", err, want[name])
			}
			if n := len(a.keys.keys); n != 0 || srv.Stats().UnknownTerminal != 1 {
				t.Errorf("keys issued %d, stats %+v", n, srv.Stats())
			}
		})
	}
}

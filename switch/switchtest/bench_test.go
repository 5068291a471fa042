package switchtest_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	moovserver "github.com/moov-io/iso8583-connection/server"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// BenchmarkServerThroughput: conns concurrent clients on 127.0.0.1, each
// on its own connection and terminal ID, each sending approved ISO87 sales
// (the published test PAN 4111111111111111, keyed in) one at a time. The
// client is the same for every path: it signs on once (outside the timer),
// unwraps the MAK from the reply under the TMK, pre-encodes its share of
// b.N sales (distinct STANs, MACed under that MAK), then, timed, writes
// each frame in one Write and reads one reply frame. Only the server
// differs:
//
//	path=switchtest  switchtest.Start: isoswitch.Server with the host's
//	                 ledger (one lock; duplicate check, RRN and auth code,
//	                 the transaction recorded) and its fault Intercept
//	                 (no faults set)
//	path=server      isoswitch.Server with benchApprover, a Handler that
//	                 approves every sale (RRN and auth code formatted as
//	                 the host does) and a KeyStore giving one fixed MAK
//	path=moov        moov-io/iso8583-connection v0.9.0 server.Server on
//	                 iso.SpecOf(d) with a 2-byte length; its inbound
//	                 handler does the same work as path=server with the
//	                 same benchApprover (see benchMoovHost)
//
// Reported: sales/s over the timed section, and the p50 and p99 of each
// request's write-to-reply time. B/op and allocs/op count the clients and
// the server together (one process).
func BenchmarkServerThroughput(b *testing.B) {
	d, err := iso87.New()
	if err != nil {
		b.Fatal(err)
	}
	paths := []struct {
		name  string
		start func(testing.TB, iso.Dialect) (addr string, tmk []byte)
	}{
		{"switchtest", benchStartSwitchtest},
		{"server", benchStartServer},
		{"moov", benchStartMoov},
	}
	for _, conns := range []int{16, 64} {
		for _, p := range paths {
			b.Run(fmt.Sprintf("conns=%d/path=%s", conns, p.name), func(b *testing.B) {
				addr, tmk := p.start(b, d)
				clients := make([]*benchClient, conns)
				for i := range clients {
					n := b.N / conns
					if i < b.N%conns {
						n++
					}
					clients[i] = benchNewClient(b, d, addr, tmk, iso.TerminalID(fmt.Sprintf("TERM%04d", i+1)), n)
				}
				b.ReportAllocs()
				b.ResetTimer()
				var wg sync.WaitGroup
				for _, c := range clients {
					wg.Go(c.run)
				}
				wg.Wait()
				b.StopTimer()
				var lat []time.Duration
				for _, c := range clients {
					if err := c.check(); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, c.lat...)
				}
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sales/s")
				b.ReportMetric(float64(benchPercentile(lat, 50))/1e3, "p50-µs")
				b.ReportMetric(float64(benchPercentile(lat, 99))/1e3, "p99-µs")
			})
		}
	}
}

func benchPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

// Published test card numbers only.
var (
	benchCard     = iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	benchTime     = time.Date(2026, 3, 14, 10, 30, 15, 0, time.Local)
	benchMerchant = iso.MerchantID("898310048161234")
)

// benchClient is one terminal's connection: pre-encoded sale frames, sent
// one at a time, each reply read whole before the next is written.
type benchClient struct {
	d      iso.Dialect
	nc     net.Conn
	br     *bufio.Reader
	mac    iso.MAC
	frames [][]byte
	lat    []time.Duration
	last   []byte // the last reply body
	err    error
}

// benchNewClient connects, signs on as tid, unwraps the MAK under tmk and
// encodes n sales (STAN 2 onwards, batch 1) MACed under it.
func benchNewClient(tb testing.TB, d iso.Dialect, addr string, tmk []byte, tid iso.TerminalID, n int) *benchClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	c := &benchClient{d: d, nc: nc, br: bufio.NewReader(nc)}
	env := iso.Envelope{Terminal: tid, Merchant: benchMerchant, STAN: 1, Batch: 1, Time: benchTime, Operator: "01"}
	req, err := d.BuildRequest(env, iso.SignOnRequest{Scheme: iso.KeysDoubleDES})
	if err != nil {
		tb.Fatal(err)
	}
	body, err := d.Encode(req, nil)
	if err != nil {
		tb.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := d.Framing().WriteFrame(nc, d.Frame(body)); err != nil {
		tb.Fatal(err)
	}
	fr, err := d.Framing().ReadFrame(c.br)
	if err != nil {
		tb.Fatal(err)
	}
	reply, err := d.Decode(fr.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if err := iso.CheckReply(req, reply, nil); err != nil {
		tb.Fatalf("sign-on reply: %v", err)
	}
	resp, err := d.ParseResponse(req, reply)
	if err != nil {
		tb.Fatal(err)
	}
	so, ok := resp.(iso.SignOnResponse)
	if !ok || !so.Code.Approved() {
		tb.Fatalf("sign-on answered %+v", resp)
	}
	mak, err := iso.UnwrapKey(tmk, so.Keys.MAK)
	if err != nil {
		tb.Fatal(err)
	}
	if c.mac, err = d.NewMAC(mak); err != nil {
		tb.Fatal(err)
	}
	c.frames, c.lat = make([][]byte, n), make([]time.Duration, n)
	for i := range n {
		env.STAN = iso.STAN(i + 2)
		m, err := d.BuildRequest(env, iso.SaleRequest{Amount: iso.Amount{Minor: 1000 + 10*int64(i%90), Currency: iso.CNY}, Card: benchCard})
		if err != nil {
			tb.Fatal(err)
		}
		body, err := d.Encode(m, c.mac)
		if err != nil {
			tb.Fatal(err)
		}
		if c.frames[i], err = d.Framing().AppendFrame(nil, d.Frame(body)); err != nil {
			tb.Fatal(err)
		}
	}
	// A server that stops answering fails the run instead of hanging it.
	nc.SetDeadline(time.Now().Add(5 * time.Minute))
	return c
}

func (c *benchClient) run() {
	framing := c.d.Framing()
	for i, f := range c.frames {
		t0 := time.Now()
		if _, err := c.nc.Write(f); err != nil {
			c.err = err
			return
		}
		fr, err := framing.ReadFrame(c.br)
		c.lat[i] = time.Since(t0)
		if err != nil {
			c.err = err
			return
		}
		c.last = fr.Body
	}
}

// check verifies, after the timer, that the last reply answers the last
// request: MTI, STAN and terminal echoed, MAC valid, approved.
func (c *benchClient) check() error {
	if c.err != nil || len(c.frames) == 0 {
		return c.err
	}
	fr, err := c.d.Framing().ParseFrame(c.frames[len(c.frames)-1])
	if err != nil {
		return err
	}
	req, err := c.d.Decode(fr.Body)
	if err != nil {
		return err
	}
	reply, err := c.d.Decode(c.last)
	if err != nil {
		return err
	}
	if err := iso.CheckReply(req, reply, c.mac); err != nil {
		return fmt.Errorf("last reply: %w", err)
	}
	if code := reply.Value(39); code != string(iso.CodeApproved) {
		return fmt.Errorf("last reply: code %q", code)
	}
	return nil
}

// benchStartSwitchtest is the switchtest host: keys issued at sign-on, the
// ledger, the fault hook.
func benchStartSwitchtest(tb testing.TB, d iso.Dialect) (string, []byte) {
	h, err := switchtest.Start(d)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	return h.Addr, h.TMK
}

// benchStartServer is isoswitch.Server with benchApprover.
func benchStartServer(tb testing.TB, d iso.Dialect) (string, []byte) {
	a := benchNewApprover(tb, d)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &isoswitch.Server{Dialect: d, Handler: a, Keys: a, IdleTimeout: time.Minute, ReadTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, isoswitch.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String(), switchtest.DefaultTMK
}

// benchApprover approves every sale and answers sign-on with one fixed
// MAK (wrapped under DefaultTMK); it is also the KeyStore. Its reply
// fields are the host's: a 12-digit RRN and an auth code from a counter,
// both formatted, and the host time.
type benchApprover struct {
	keys iso.SignOnKeys
	mak  []byte
	seq  atomic.Int64
}

func benchNewApprover(tb testing.TB, d iso.Dialect) *benchApprover {
	a := &benchApprover{mak: []byte("0123456789abcdef")}
	pik, err := iso.WrapKey(switchtest.DefaultTMK, []byte("fedcba9876543210"))
	if err != nil {
		tb.Fatal(err)
	}
	mak, err := iso.WrapKey(switchtest.DefaultTMK, a.mak)
	if err != nil {
		tb.Fatal(err)
	}
	a.keys = iso.SignOnKeys{PIK: pik, MAK: mak}
	return a
}

func (a *benchApprover) MAK(iso.TerminalID) ([]byte, bool) { return a.mak, true }

func (a *benchApprover) ServeISO(_ context.Context, c *isoswitch.Call) (iso.Response, error) {
	if c.HasMAC && !c.MACValid {
		return iso.FinancialResponse{Reply: iso.Reply{Code: iso.CodeMACError, HostTime: time.Now()}, Of: c.Request.Kind()}, nil
	}
	rep := iso.Reply{Code: iso.CodeApproved, HostTime: time.Now(), RRN: iso.RRN(fmt.Sprintf("%012d", a.seq.Add(1))),
		AuthCode: iso.AuthCode(fmt.Sprintf("H%05d", a.seq.Add(1)%100000))}
	switch r := c.Request.(type) {
	case iso.SignOnRequest:
		return iso.SignOnResponse{Reply: rep, Batch: 1, Keys: a.keys}, nil
	case iso.SaleRequest:
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}, nil
	}
	return iso.FinancialResponse{Reply: iso.Reply{Code: iso.CodeInvalidTxn, HostTime: time.Now()}, Of: c.Request.Kind()}, nil
}

// benchAnswer is what isoswitch.Server does with a decoded request
// between reading it and framing the reply (Server.answer, less its format
// error reply): parse, verify the MAC under the terminal's key, ask the
// handler, build the response, encode it with the MAC.
func benchAnswer(d iso.Dialect, h isoswitch.Handler, keys isoswitch.KeyStore, m *iso.Message) ([]byte, error) {
	env, req, err := d.ParseRequest(m)
	if err != nil {
		return nil, err
	}
	call := &isoswitch.Call{Envelope: env, Request: req, Message: m}
	mak, haveKey := keys.MAK(env.Terminal)
	if call.HasMAC = m.Has(64) || m.Has(128); call.HasMAC && haveKey {
		mac, err := d.NewMAC(mak)
		if err != nil {
			return nil, err
		}
		call.MACValid = iso.VerifyMessageMAC(m, mac) == nil
	}
	resp, err := h.ServeISO(context.Background(), call)
	if err != nil {
		return nil, err
	}
	reply, err := d.BuildResponse(m, resp)
	if err != nil {
		return nil, err
	}
	mak, haveKey = keys.MAK(env.Terminal)
	var mac iso.MAC
	if haveKey {
		if mac, err = d.NewMAC(mak); err != nil {
			return nil, err
		}
	}
	return d.Encode(reply, mac)
}

// benchStartMoov is moov's server.Server on the dialect's spec. Per
// request, moov reads the 2-byte length and the body, unpacks it into an
// iso8583.Message and calls the inbound handler in a new goroutine; the
// handler packs that message back to bytes (the only way to reach the
// wire form from moov's message), decodes it with the dialect, runs
// benchAnswer with the same benchApprover as path=server, unpacks the
// reply bytes into an iso8583.Message and hands it to Connection.Reply,
// whose write loop packs it and writes the length and the body.
func benchStartMoov(tb testing.TB, d iso.Dialect) (string, []byte) {
	spec, ok := iso.SpecOf(d)
	if !ok {
		tb.Fatalf("no moov spec for %s", d.Name())
	}
	if f := d.Framing(); f != (iso.Framing{Prefix: iso.LengthBinary2}) {
		tb.Fatalf("framing %+v is not a bare 2-byte length", f)
	}
	a := benchNewApprover(tb, d)
	var failed atomic.Pointer[error]
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }
	handle := func(c *connection.Connection, msg *iso8583.Message) {
		raw, err := msg.Pack()
		if err != nil {
			fail(err)
			return
		}
		m, err := d.Decode(raw)
		if err != nil {
			fail(err)
			return
		}
		body, err := benchAnswer(d, a, a, m)
		if err != nil {
			fail(err)
			return
		}
		reply := iso8583.NewMessage(spec)
		if err := reply.Unpack(body); err != nil {
			fail(err)
			return
		}
		if err := c.Reply(reply); err != nil {
			fail(err)
		}
	}
	srv := moovserver.New(spec, benchReadLength, benchWriteLength, connection.InboundMessageHandler(handle))
	if err := srv.Start("127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		srv.Close()
		if err := failed.Load(); err != nil {
			tb.Errorf("moov handler: %v", *err)
		}
	})
	return srv.Addr, switchtest.DefaultTMK
}

func benchReadLength(r io.Reader) (int, error) {
	var p [2]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(p[:])), nil
}

func benchWriteLength(w io.Writer, n int) (int, error) {
	if n > 0xFFFF {
		return 0, fmt.Errorf("message of %d bytes does not fit a 2-byte length", n)
	}
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(n))
	return w.Write(p[:])
}

// TestBenchServerPathsAgree: the three servers of BenchmarkServerThroughput
// approve the same client's sales, with MACs the client verifies, and the
// switchtest host records every one as an approved sale.
func TestBenchServerPathsAgree(t *testing.T) {
	d, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name  string
		start func(testing.TB, iso.Dialect) (string, []byte)
	}{{"switchtest", benchStartSwitchtest}, {"server", benchStartServer}, {"moov", benchStartMoov}} {
		t.Run(p.name, func(t *testing.T) {
			addr, tmk := p.start(t, d)
			var wg sync.WaitGroup
			cs := []*benchClient{benchNewClient(t, d, addr, tmk, "TERM0001", 5), benchNewClient(t, d, addr, tmk, "TERM0002", 5)}
			for _, c := range cs {
				wg.Go(c.run)
			}
			wg.Wait()
			for _, c := range cs {
				if err := c.check(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	t.Run("switchtest-ledger", func(t *testing.T) {
		h := switchtest.NewHost(t, d)
		c := benchNewClient(t, d, h.Addr, h.TMK, "TERM0003", 7)
		c.run()
		if err := c.check(); err != nil {
			t.Fatal(err)
		}
		txns := h.Transactions()
		if len(txns) != 7 {
			t.Fatalf("ledger holds %d sales, want 7", len(txns))
		}
		for _, x := range txns {
			if x.State != switchtest.Approved || x.Kind != iso.KindSale {
				t.Errorf("ledger: %+v", x)
			}
		}
	})
}

package isoswitch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// BenchmarkSaleRoundTrip puts a number on what a durable, checked sale costs
// beside the bare transport. One ISO87 sale (the published test PAN
// 4111111111111111, CNY 10.00) makes a round trip on loopback to an
// in-process host, through four clients, measured side by side in one run:
//
//	path=terminal-fsync   Terminal.Sale on a signed-on, persistent Terminal
//	                      whose journal fsyncs (the production setting):
//	                      journal Prepare (builds the request), Encode with
//	                      MAC, send, reply match, CheckReply (MAC verify),
//	                      ParseResponse, journal Approve
//	path=terminal-nosync  the same with reversal.WithNoSync() (simulators)
//	path=moov-send        iso8583-connection's Send of the same sale, built
//	                      once and unpacked into an iso8583.Message on the
//	                      dialect's own spec (iso.SpecOf), so Send's Pack
//	                      writes the same bytes; the reply is unpacked by
//	                      moov's default reader
//	path=raw-tcp          a net.Conn writing the same length-prefixed frame
//	                      and reading one reply frame (Framing.ReadFrame
//	                      through a bufio.Reader, as the other clients read)
//
// Every path talks to its own benchHost, which does the same work for every
// request: read a frame, Decode, ParseRequest, BuildResponse (an approval
// with a fresh RRN), Encode with the MAC key the terminal gets at sign-on,
// and one framed write. Only the client side differs.
//
// moov-send uses moov's Send, which the switch itself never calls (see
// hostconn.go: v0.9.0's Send can deadlock when its deadline or its reply
// races a connection failure). Here nothing ever fails or times out — one
// request at a time, each answered well inside the 5 s send timeout, on a
// connection closed only after the last Send returned — so that race
// cannot happen.
func BenchmarkSaleRoundTrip(b *testing.B) {
	d, err := iso87.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	terminal := func(opts ...reversal.Option) func(b *testing.B) {
		return func(b *testing.B) {
			term := benchTerminal(b, benchStartHost(b, d, false), filepath.Join(b.TempDir(), "journal.db"), opts...)
			b.ReportAllocs()
			for b.Loop() {
				res, err := term.Sale(ctx, "01", benchAmount, benchCard)
				if err != nil || res.Code != iso.CodeApproved {
					b.Fatalf("sale: %v (code %q)", err, res.Code)
				}
			}
		}
	}
	b.Run("path=terminal-fsync", terminal())
	b.Run("path=terminal-nosync", terminal(reversal.WithNoSync()))
	b.Run("path=moov-send", func(b *testing.B) {
		h := benchStartHost(b, d, false)
		conn, msg := benchMoovConn(b, h), benchMoovSale(b, d)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := conn.Send(msg); err != nil {
				b.Fatalf("send: %v", err)
			}
		}
	})
	b.Run("path=raw-tcp", func(b *testing.B) {
		h := benchStartHost(b, d, false)
		nc, br := benchDial(b, h)
		frame := benchSaleFrame(b, d)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nc.Write(frame); err != nil {
				b.Fatalf("write: %v", err)
			}
			if _, err := d.Framing().ReadFrame(br); err != nil {
				b.Fatalf("read: %v", err)
			}
		}
	})
}

// BenchmarkSaleJournalSize is Terminal.Sale (the terminal-fsync and
// terminal-nosync paths of BenchmarkSaleRoundTrip) on a journal that already
// holds `records` approved sales, written before the timer starts. Run it
// with a fixed -benchtime Nx: the journal grows by one record per sale, so
// with a time-based benchtime the journal size, and with it the figure,
// would depend on how many sales fit in the time.
func BenchmarkSaleJournalSize(b *testing.B) {
	d, err := iso87.New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, records := range []int{0, 1000, 5000} {
		for _, nosync := range []bool{false, true} {
			name, opts := "fsync", []reversal.Option(nil)
			if nosync {
				name, opts = "nosync", []reversal.Option{reversal.WithNoSync()}
			}
			b.Run(fmt.Sprintf("records=%d/path=terminal-%s", records, name), func(b *testing.B) {
				path := benchFilledJournal(b, d, records)
				term := benchTerminal(b, benchStartHost(b, d, false), path, opts...)
				b.ReportAllocs()
				for b.Loop() {
					res, err := term.Sale(ctx, "01", benchAmount, benchCard)
					if err != nil || res.Code != iso.CodeApproved {
						b.Fatalf("sale: %v (code %q)", err, res.Code)
					}
				}
			})
		}
	}
}

// benchFilledJournal writes a journal holding n approved ISO87 sales (each
// its own STAN and RRN), written without fsync and flushed once at the
// end, closes it and returns its path.
func benchFilledJournal(tb testing.TB, d iso.Dialect, n int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "journal.db")
	j, err := reversal.Open(path, reversal.WithNoSync())
	if err != nil {
		tb.Fatal(err)
	}
	in := reversal.Intent{Kind: iso.KindSale, Operator: "01", Amount: benchAmount, PAN: benchCard.Account()}
	build := func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
		m, err := d.BuildRequest(iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan,
			Batch: batch, Time: benchTime, Operator: "01"}, iso.SaleRequest{Amount: benchAmount, Card: benchCard})
		if err != nil {
			return nil, 0, err
		}
		rec, err := d.Recovery(m)
		return m, rec, err
	}
	fill := func() error {
		for i := range n {
			r, _, err := j.Prepare(in, build)
			if err != nil {
				return err
			}
			if _, err := j.Approve(r.ID, reversal.Outcome{Code: iso.CodeApproved, RRN: iso.RRN(fmt.Sprintf("9%011d", i)),
				AuthCode: "AP0001", HostTime: benchTime, Amount: benchAmount}); err != nil {
				return err
			}
		}
		return nil
	}
	err = fill()
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = benchSyncFile(path)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// benchSyncFile flushes a file written without fsync, so that the first
// fsynced commit of the benchmark does not pay for the whole fill.
func benchSyncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestBenchSalePathsAgree checks that the four paths of
// BenchmarkSaleRoundTrip send the same sale: moov's Pack and the raw frame
// carry the pre-built body byte for byte, and the terminal's own sale has
// the same fields and length (only its STAN and times differ). Every path
// must get an approval back.
func TestBenchSalePathsAgree(t *testing.T) {
	d, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	want := benchSaleBody(t, d)
	wantMsg, err := d.Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	check := func(path string, h *benchHost, exact bool) {
		t.Helper()
		got := h.sales()
		if len(got) != 1 {
			t.Fatalf("%s: host saw %d sales, want 1", path, len(got))
		}
		m, err := d.Decode(got[0])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case exact && !bytes.Equal(got[0], want):
			t.Errorf("%s sent\n%x\nwant\n%x", path, got[0], want)
		case len(got[0]) != len(want) || !slices.Equal(m.IDs(), wantMsg.IDs()) || m.MTI != wantMsg.MTI:
			t.Errorf("%s sent %s %v (%d bytes), want %s %v (%d bytes)", path, m.MTI, m.IDs(), len(got[0]),
				wantMsg.MTI, wantMsg.IDs(), len(want))
		}
	}

	for _, nosync := range []bool{false, true} {
		var opts []reversal.Option
		if nosync {
			opts = append(opts, reversal.WithNoSync())
		}
		h := benchStartHost(t, d, true)
		term := benchTerminal(t, h, filepath.Join(t.TempDir(), "journal.db"), opts...)
		res, err := term.Sale(ctx5(t), "01", benchAmount, benchCard)
		if err != nil || res.Code != iso.CodeApproved {
			t.Fatalf("terminal (nosync %v): %v (code %q)", nosync, err, res.Code)
		}
		check(fmt.Sprintf("terminal (nosync %v)", nosync), h, false)
	}

	h := benchStartHost(t, d, true)
	reply, err := benchMoovConn(t, h).Send(benchMoovSale(t, d))
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := reply.GetString(39); code != string(iso.CodeApproved) {
		t.Errorf("moov-send: reply code %q", code)
	}
	check("moov-send", h, true)

	h = benchStartHost(t, d, true)
	nc, br := benchDial(t, h)
	if _, err := nc.Write(benchSaleFrame(t, d)); err != nil {
		t.Fatal(err)
	}
	fr, err := d.Framing().ReadFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Decode(fr.Body)
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := d.NewMAC(testMAKFor(d))
	if err := iso.CheckReply(wantMsg, m, mac); err != nil || m.Value(39) != string(iso.CodeApproved) {
		t.Errorf("raw-tcp: reply code %q, check %v", m.Value(39), err)
	}
	check("raw-tcp", h, true)
}

// The sale every path sends: the published Visa test number, keyed in.
var (
	benchCard   = iso.Card{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	benchAmount = iso.Amount{Minor: 1000, Currency: iso.CNY}
	benchTime   = time.Date(2026, 3, 14, 10, 30, 15, 0, time.Local)
)

// benchTerminal starts a signed-on terminal against h with default options
// but a 5 s timeout, on the journal at path (a new one if there is no file).
func benchTerminal(tb testing.TB, h *benchHost, path string, opts ...reversal.Option) *isoswitch.Terminal {
	tb.Helper()
	j, err := reversal.Open(path, append([]reversal.Option{reversal.WithDataKey(testDataKey)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	term, err := isoswitch.New(isoswitch.Config{Dialect: h.d, Addr: h.addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: testTMK, Journal: j}, isoswitch.WithTimeout(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { term.Close() }) // before the journal's Close
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := term.Start(ctx, "01"); err != nil {
		tb.Fatalf("start: %v", err)
	}
	return term
}

// benchSaleBody is the sale as the terminal would encode it (STAN 1,
// batch 1, MAC under testMAK), built once.
func benchSaleBody(tb testing.TB, d iso.Dialect) []byte {
	tb.Helper()
	m, err := d.BuildRequest(iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 1, Batch: 1,
		Time: benchTime, Operator: "01"}, iso.SaleRequest{Amount: benchAmount, Card: benchCard})
	if err != nil {
		tb.Fatal(err)
	}
	mac, err := d.NewMAC(testMAKFor(d))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := d.Encode(m, mac)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// benchSaleFrame is benchSaleBody framed as the terminal writes it.
func benchSaleFrame(tb testing.TB, d iso.Dialect) []byte {
	tb.Helper()
	frame, err := d.Framing().AppendFrame(nil, d.Frame(benchSaleBody(tb, d)))
	if err != nil {
		tb.Fatal(err)
	}
	return frame
}

// benchMoovSale is benchSaleBody unpacked on the dialect's moov spec; it
// fails unless moov packs it back to the same bytes.
func benchMoovSale(tb testing.TB, d iso.Dialect) *iso8583.Message {
	tb.Helper()
	spec, ok := iso.SpecOf(d)
	if !ok {
		tb.Fatalf("no moov spec for %s", d.Name())
	}
	body := benchSaleBody(tb, d)
	msg := iso8583.NewMessage(spec)
	if err := msg.Unpack(body); err != nil {
		tb.Fatal(err)
	}
	packed, err := msg.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	if !bytes.Equal(packed, body) {
		tb.Fatalf("moov packs\n%x\nnot\n%x", packed, body)
	}
	return msg
}

// benchMoovConn connects a bare iso8583-connection to h with the ISO87
// default framing: a 2-byte big-endian length, no TPDU.
func benchMoovConn(tb testing.TB, h *benchHost) *connection.Connection {
	tb.Helper()
	if f := h.d.Framing(); f != (iso.Framing{Prefix: iso.LengthBinary2}) {
		tb.Fatalf("framing %+v is not a bare 2-byte length", f)
	}
	spec, _ := iso.SpecOf(h.d)
	c, err := connection.New(h.addr, spec, benchReadLength, benchWriteLength, connection.SendTimeout(5*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
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

func benchDial(tb testing.TB, h *benchHost) (net.Conn, *bufio.Reader) {
	tb.Helper()
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	return nc, bufio.NewReader(nc)
}

package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
)

// recorder sits between the terminal and the host and keeps every byte the
// terminal sent, one buffer per connection.
type recorder struct {
	ln   net.Listener
	mu   sync.Mutex
	sent []*bytes.Buffer
}

func newRecorder(t *testing.T, hostAddr string) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", hostAddr)
			if err != nil {
				c.Close()
				continue
			}
			buf := &bytes.Buffer{}
			r.mu.Lock()
			r.sent = append(r.sent, buf)
			r.mu.Unlock()
			go func() { io.Copy(c, up); c.Close() }()
			go func() { io.Copy(io.MultiWriter(up, &lockedWriter{&r.mu, buf}), c); up.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// frames splits what the terminal sent into frames.
func (r *recorder) frames(t *testing.T, f iso.Framing) []iso.Frame {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []iso.Frame
	for _, b := range r.sent {
		rd := bytes.NewReader(b.Bytes())
		for rd.Len() > 0 {
			fr, err := f.ReadFrame(rd)
			if err != nil {
				t.Fatalf("terminal sent a frame the framing cannot read: %v", err)
			}
			out = append(out, fr)
		}
	}
	return out
}

// TestACMESaleAndSettlement runs the example against the ACME simulator and
// reads the wire: every request carries ACME's header and the operator id in
// F63 with an ASCII length; the sale and the settlement were approved.
func TestACMESaleAndSettlement(t *testing.T) {
	var rec *recorder
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := run(ctx, &out, func(addr string) string {
		rec = newRecorder(t, addr)
		return rec.ln.Addr().String()
	}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "sale 620000******0005: 00") || !strings.Contains(got, "settled batch 000001: balanced") {
		t.Fatalf("output:\n%s", got)
	}

	d, err := NewACME()
	if err != nil {
		t.Fatal(err)
	}
	// ACME's header, as wuxinxi/unionpay sends it: 61 31 00 31 30 31.
	wantHeader := []byte{0x61, 0x31, 0x00, 0x31, 0x30, 0x31}
	var mtis []string
	for _, fr := range rec.frames(t, d.Framing()) {
		if !bytes.Equal(fr.Header, wantHeader) {
			t.Errorf("header % X, want % X", fr.Header, wantHeader)
		}
		m, err := d.Decode(fr.Body)
		if err != nil {
			t.Fatalf("decode request: %v", err)
		}
		mtis = append(mtis, m.MTI)
		op := "01 "
		if m.MTI == "0500" || m.MTI == "0320" {
			op = "00 " // the supervisor settles (0500, then CUP's upload end)
		}
		if got := m.Value(63); got != op {
			t.Errorf("%s F63 = %q, want %q", m.MTI, got, op)
		}
		// F63 on the wire: ASCII "003" then the operator id (CUP's own F63
		// would have a BCD length, 00 03). A sale ends with F63 and then
		// the 8-byte MAC of F64; a settlement and an upload end end with F63.
		wire := append([]byte("003"), op...)
		end := fr.Body
		if m.MTI == "0200" {
			end = end[:len(end)-8]
		}
		if !bytes.HasSuffix(end, wire) {
			t.Errorf("%s does not end with F63 % X: % X", m.MTI, wire, fr.Body)
		}
	}
	for _, want := range []string{"0800", "0200", "0500"} {
		if !slices.Contains(mtis, want) {
			t.Errorf("no %s on the wire (sent %v)", want, mtis)
		}
	}
}

// TestACMEHostRules: the simulator built from the variant refuses a
// request without F63 and answers an unknown terminal with ACME's code.
func TestACMEHostRules(t *testing.T) {
	acme, err := NewACME()
	if err != nil {
		t.Fatal(err)
	}
	cupD, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	sale := iso.SaleRequest{}
	if got := acme.(iso.HostRules).MandatoryFields(sale); !slices.Contains(got, 63) {
		t.Errorf("ACME sale mandatory fields %v lack 63", got)
	}
	if got := cupD.(iso.HostRules).MandatoryFields(sale); slices.Contains(got, 63) {
		t.Errorf("plain CUP sale mandatory fields %v have 63", got)
	}
	if got := acme.(iso.HostRules).RefusalCode(iso.RefuseUnknownTerminal); got != "03" {
		t.Errorf("ACME unknown terminal: %s, want 03", got)
	}
	if got := cupD.(iso.HostRules).RefusalCode(iso.RefuseUnknownTerminal); got != "97" {
		t.Errorf("CUP unknown terminal: %s, want 97", got)
	}
}

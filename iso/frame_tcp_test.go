package iso

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestFrameTCP sends 100 frames over a real loopback connection, where
// reads return arbitrary chunks, and checks they arrive intact and that the
// writer's close shows up as a clean io.EOF.
func TestFrameTCP(t *testing.T) {
	f := Framing{TPDU: true, HeaderLen: 6}
	const n = 100
	body := func(i int) []byte {
		return []byte(fmt.Sprintf("0200%04d%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i*37)))
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	writeErr := make(chan error, 1)
	go func() {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			writeErr <- err
			return
		}
		defer conn.Close()
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for i := range n {
			fr := Frame{TPDU: testTPDU, Header: testHeader, Body: body(i)}
			if err := f.WriteFrame(conn, fr); err != nil {
				writeErr <- fmt.Errorf("frame %d: %w", i, err)
				return
			}
		}
		writeErr <- nil
	}()

	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fr, err := f.ReadFrame(conn)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if fr.TPDU != testTPDU || !bytes.Equal(fr.Header, testHeader) || !bytes.Equal(fr.Body, body(i)) {
			t.Fatalf("frame %d differs: %v % X %q", i, fr.TPDU, fr.Header, fr.Body)
		}
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if _, err := f.ReadFrame(conn); err != io.EOF {
		t.Fatalf("after peer close: err = %v, want io.EOF", err)
	}
}

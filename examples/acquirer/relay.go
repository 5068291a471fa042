package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// relay sits between the terminals and the in-process host and logs every
// frame that crosses it, decoded and masked. It exists because switchtest
// offers no hook that sees each exchange: the server's Intercept is taken
// by fault injection and the server logs only errors. Bytes are forwarded
// unchanged, so what the terminal sees — faults included (a dropped reply,
// a garbled one, a closed connection) — is exactly what the host sent; the
// log is read from a copy of the bytes on their way through.
type relay struct {
	ln      net.Listener
	backend string // the host's own address
	d       iso.Dialect
	log     *slog.Logger

	next   atomic.Int64 // connection numbers, for reading the log
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newRelay(ln net.Listener, backend string, d iso.Dialect, log *slog.Logger) *relay {
	return &relay{ln: ln, backend: backend, d: d, log: log, conns: map[net.Conn]struct{}{}}
}

// serve accepts terminals until close; it returns nil after close and the
// listener's error otherwise.
func (r *relay) serve() error {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				return nil
			}
			return err
		}
		r.mu.Lock() // Add under the lock close takes first: never after its Wait began
		if r.closed {
			r.mu.Unlock()
			c.Close()
			return nil
		}
		r.wg.Add(1)
		r.mu.Unlock()
		go func() {
			defer r.wg.Done()
			r.pipe(c)
		}()
	}
}

// close stops accepting, closes every connection and waits for their
// goroutines, so nothing logs after it returns.
func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.ln.Close()
	r.wg.Wait()
}

// track registers connections for close; false if the relay is closing.
func (r *relay) track(cs ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	for _, c := range cs {
		r.conns[c] = struct{}{}
	}
	return true
}

func (r *relay) untrack(cs ...net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		delete(r.conns, c)
		c.Close()
	}
}

// pipe joins one terminal to its own connection at the host. When either
// side closes, both are closed: a host closing before its reply (a fault)
// must look the same to the terminal as it would without the relay.
func (r *relay) pipe(client net.Conn) {
	id := r.next.Add(1)
	back, err := net.DialTimeout("tcp", r.backend, 5*time.Second)
	if err != nil {
		r.log.Error("host unreachable; closing terminal connection", "conn", id, "err", err)
		client.Close()
		return
	}
	if !r.track(client, back) {
		client.Close()
		back.Close()
		return
	}
	defer r.untrack(client, back)
	r.log.Info("terminal connected", "conn", id, "remote", client.RemoteAddr().String())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.copy(back, client, id, "request")
		back.Close()
		client.Close()
	}()
	go func() {
		defer wg.Done()
		r.copy(client, back, id, "reply")
		client.Close()
		back.Close()
	}()
	wg.Wait()
	r.log.Info("connection closed", "conn", id)
}

// copy forwards src to dst, logging each frame as its last byte passes,
// before that byte is forwarded: a request is always logged before its
// reply can exist.
func (r *relay) copy(dst, src net.Conn, id int64, dir string) {
	io.Copy(dst, io.TeeReader(src, &tap{r: r, id: id, dir: dir}))
}

// tap collects the bytes going one way and logs each complete frame. A
// stream that stops making sense as frames is no longer logged; the bytes
// are forwarded all the same.
type tap struct {
	r      *relay
	id     int64
	dir    string
	buf    []byte
	broken bool
}

func (t *tap) Write(p []byte) (int, error) {
	if t.broken {
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	for len(t.buf) > 0 {
		rd := bytes.NewReader(t.buf)
		fr, err := t.r.d.Framing().ReadFrame(rd)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return len(p), nil // the rest of the frame is still to come
		}
		if err != nil {
			t.r.log.Warn("stream no longer reads as frames; not logging it", "conn", t.id, "dir", t.dir, "err", err)
			t.broken, t.buf = true, nil
			return len(p), nil
		}
		t.buf = t.buf[len(t.buf)-rd.Len():]
		t.log(fr)
	}
	return len(p), nil
}

func (t *tap) log(fr iso.Frame) {
	d := t.r.d
	m, err := d.Decode(fr.Body)
	if err != nil {
		t.r.log.Warn(t.dir+" undecodable", "conn", t.id, "bytes", len(fr.Body), "err", err)
		return
	}
	attrs := []any{"conn", t.id}
	if t.dir == "request" {
		if _, req, err := d.ParseRequest(m); err == nil {
			attrs = append(attrs, "kind", req.Kind().String())
		}
	}
	t.r.log.Info(t.dir, append(attrs, "iso", m)...)
}

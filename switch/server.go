package isoswitch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// Call is one request as a host receives it.
type Call struct {
	Envelope iso.Envelope
	Request  iso.Request  // typed
	Message  *iso.Message // as decoded, raw bytes kept
	Frame    iso.Frame    // TPDU and header as received
	// MACValid is true when the request carried a MAC that verified under
	// the terminal's key, false when it carried none or a bad one (the
	// handler decides: CUP hosts answer A0).
	MACValid bool
	HasMAC   bool
}

// Handler answers calls. A nil response with a nil error sends nothing (a
// host that drops the request). It must be safe for concurrent use.
type Handler interface {
	ServeISO(ctx context.Context, c *Call) (iso.Response, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Call) (iso.Response, error)

// ServeISO calls f.
func (f HandlerFunc) ServeISO(ctx context.Context, c *Call) (iso.Response, error) { return f(ctx, c) }

// Raw is a response given as the exact body bytes to send (a replayed
// recording): the server neither builds nor signs it.
type Raw []byte

// Kind is 0: a Raw response is not a typed reply.
func (Raw) Kind() iso.Kind { return 0 }

// Result is empty: the server does not read a Raw response.
func (Raw) Result() iso.ResponseCode { return "" }

// KeyStore gives a host each terminal's MAC key (the one its last sign-on
// issued). For a CUP dialect that is the single-length (8-byte) MAK of
// every key scheme: requests are verified and replies signed with the CUP
// ECB MAC under single DES.
type KeyStore interface {
	MAK(terminal iso.TerminalID) ([]byte, bool)
}

// TrackKeyStore is a KeyStore that also deciphers the track data a
// terminal enciphered under the track-data key of its last sign-on (CUP
// key scheme 004, 53.3 = 1). Server deciphers such tracks before the
// dialect parses the request, so the Handler sees the clear card.
type TrackKeyStore interface {
	KeyStore
	TrackKey(terminal iso.TerminalID) (iso.TrackDecrypter, bool)
}

// Server serves a dialect on a listener: it reads each frame, decodes and
// checks it, hands the typed request to the Handler, then encodes, MACs and
// frames the reply. A frame that does not decode closes the connection; a
// message that decodes but is no request the dialect knows gets a format
// error (30). Every connection runs its requests concurrently, replies
// written whole, one at a time.
type Server struct {
	Dialect     iso.Dialect
	Handler     Handler
	Keys        KeyStore      // verifies request MACs and signs approvals; nil: none
	IdleTimeout time.Duration // close a connection with no request for this long (default 5 min)
	ReadTimeout time.Duration // a frame, once begun, must arrive within this (default 30 s)
	MaxConns    int           // connections at once (default 256); more are closed on accept
	Logger      *slog.Logger
	// Intercept, if set, decides how each reply is delivered: the hook a
	// simulator injects faults through. It gets the encoded reply.
	Intercept func(c *Call, reply []byte) Delivery

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	shutting bool
	inFlight sync.WaitGroup
}

// Delivery is how a reply goes out (see Server.Intercept). The zero value
// sends it as it is.
type Delivery struct {
	Delay       time.Duration // wait before sending
	Drop        bool          // never send it
	CloseBefore bool          // close the connection instead of sending
	CloseAfter  bool          // send, then close the connection
	Twice       bool          // send it twice
	Body        []byte        // send these bytes instead (a garbled or altered reply)
}

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("isoswitch: server closed")

// Serve accepts connections on ln until Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.ln, s.conns = ln, map[net.Conn]struct{}{}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			shutting := s.shutting
			s.mu.Unlock()
			if shutting {
				return ErrServerClosed
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			continue
		}
		go s.serveConn(c)
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.MaxConns
	if limit <= 0 {
		limit = 256
	}
	if s.shutting || len(s.conns) >= limit {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	idle := orDefault(s.IdleTimeout, 5*time.Minute)
	read := orDefault(s.ReadTimeout, 30*time.Second)
	var wmu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		fr, err := s.Dialect.Framing().ReadFrame(&deadlineReader{c: c, read: read})
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.logger().Info("closing connection", "remote", c.RemoteAddr().String(), "err", err)
			}
			return
		}
		m, err := s.Dialect.Decode(fr.Body)
		if err != nil {
			s.logger().Warn("undecodable message; closing connection", "remote", c.RemoteAddr().String(), "err", err)
			return
		}
		s.inFlight.Add(1)
		go func() {
			defer s.inFlight.Done()
			s.serveOne(ctx, c, &wmu, fr, m)
		}()
	}
}

// deadlineReader extends the deadline once a frame has begun, so a slow
// peer gets ReadTimeout for the rest of it, not the idle timeout.
type deadlineReader struct {
	c       net.Conn
	read    time.Duration
	started bool
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	n, err := r.c.Read(p)
	if n > 0 && !r.started {
		r.started = true
		r.c.SetReadDeadline(time.Now().Add(r.read))
	}
	return n, err
}

func (s *Server) serveOne(ctx context.Context, c net.Conn, wmu *sync.Mutex, fr iso.Frame, m *iso.Message) {
	call, reply, err := s.answer(ctx, fr, m)
	if err != nil {
		s.logger().Warn("request not answered", "mti", m.MTI, "err", err)
		return
	}
	if reply == nil {
		return
	}
	var d Delivery
	if s.Intercept != nil && call != nil {
		d = s.Intercept(call, reply)
	}
	if d.Body != nil {
		reply = d.Body
	}
	if d.Delay > 0 {
		select {
		case <-time.After(d.Delay):
		case <-ctx.Done():
			return
		}
	}
	switch {
	case d.Drop:
		return
	case d.CloseBefore:
		c.Close()
		return
	}
	wmu.Lock()
	defer wmu.Unlock()
	for range 1 + btoi(d.Twice) {
		c.SetWriteDeadline(time.Now().Add(orDefault(s.ReadTimeout, 30*time.Second)))
		if err := s.Dialect.Framing().WriteFrame(c, s.Dialect.ReplyFrame(fr, reply)); err != nil {
			s.logger().Info("reply not written", "err", err)
			return
		}
	}
	if d.CloseAfter {
		c.Close()
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// answer turns one request into the reply's bytes (nil: no reply).
func (s *Server) answer(ctx context.Context, fr iso.Frame, m *iso.Message) (*Call, []byte, error) {
	clearM, err := s.decryptTracks(m)
	if err != nil {
		s.logger().Warn("enciphered tracks not readable; answering with a format error", "tid", m.Value(41), "err", err)
		reply, err := s.formatError(m)
		return nil, reply, err
	}
	env, req, err := s.Dialect.ParseRequest(clearM)
	if err != nil {
		reply, err := s.formatError(m)
		return nil, reply, err
	}
	call := &Call{Envelope: env, Request: req, Message: m, Frame: fr}
	mak, haveKey := s.mak(env.Terminal)
	var mac iso.MAC // built once: the key schedule is a tenth of a request's work
	if haveKey {
		if mac, err = s.Dialect.NewMAC(mak); err != nil {
			return nil, nil, err
		}
	}
	if call.HasMAC = m.Has(64) || m.Has(128); call.HasMAC && haveKey {
		call.MACValid = iso.VerifyMessageMAC(m, mac) == nil
	}
	resp, err := s.Handler.ServeISO(ctx, call)
	if err != nil || resp == nil {
		return call, nil, err
	}
	if raw, ok := resp.(Raw); ok {
		return call, raw, nil
	}
	reply, err := s.Dialect.BuildResponse(m, resp)
	if err != nil {
		return call, nil, err
	}
	// The key may have changed while the handler ran (a sign-on issues it).
	if now, ok := s.mak(env.Terminal); ok != haveKey || !bytes.Equal(now, mak) {
		mac = nil
		if ok {
			if mac, err = s.Dialect.NewMAC(now); err != nil {
				return call, nil, err
			}
		}
	}
	body, err := s.Dialect.Encode(reply, mac)
	return call, body, err
}

// formatError answers a message the dialect cannot read as a request:
// response MTI, its identifying fields echoed, F39 30.
func (s *Server) formatError(m *iso.Message) ([]byte, error) {
	mti := iso.ResponseMTI(m.MTI)
	if mti == "" {
		return nil, fmt.Errorf("no response MTI for %s", m.MTI)
	}
	reply := iso.NewMessage(mti)
	for _, id := range []int{3, 11, 41, 42} {
		if v, ok := m.Get(id); ok {
			reply.Set(id, v)
		}
	}
	reply.Set(39, string(iso.CodeFormatError))
	return s.Dialect.Encode(reply, nil)
}

// decryptTracks returns m with its tracks deciphered under the terminal's
// track key when m says they are enciphered, m itself otherwise. The
// terminal ID is read before parsing: the key depends on it.
func (s *Server) decryptTracks(m *iso.Message) (*iso.Message, error) {
	if !iso.TracksEnciphered(m) {
		return m, nil
	}
	var dec iso.TrackDecrypter
	if ks, ok := s.Keys.(TrackKeyStore); ok {
		if k, ok := ks.TrackKey(iso.TerminalID(m.Value(41))); ok {
			dec = k
		}
	}
	return iso.DecryptTracks(m, dec)
}

func (s *Server) mak(tid iso.TerminalID) ([]byte, bool) {
	if s.Keys == nil {
		return nil, false
	}
	return s.Keys.MAK(tid)
}

// Shutdown stops accepting, lets the requests being answered finish (until
// ctx ends), then closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	done := make(chan struct{})
	go func() { s.inFlight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.closeConns()
	return err
}

// Close stops at once: listener and connections closed.
func (s *Server) Close() error {
	s.mu.Lock()
	s.shutting = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.closeConns()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

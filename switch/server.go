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
	// the terminal's key, false when it carried none or a bad one. The
	// Server refuses a bad MAC itself (see Server) unless Permissive; then
	// the handler decides.
	MACValid bool
	HasMAC   bool
	// Requirement, when the handler sets it, goes in the reply's CUP
	// header as the host's processing requirement (iso.SetHostRequirement):
	// iso.RequireSignOn makes the terminal sign on again, the others ask
	// it for downloads or uploads. A dialect without a CUP header cannot
	// carry one: the reply goes without it and a warning is logged.
	Requirement iso.HostRequirement
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
// frames the reply. Every connection runs its requests concurrently,
// replies written whole, one at a time.
//
// Before the Handler sees a request, the Server refuses what a real host
// refuses, with the dialect's codes (iso.HostRules; see Refusals):
//
//   - a body that does not decode (a bad BCD digit, a length over the
//     field's maximum) is answered with a format error (30) when its MTI,
//     F11 and F41 can still be read, and otherwise closes the connection
//     (counted in ServerStats.Dropped);
//   - a message that is no request the dialect knows, or lacks a field the
//     dialect's specification makes mandatory, gets 30;
//   - a terminal Terminals does not know gets CUP 97 / ISO87 03;
//   - with Keys set, a terminal that holds no working key (never signed
//     on) gets CUP A0 / ISO87 63 on anything but sign-on, sign-off and
//     echo, and so does a request the dialect MACs that carries no MAC or
//     a bad one (and any request whose MAC does not verify).
//
// Refused requests never reach the Handler, so a simulator's ledger never
// holds them. Permissive turns the request checks off (decoding failures
// still get 30 or a closed connection).
type Server struct {
	Dialect     iso.Dialect
	Handler     Handler
	Keys        KeyStore      // verifies request MACs and signs approvals; nil: none, and no MAC or sign-on check
	Terminals   Terminals     // which terminals the host knows; nil: every one
	Permissive  bool          // hand every parsed request to the Handler unchecked
	IdleTimeout time.Duration // close a connection with no request for this long (default 5 min)
	ReadTimeout time.Duration // a frame, once begun, must arrive within this (default 30 s)
	MaxConns    int           // connections at once (default 256); more are closed on accept
	Logger      *slog.Logger
	// Intercept, if set, decides how each reply is delivered: the hook a
	// simulator injects faults through. It gets the encoded reply.
	Intercept func(c *Call, reply []byte) Delivery

	stats serverCounters

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
			reply := s.undecodable(fr.Body)
			if reply == nil {
				s.stats.dropped.Add(1)
				s.logger().Warn("undecodable message; closing connection", "remote", c.RemoteAddr().String(), "err", err)
				return
			}
			s.logger().Info("undecodable message answered 30", "remote", c.RemoteAddr().String(), "err", err)
			s.write(c, &wmu, fr, reply, iso.RequireNone, 1)
			continue
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
	var require iso.HostRequirement
	if call != nil {
		require = call.Requirement
	}
	if s.write(c, wmu, fr, reply, require, 1+btoi(d.Twice)) && d.CloseAfter {
		c.Close()
	}
}

// write sends reply times times as the answer to fr, with the host's
// processing requirement in a CUP header when one is due; false when it
// failed.
func (s *Server) write(c net.Conn, wmu *sync.Mutex, fr iso.Frame, reply []byte, require iso.HostRequirement, times int) bool {
	out := s.Dialect.ReplyFrame(fr, reply)
	if require != iso.RequireNone {
		if set, err := iso.SetHostRequirement(out, require); err == nil {
			out = set
		} else {
			s.logger().Warn("processing requirement not sent", "err", err)
		}
	}
	wmu.Lock()
	defer wmu.Unlock()
	for range times {
		c.SetWriteDeadline(time.Now().Add(orDefault(s.ReadTimeout, 30*time.Second)))
		if err := s.Dialect.Framing().WriteFrame(c, out); err != nil {
			s.logger().Info("reply not written", "err", err)
			return false
		}
	}
	return true
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
		s.stats.formatErrors.Add(1)
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
	if why := s.refusal(call, haveKey); why != 0 {
		body, err := s.refuse(call, why)
		return call, body, err
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
	return s.codeReply(m, iso.CodeFormatError)
}

// codeReply is the bare answer to m: response MTI, the identifying fields
// echoed, F39 code, no MAC.
func (s *Server) codeReply(m *iso.Message, code iso.ResponseCode) ([]byte, error) {
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
	reply.Set(39, string(code))
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

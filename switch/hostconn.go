package isoswitch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	iso8583errors "github.com/moov-io/iso8583/errors"

	"github.com/posswitch/posswitch/iso"
)

// hostConn is one TCP (or TLS) connection to the host: moov-io's
// iso8583-connection runs the read and write loops and the keep-alive
// timer, posswitch's framing is plugged in as its message reader (which
// also delivers what it reads), and replies are matched here, on MTI
// class + STAN + terminal ID.
//
// # Why it does not use the connection's Send
//
// iso8583-connection v0.9.0's Send can deadlock with a connection failure:
// handleConnectionError holds pendingRequestsMu while it hands each pending
// Send an error on an unbuffered channel, and a Send that already left its
// select — because its own timeout fired (the known case: 77 of 150 runs
// of 50 concurrent sends with the host closing at about the timeout), or
// because its reply arrived a moment earlier (found by
// TestNoDeadlockWhenDeadlineRacesFailure) — waits for that same mutex.
// Close then waits for the Send forever. hostConn never calls Send or
// Reply, so neither path exists: frames go out through Write, whose
// error channel is buffered and which takes no lock the failure path
// holds, and replies are matched in this type's own table, where every
// hand-off is a non-blocking send on a buffered channel. A caller's
// deadline is a select on its context; nothing is left running after it.
type hostConn struct {
	d       iso.Dialect
	c       *connection.Connection
	netConn net.Conn
	late    func(*iso.Message) // replies nobody waits for any more, and unsolicited messages
	// requirement is called when a reply frame's header carries a host
	// processing requirement (CUP), with that requirement.
	requirement func(iso.HostRequirement)

	mu      sync.Mutex
	pending map[string]chan result
	failed  error // set once the connection is gone
	// unreadable counts frames that arrived but did not decode: a request
	// still waiting when its deadline passes, with one come meanwhile,
	// ends as an unreadable reply rather than as a timeout.
	unreadable uint64
}

type result struct {
	reply *iso.Message
	err   error
}

// Errors of the connection layer.
var (
	// ErrTimeout: no reply by the deadline. The request may have reached
	// the host; its outcome is unknown.
	ErrTimeout = errors.New("isoswitch: no reply before the deadline")
	// ErrCancelled: the caller's context was cancelled (Ctrl-C, a caller
	// giving up) while a request was out; its outcome is unknown. The
	// error also matches context.Canceled.
	ErrCancelled = errors.New("isoswitch: cancelled while waiting for the reply")
	// ErrConnectionLost: the connection failed while a request was out,
	// a reply cut off in the middle of its frame included; its outcome is
	// unknown.
	ErrConnectionLost = errors.New("isoswitch: connection lost with a request outstanding")
	// ErrUnreadableReply: a frame came back that does not decode as a
	// message; the outcome of the request waiting for it is unknown. The
	// decoder's error is wrapped (iso.ErrMalformed...).
	ErrUnreadableReply = errors.New("isoswitch: unreadable reply")
	// ErrUnreachable: the host could not be reached; nothing was sent.
	ErrUnreachable = errors.New("isoswitch: host unreachable; nothing was sent")
	errClosed      = fmt.Errorf("%w: closed by the terminal", ErrConnectionLost)
)

// matchID pairs a reply with its request: MTI class (0200 with 0210,
// 0400/0401 with 0410), STAN and terminal ID. moov's default, F11 alone,
// would pair a reversal's 0410 with a late 0210 of the same STAN. A CUP
// echo and its reply carry no STAN (CaoEnXin/LiaoYang_POS Src/tranproc.c
// SetCommReqField): they pair on MTI class and terminal ID, which holds
// because the terminal sends one echo at a time.
func matchID(m *iso.Message) string {
	mti := m.MTI
	if len(mti) == 4 {
		mti = mti[:2]
	}
	return mti + "/" + m.Value(11) + "/" + m.Value(41)
}

type dialOptions struct {
	addr           string
	tls            *tls.Config
	connectTimeout time.Duration
	idle           time.Duration             // keep-alive period; 0: none
	ping           func(*hostConn)           // the keep-alive
	closed         func(*hostConn)           // the connection went away (either side)
	late           func(*iso.Message)        // late and unsolicited messages
	requirement    func(iso.HostRequirement) // a frame's header carries a processing requirement
}

// dialHost connects. A failure here means nothing was sent.
func dialHost(ctx context.Context, d iso.Dialect, o dialOptions) (*hostConn, error) {
	dialer := &net.Dialer{Timeout: o.connectTimeout}
	nc, err := dialer.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if o.tls != nil {
		tc := tls.Client(nc, o.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("%w: TLS: %v", ErrUnreachable, err)
		}
		nc = tc
	}
	h := &hostConn{d: d, netConn: nc, late: o.late, requirement: o.requirement, pending: map[string]chan result{}}
	opts := []connection.Option{
		connection.SetMessageReader(h),
		connection.ReadTimeout(time.Duration(math.MaxInt64)),
		connection.ConnectionClosedHandler(func(*connection.Connection) {
			h.fail(ErrConnectionLost)
			if o.closed != nil {
				o.closed(h)
			}
		}),
		connection.ErrorHandler(func(error) {}), // errors reach callers through send
	}
	if o.idle > 0 && o.ping != nil {
		opts = append(opts, connection.IdleTime(o.idle), connection.PingHandler(func(*connection.Connection) { o.ping(h) }))
	} else {
		opts = append(opts, connection.IdleTime(time.Duration(math.MaxInt64)))
	}
	c, err := connection.NewFrom(nc, nil, nil, nil, opts...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	h.c = c
	return h, nil
}

// ReadMessage is moov's read loop calling in: it reads one frame, decodes
// it and delivers it itself, then returns no message, which moov takes as
// "keep reading". Handing messages back to moov would leave its read loop
// blocked on an internal channel whenever a message arrives as the
// connection closes (measured: 5 goroutines stuck in 200 connections). A
// message that does not decode is skipped (moov keeps reading after an
// UnpackError) and ends the request waiting for it (see unreadableFrame);
// a broken frame breaks the connection, ending every waiting request with
// ErrConnectionLost and the framing error (a reply cut mid-frame says
// iso.FrameTruncated).
func (h *hostConn) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	fr, err := h.d.Framing().ReadFrame(r)
	if err != nil {
		h.fail(fmt.Errorf("%w: %w", ErrConnectionLost, err))
		return nil, err
	}
	m, err := h.d.Decode(fr.Body)
	if err != nil {
		h.unreadableFrame(err)
		return nil, &iso8583errors.UnpackError{Err: err}
	}
	if r := h.d.Requirement(fr); r != iso.RequireNone && h.requirement != nil {
		h.requirement(r)
	}
	h.deliver(m)
	return nil, nil
}

// deliver hands a message read to the request waiting for it, or to the
// late handler on its own goroutine. It never blocks the read loop.
func (h *hostConn) deliver(m *iso.Message) {
	id := matchID(m)
	h.mu.Lock()
	ch, waiting := h.pending[id]
	if waiting {
		delete(h.pending, id)
	}
	h.mu.Unlock()
	if waiting {
		ch <- result{reply: m} // buffered, and only ever sent to once
		return
	}
	if h.late != nil {
		go h.late(m)
	}
}

// unreadableFrame notes a frame that did not decode. Its STAN cannot be
// read, so when exactly one request is waiting, the frame is taken as its
// reply and the request ends now with ErrUnreadableReply (its outcome is
// unknown either way; waiting out the deadline would only delay the
// reversal). With several waiting, each ends so at its deadline unless its
// own reply comes first.
func (h *hostConn) unreadableFrame(cause error) {
	h.mu.Lock()
	h.unreadable++
	var ch chan result
	if len(h.pending) == 1 {
		for id, c := range h.pending {
			ch = c
			delete(h.pending, id)
		}
	}
	h.mu.Unlock()
	if ch != nil {
		ch <- result{err: fmt.Errorf("%w: %w", ErrUnreadableReply, cause)}
	}
}

// fail ends every pending request with err, once.
func (h *hostConn) fail(err error) {
	h.mu.Lock()
	if h.failed == nil {
		h.failed = err
	}
	pending := h.pending
	h.pending = map[string]chan result{}
	h.mu.Unlock()
	for _, ch := range pending {
		ch <- result{err: err}
	}
}

// send writes body (req, encoded) as one frame and waits for the reply
// until ctx ends. The reply has not been checked: the caller runs
// iso.CheckReply.
func (h *hostConn) send(ctx context.Context, req *iso.Message, body []byte) (*iso.Message, error) {
	frame, err := h.d.Framing().AppendFrame(nil, h.d.Frame(body))
	if err != nil {
		return nil, err
	}
	id := matchID(req)
	ch := make(chan result, 1)
	h.mu.Lock()
	switch {
	case h.failed != nil:
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, h.failed)
	case h.pending[id] != nil:
		h.mu.Unlock()
		return nil, fmt.Errorf("isoswitch: a request %s is already waiting for its reply", id)
	}
	h.pending[id] = ch
	unreadable := h.unreadable
	h.mu.Unlock()

	if _, err := h.c.Write(frame); err != nil {
		h.forget(id, ch)
		return nil, fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	select {
	case r := <-ch:
		return r.reply, r.err
	case <-ctx.Done():
		h.forget(id, ch)
		h.mu.Lock()
		garbled := h.unreadable != unreadable
		h.mu.Unlock()
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, fmt.Errorf("%w: %w", ErrCancelled, ctx.Err())
		case garbled:
			return nil, fmt.Errorf("%w: a frame that did not decode came while waiting", ErrUnreadableReply)
		}
		return nil, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
}

// forget stops waiting for id. A reply that was delivered in the meantime
// goes to the late handler rather than being lost.
func (h *hostConn) forget(id string, ch chan result) {
	h.mu.Lock()
	if h.pending[id] == ch {
		delete(h.pending, id)
	}
	h.mu.Unlock()
	select {
	case r := <-ch:
		if r.reply != nil && h.late != nil {
			go h.late(r.reply)
		}
	default:
	}
}

// close fails the connection, which ends every pending send with
// ErrConnectionLost, and closes the socket.
func (h *hostConn) close() {
	h.fail(errClosed)
	h.c.TriggerFailure(errClosed)
	select {
	case <-h.c.Done():
	case <-time.After(2 * time.Second):
	}
	h.netConn.Close()
}

// alive reports whether the connection can still carry requests.
func (h *hostConn) alive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed == nil
}

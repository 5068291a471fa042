package switchtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// volatile are the fields a replayed session may spell differently from the
// recording: transmission and local times, and the MACs over them.
var volatile = []string{"7", "12", "13", "64", "128"}

// ReplayHost answers a recorded session: each request must equal the next
// recorded one (volatile fields aside), and gets the recorded reply, byte
// for byte. Anything else fails the test with a go-cmp diff.
type ReplayHost struct {
	Addr string

	d         iso.Dialect
	fail      func(format string, args ...any)
	mu        sync.Mutex
	exchanges []Exchange
	next      int
	srv       *isoswitch.Server
}

// ReplayOption configures a ReplayHost.
type ReplayOption func(*ReplayHost)

// OnMismatch replaces how a mismatch is reported (default: t.Errorf).
func OnMismatch(f func(format string, args ...any)) ReplayOption {
	return func(r *ReplayHost) { r.fail = f }
}

// NewReplayHost serves the recording at path on 127.0.0.1 until the test
// ends, and fails the test if recorded requests never came.
func NewReplayHost(t testing.TB, d iso.Dialect, path string, opts ...ReplayOption) *ReplayHost {
	t.Helper()
	xs, err := ReadRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &ReplayHost{d: d, fail: t.Errorf, exchanges: xs}
	for _, o := range opts {
		o(r)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Addr = ln.Addr().String()
	r.srv = &isoswitch.Server{Dialect: d, Handler: r, IdleTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.srv.Shutdown(ctx)
		<-served
		r.mu.Lock()
		defer r.mu.Unlock()
		if left := len(r.exchanges) - r.next; left > 0 {
			r.fail("switchtest: %d recorded requests never came (next: %s)", left, mtiOf(d, r.exchanges[r.next].Request))
		}
	})
	return r
}

func mtiOf(d iso.Dialect, body []byte) string {
	if m, err := d.Decode(body); err == nil {
		return m.MTI
	}
	return "undecodable"
}

// ServeISO answers with the next recorded reply if the request is the next
// recorded one.
func (r *ReplayHost) ServeISO(_ context.Context, c *isoswitch.Call) (iso.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next >= len(r.exchanges) {
		r.fail("switchtest: request %s after the end of the recording", c.Message)
		return nil, nil
	}
	want, err := r.d.Decode(r.exchanges[r.next].Request)
	if err != nil {
		return nil, fmt.Errorf("switchtest: recorded request %d: %w", r.next+1, err)
	}
	if diff := cmp.Diff(stable(want), stable(c.Message)); diff != "" {
		r.fail("switchtest: request %d is not the recorded one (-recorded +got):\n%s", r.next+1, diff)
		return nil, nil
	}
	reply := r.exchanges[r.next].Reply
	r.next++
	if reply == nil {
		return nil, nil
	}
	return isoswitch.Raw(reply), nil
}

// stable is a message's fields without the volatile ones.
func stable(m *iso.Message) map[string]string {
	f := m.Fields()
	for _, k := range volatile {
		delete(f, k)
	}
	return f
}

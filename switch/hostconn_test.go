package isoswitch

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/iso87"
)

// raceHost is a host on 127.0.0.1 that answers each request after a random
// delay and drops the connection at a random moment, both around the
// terminal's deadline, so a deadline, a reply and a connection failure keep
// landing at the same instant.
func raceHost(t *testing.T, d iso.Dialect, deadline time.Duration, seed uint64) (addr string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	rng := rand.New(rand.NewPCG(seed, 1))
	var rngMu sync.Mutex
	jitter := func(base time.Duration) time.Duration {
		rngMu.Lock()
		defer rngMu.Unlock()
		return base/2 + time.Duration(rng.Int64N(int64(base)))
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				var wmu sync.Mutex
				killAt := time.AfterFunc(jitter(deadline), func() { c.Close() })
				defer killAt.Stop()
				for {
					fr, err := d.Framing().ReadFrame(c)
					if err != nil {
						c.Close()
						return
					}
					req, err := d.Decode(fr.Body)
					if err != nil {
						continue
					}
					time.AfterFunc(jitter(deadline), func() {
						reply, err := d.BuildResponse(req, iso.NetworkResponse{Of: iso.KindEcho, Reply: iso.Reply{Code: "00"}})
						if err != nil {
							return
						}
						body, err := d.Encode(reply, nil)
						if err != nil {
							return
						}
						wmu.Lock()
						d.Framing().WriteFrame(c, d.ReplyFrame(fr, body))
						wmu.Unlock()
					})
				}
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }
}

// TestNoDeadlockWhenDeadlineRacesFailure races, 1,000 times, a caller's
// deadline against the host's reply and the connection's failure — the
// situation that deadlocks iso8583-connection v0.9.0's Send — and fails if
// any send or close does not come back in bounded time, or if any goroutine
// is left behind once every connection is closed (a wedged connection
// leaks them, which is how this test found the reply-path deadlock). Every
// send must end as a reply, ErrTimeout, ErrConnectionLost, or
// ErrUnreachable when the connection was gone before it was written.
func TestNoDeadlockWhenDeadlineRacesFailure(t *testing.T) {
	const rounds, perRound = 60, 50
	const deadline = 20 * time.Millisecond
	d, err := iso87.New()
	if err != nil {
		t.Fatal(err)
	}
	var replies, timeouts, lost, unsent, late atomic.Int64
	baseline := runtime.NumGoroutine()
	for round := range rounds {
		addr, stop := raceHost(t, d, deadline, uint64(round))
		h, err := dialHost(context.Background(), d, dialOptions{addr: addr, connectTimeout: time.Second,
			late: func(*iso.Message) { late.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range perRound {
			wg.Add(1)
			go func() {
				defer wg.Done()
				env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: iso.STAN(round*perRound + i + 1), Batch: 1, Time: time.Now()}
				req, err := d.BuildRequest(env, iso.EchoRequest{})
				if err != nil {
					t.Error(err)
					return
				}
				body, err := d.Encode(req, nil)
				if err != nil {
					t.Error(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				_, err = h.send(ctx, req, body)
				switch {
				case err == nil:
					replies.Add(1)
				case errors.Is(err, ErrTimeout):
					timeouts.Add(1)
				case errors.Is(err, ErrConnectionLost):
					lost.Add(1)
				case errors.Is(err, ErrUnreachable): // the connection was gone before this one was written
					unsent.Add(1)
				default:
					t.Errorf("send ended with %v", err)
				}
			}()
		}
		if !within(func() { wg.Wait() }, 10*time.Second) {
			failWithStacks(t, "sends did not return", round)
		}
		if !within(h.close, 10*time.Second) {
			failWithStacks(t, "close did not return", round)
		}
		stop()
	}
	total := replies.Load() + timeouts.Load() + lost.Load() + unsent.Load()
	if total != rounds*perRound {
		t.Fatalf("%d sends ended, want %d", total, rounds*perRound)
	}
	t.Logf("%d races: %d replies, %d timeouts (%d late replies seen), %d connection lost, %d not sent", total,
		replies.Load(), timeouts.Load(), late.Load(), lost.Load(), unsent.Load())
	// Every goroutine a send or a connection started must end.
	if !within(func() {
		for runtime.NumGoroutine() > baseline+5 {
			time.Sleep(20 * time.Millisecond)
		}
	}, 10*time.Second) {
		failWithStacks(t, "goroutines left behind", rounds)
	}
}

func within(f func(), limit time.Duration) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(limit):
		return false
	}
}

func failWithStacks(t *testing.T, what string, round int) {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	t.Fatalf("round %d: %s (hang); goroutines:\n%s", round, what, b.String())
}

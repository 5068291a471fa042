package switchtest

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// FaultAction is one way a host misbehaves.
type FaultAction int

const (
	// Delay holds the reply for Fault.Delay (beyond the terminal's
	// timeout, it arrives late).
	Delay FaultAction = iota + 1
	// Drop never sends the reply.
	Drop
	// CloseBefore closes the connection instead of replying.
	CloseBefore
	// CloseAfter replies, then closes the connection.
	CloseAfter
	// Garble sends bytes that do not decode.
	Garble
	// Twice sends the reply two times.
	Twice
	// WrongSTAN replies, properly signed, with another STAN.
	WrongSTAN
	// BreakMAC sends the reply with its MAC altered.
	BreakMAC
)

// Fault is a misbehaviour for requests of one kind (0: every kind), with a
// probability (0 or 1: every time) drawn from the host's seeded generator,
// at most Times times (0: no limit). The ledger is updated as if the reply
// had gone out: the host believes what it answered.
type Fault struct {
	Action      FaultAction
	Kind        iso.Kind
	Probability float64
	Delay       time.Duration
	Times       int
}

type faults struct {
	mu   sync.Mutex
	rng  *rand.Rand
	list []Fault
	used []int
}

func newFaults(seed uint64, fs []Fault) *faults {
	f := &faults{}
	f.set(seed, fs)
	return f
}

func (f *faults) set(seed uint64, fs []Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rng = rand.New(rand.NewPCG(seed, seed^0x5eed))
	f.list = append([]Fault(nil), fs...)
	f.used = make([]int, len(fs))
}

// pick returns the faults that fire for this call.
func (f *faults) pick(k iso.Kind) []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Fault
	for i, x := range f.list {
		if (x.Kind != 0 && x.Kind != k) || (x.Times > 0 && f.used[i] >= x.Times) {
			continue
		}
		if x.Probability > 0 && x.Probability < 1 && f.rng.Float64() >= x.Probability {
			continue
		}
		f.used[i]++
		out = append(out, x)
	}
	return out
}

// intercept turns the faults that fire into the server's delivery.
func (h *Host) intercept(c *isoswitch.Call, reply []byte) isoswitch.Delivery {
	var d isoswitch.Delivery
	if h.rec != nil {
		defer func() {
			sent := reply
			if d.Body != nil {
				sent = d.Body
			}
			if d.Drop || d.CloseBefore {
				sent = nil
			}
			h.rec.add(c.Message.Raw(), sent)
		}()
	}
	for _, f := range h.faults.pick(c.Request.Kind()) {
		switch f.Action {
		case Delay:
			d.Delay = f.Delay
		case Drop:
			d.Drop = true
		case CloseBefore:
			d.CloseBefore = true
		case CloseAfter:
			d.CloseAfter = true
		case Twice:
			d.Twice = true
		case Garble:
			g := append([]byte(nil), reply...)
			for i := 0; i < len(g) && i < 6; i++ {
				g[i] ^= 0xFF // the MTI and bitmap no longer read
			}
			d.Body = g
		case BreakMAC:
			b := append([]byte(nil), reply...)
			last := &b[len(b)-1]
			switch {
			case *last == '0':
				*last = '1' // hex-text MAC stays hex
			case *last >= '1' && *last <= 'F':
				*last = '0'
			default:
				*last ^= 0x01
			}
			d.Body = b
		case WrongSTAN:
			d.Body = h.restamp(c.Envelope.Terminal, reply)
		}
	}
	return d
}

// restamp re-signs the reply with the STAN after its own.
func (h *Host) restamp(tid iso.TerminalID, reply []byte) []byte {
	m, err := h.d.Decode(reply)
	if err != nil {
		return reply
	}
	var stan uint32
	for _, ch := range m.Value(11) {
		stan = stan*10 + uint32(ch-'0')
	}
	m.Set(11, iso.STAN(stan).Next().String())
	var mac iso.MAC
	if key, ok := h.ledger.MAK(tid); ok {
		mac, _ = h.d.NewMAC(key)
	}
	out, err := h.d.Encode(m, mac)
	if err != nil {
		return reply
	}
	return out
}

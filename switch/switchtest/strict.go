package switchtest

import (
	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// The host's registration and the hooks tests that lay requests by hand
// need. The checks themselves are isoswitch.Server's (server_checks.go):
// this host runs on one.

// WithTerminals registers the terminals the host knows; a request from any
// other is refused (CUP 97 "terminal not registered", ISO87 03 "invalid
// merchant"). Without it the host knows every terminal: it has the one
// master key (TMK) for all of them. May be given more than once.
func WithTerminals(tids ...iso.TerminalID) Option {
	return func(h *Host) {
		if h.known == nil {
			h.known = isoswitch.TerminalSet{}
		}
		for _, t := range tids {
			h.known[t] = true
		}
	}
}

// InstallMAK makes tid signed on at the host with mak as its MAC key, as a
// sign-on that issued it would: the test hook for requests laid by hand,
// whose MAC the test computes under a key it chose.
func (h *Host) InstallMAK(tid iso.TerminalID, mak []byte) {
	h.ledger.mu.Lock()
	defer h.ledger.mu.Unlock()
	h.ledger.keys[tid] = append([]byte(nil), mak...)
}

// SignedOn reports whether tid holds working keys at the host.
func (h *Host) SignedOn(tid iso.TerminalID) bool {
	_, ok := h.ledger.MAK(tid)
	return ok
}

// ServerStats are the refusals the host's server made on its own (requests
// that never reached the ledger) and the connections it dropped.
func (h *Host) ServerStats() isoswitch.ServerStats { return h.srv.Stats() }

package isoswitch

import "sync/atomic"

// Stats are a terminal's counters since New.
type Stats struct {
	Sent             int64 // requests written (reversals and repeats included)
	Approved         int64
	Declined         int64
	Timeouts         int64 // requests that got no reply in time
	ReversalsSent    int64 // reversal and repeat messages sent
	ReversalsPending int64 // records waiting for recovery now
	ReversalsGivenUp int64 // exception records, now
	LateReplies      int64
	Reconnects       int64
}

type counters struct {
	sent, approved, declined, timeouts, reversalsSent, lateReplies, reconnects atomic.Int64
}

// Stats returns the counters; pending and given-up reversals are read from
// the journal.
func (t *Terminal) Stats() Stats {
	s := Stats{Sent: t.stats.sent.Load(), Approved: t.stats.approved.Load(), Declined: t.stats.declined.Load(),
		Timeouts: t.stats.timeouts.Load(), ReversalsSent: t.stats.reversalsSent.Load(),
		LateReplies: t.stats.lateReplies.Load(), Reconnects: t.stats.reconnects.Load()}
	if p, err := t.cfg.Journal.Pending(); err == nil {
		s.ReversalsPending = int64(len(p))
	}
	if g, err := t.cfg.Journal.ByState("given-up"); err == nil {
		s.ReversalsGivenUp = int64(len(g))
	}
	return s
}

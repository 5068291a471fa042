package switchtest_test

import (
	"fmt"
	"sort"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// chaosKey is where a transaction stands on both sides: the terminal's
// batch and STAN (one terminal per run).
type chaosKey struct {
	batch iso.BatchNumber
	stan  iso.STAN
}

func (k chaosKey) String() string { return "batch " + k.batch.String() + " STAN " + k.stan.String() }

// chaosComparison is the transaction-by-transaction comparison of the
// host's ledger with the terminal's journal.
type chaosComparison struct {
	Discrepancies []string       // each one a money or bookkeeping disagreement
	Exceptions    []string       // unconfirmed / given-up records, with what the host holds
	States        map[string]int // journal records by final state (QR orders by status)
	Matched       int            // host transactions matched to a journal record
}

// compareLedger compares, by (batch, STAN), every record of the journal
// with the host's transaction for terminal tid, and reports every host
// transaction no record explains. The rules, from the lifecycle
// (isoswitch's package doc, "A transaction"; reversal's state table):
//
//   - every record ends in a known state: approved, declined, reversed,
//     not-sent, no-reply, or an exception (recovery-unconfirmed, given-up);
//     prepared or recovery-pending at the end is a discrepancy;
//   - an exception must have been reported by a terminal call (reported
//     holds the record IDs the calls returned in a *reversal.UnconfirmedError
//     or SettleResult.Unconfirmed); a silent one is a discrepancy;
//   - approved money (a sale, payment-code sale, void, refund, or a paid QR
//     order) must be approved at the host with the same kind, amount and
//     RRN, the same voided / refunded / settled standing;
//   - an approved record that moves no money (a balance inquiry, an order
//     not paid) has no host transaction;
//   - declined: the host declined it or never booked it;
//   - reversed: the host reversed it, declined it, or never booked it;
//   - not-sent, no-reply: the host never booked it;
//   - a host transaction no journal record stands for is a discrepancy.
func compareLedger(txns []switchtest.Txn, recs []reversal.Record, tid iso.TerminalID, reported map[uint64]bool) chaosComparison {
	var c chaosComparison
	c.States = map[string]int{}
	bad := func(k chaosKey, format string, args ...any) {
		c.Discrepancies = append(c.Discrepancies, k.String()+": "+fmt.Sprintf(format, args...))
	}
	host := map[chaosKey]switchtest.Txn{}
	for _, t := range txns {
		if t.Terminal == tid {
			host[chaosKey{t.Batch, t.STAN}] = t
		}
	}
	stanOf := map[uint64]iso.STAN{}
	for _, r := range recs {
		stanOf[r.ID] = r.STAN
	}
	matched := map[chaosKey]bool{}
	for _, r := range recs {
		k := chaosKey{r.Batch, r.STAN}
		h, atHost := host[k]
		if atHost {
			matched[k] = true
		}
		state := string(r.State)
		if r.QR != nil {
			state += "/" + r.QR.Status.String()
		}
		c.States[state]++
		hostSays := "nothing"
		if atHost {
			hostSays = fmt.Sprintf("%s %s %s", h.State, h.Kind, h.Amount)
		}
		switch r.State {
		case reversal.StatePrepared, reversal.StateRecoveryPending:
			bad(k, "record %d (%s %s) ends %s, not in a known state; host: %s", r.ID, r.Kind, r.Amount, r.State, hostSays)
		case reversal.StateUnconfirmed, reversal.StateGivenUp:
			c.Exceptions = append(c.Exceptions, fmt.Sprintf("%s: record %d %s %s %s; host: %s", k, r.ID, r.Kind, r.Amount, r.State, hostSays))
			if !reported[r.ID] {
				bad(k, "record %d ended %s and no terminal call reported it", r.ID, r.State)
			}
		case reversal.StateApproved:
			moved := r.Kind.Financial() || r.QRPaid()
			switch {
			case !moved && atHost:
				bad(k, "record %d (%s, moves no money) approved; host holds %s", r.ID, r.BatchKind(), hostSays)
			case !moved:
			case !atHost:
				bad(k, "record %d: journal approved %s %s; host holds nothing", r.ID, r.BatchKind(), r.Amount)
			case h.State != switchtest.Approved:
				bad(k, "record %d: journal approved %s %s; host %s", r.ID, r.BatchKind(), r.Amount, hostSays)
			default:
				if h.Kind != r.BatchKind() || h.Amount != r.Amount {
					bad(k, "record %d: journal %s %s, host %s %s", r.ID, r.BatchKind(), r.Amount, h.Kind, h.Amount)
				}
				if r.RRN != "" && h.RRN != r.RRN {
					bad(k, "record %d: journal RRN %s, host RRN %s", r.ID, r.RRN, h.RRN)
				}
				if want := stanOf[r.VoidedBy]; (r.VoidedBy != 0) != (h.VoidedBy != 0) || want != h.VoidedBy {
					bad(k, "record %d: journal voided by STAN %s (record %d), host by STAN %s", r.ID, want, r.VoidedBy, h.VoidedBy)
				}
				if r.Refunded != h.Refunded {
					bad(k, "record %d: journal refunded %d, host %d", r.ID, r.Refunded, h.Refunded)
				}
				if r.Settled != h.Settled {
					bad(k, "record %d: journal settled %v, host %v", r.ID, r.Settled, h.Settled)
				}
			}
		case reversal.StateDeclined:
			if atHost && h.State != switchtest.Declined {
				bad(k, "record %d: journal declined %s %s; host %s", r.ID, r.Kind, r.Amount, hostSays)
			}
		case reversal.StateReversed:
			if atHost && h.State == switchtest.Approved {
				bad(k, "record %d: journal reversed %s %s; host %s", r.ID, r.Kind, r.Amount, hostSays)
			}
		case reversal.StateNotSent, reversal.StateNoReply:
			if atHost {
				bad(k, "record %d: journal %s (nothing booked); host %s", r.ID, r.State, hostSays)
			}
		default:
			bad(k, "record %d in unknown state %q", r.ID, r.State)
		}
	}
	var extra []chaosKey
	for k := range host {
		if !matched[k] {
			extra = append(extra, k)
		}
	}
	sort.Slice(extra, func(a, b int) bool {
		return extra[a].batch < extra[b].batch || extra[a].batch == extra[b].batch && extra[a].stan < extra[b].stan
	})
	for _, k := range extra {
		h := host[k]
		bad(k, "host holds %s %s %s (RRN %s) that no journal record stands for", h.State, h.Kind, h.Amount, h.RRN)
	}
	c.Matched = len(matched)
	return c
}

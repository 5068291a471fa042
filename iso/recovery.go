package iso

import "fmt"

// RecoveryOutcome is what a host's reply to a recovery message (a reversal
// or a repeat) means for the transaction it recovers. Each kind of recovery
// has its own rule; Dialect.RecoveryOutcome applies it.
type RecoveryOutcome int

const (
	// OutcomeRetry: the reply does not end the recovery (a reversal the host
	// refused; a repeat the host did not act on: a code of the retry or
	// re-sign-on classes). The terminal sends again, within its policy's
	// limits.
	OutcomeRetry RecoveryOutcome = iota
	// OutcomeReversed: the reversal is acknowledged, or the host has nothing
	// to reverse (by default 00, 12 invalid transaction, 25 original not
	// found): nothing moved.
	OutcomeReversed
	// OutcomeApproved: the repeated request (refund advice, ISO87 host-to-host void) is
	// approved, as a first send's approval would be; its effect stands.
	OutcomeApproved
	// OutcomeDuplicate: 94, the host already has this request. It counts as
	// approved only once the terminal has checked the reply is for the same
	// request (CheckDuplicate); otherwise it ends nothing.
	OutcomeDuplicate
	// OutcomeDeclined: the repeated request is declined (any other code,
	// 12 and 25 included, but not one of the retry or re-sign-on classes,
	// which says the host did not act on the message): nothing moved.
	OutcomeDeclined
)

func (o RecoveryOutcome) String() string {
	switch o {
	case OutcomeRetry:
		return "retry"
	case OutcomeReversed:
		return "reversed"
	case OutcomeApproved:
		return "approved"
	case OutcomeDuplicate:
		return "duplicate"
	case OutcomeDeclined:
		return "declined"
	}
	return "unknown"
}

// recoveryOutcome is the rule both shipped dialects follow. A reversal ends
// on 00 and on the codes that mean there is nothing left to undo (12, 25 by
// default: the 0410 handling of CUP terminal code, e.g. CaoEnXin/LiaoYang_POS
// Src/trancomm.c ReverseTranProc, which resends on anything else). A repeat
// is not a reversal: its reply is read as a first send's would be, so 12 or
// 25 decline it instead of ending it as done; 94 (duplicate transmission)
// means the host holds the request, which the terminal must match first;
// and a code of the retry or re-sign-on classes (30, 68, 90, 91, 96, 98;
// 63, 77, 99, A0) says the host did not act on the message, so the repeat
// goes again rather than ending declined while an earlier send may stand
// approved.
func (b *Base) recoveryOutcome(r Recovery, code ResponseCode) RecoveryOutcome {
	switch r {
	case RecoveryReverse:
		if b.reversalEnded(code) {
			return OutcomeReversed
		}
		return OutcomeRetry
	case RecoveryRepeat:
		switch a := code.Action(); {
		case code.Approved():
			return OutcomeApproved
		case code == CodeDuplicate:
			return OutcomeDuplicate
		case a == ActionRetry, a == ActionResignOn:
			// The host did not act on this message (format error, system
			// malfunction, MAC or keys out of step): the reply says nothing
			// of the request being repeated, which the host may hold
			// approved from an earlier send. Send it again.
			return OutcomeRetry
		}
		return OutcomeDeclined
	}
	return OutcomeRetry
}

// RecoveryOutcome is Dialect.RecoveryOutcome: a reversal ends on 00 and
// the reversal-done codes, a repeat by the repeat rule.
func (b *Base) RecoveryOutcome(r Recovery, code ResponseCode) RecoveryOutcome {
	return b.recoveryOutcome(r, code)
}

func (b *Base) reversalEnded(code ResponseCode) bool {
	if code == CodeApproved {
		return true
	}
	for _, c := range b.reversalDoneCodes {
		if c == code {
			return true
		}
	}
	return false
}

// CheckDuplicate tells whether a 94 (duplicate) reply to a repeated request
// is for that very request: the same terminal (F41), the same STAN (F11)
// and, when the request carries an amount, the same amount (F4), each
// present in the reply. CheckReply already refuses a reply whose F11 or F41
// differ, but it lets a reply leave F4 out; a duplicate that is to count as
// an approval must show it. Failures are *ReplyError.
func CheckDuplicate(req, reply *Message) error {
	for _, id := range []int{41, 11, 4} {
		want, ok := req.Get(id)
		if !ok {
			if id == 4 {
				continue
			}
			return &ReplyError{Check: fmt.Sprintf("duplicate F%d", id)}
		}
		if got, present := reply.Get(id); !present || got != want {
			return &ReplyError{Check: fmt.Sprintf("duplicate F%d", id)}
		}
	}
	return nil
}

// RecoveryLimits bound a recovery: no record is resent forever.
type RecoveryLimits struct {
	// PerTrigger is how many messages one drain (one trigger: a new
	// request, a settlement, start-up) sends for one record.
	PerTrigger int
	// Total is how many messages a record gets over its whole life; once
	// they are sent without an ending reply, the record ends unconfirmed
	// and the terminal carries on.
	Total int
}

// Rules are what a dialect's host enforces that a terminal checks before
// anything is sent.
type Rules struct {
	// VoidSameDay: a void is accepted only for a sale of the same day and
	// the same batch; after that the sale is refunded.
	VoidSameDay bool
	// StoredPAN: messages sent after the fact (the reversal of a keyed
	// sale, a void without the card, a batch upload) carry the PAN, so the
	// journal must keep it encrypted under a data key.
	StoredPAN bool
	// Recovery bounds reversals and repeats.
	Recovery RecoveryLimits
}

// Package reversal keeps posswitch's promise on disk: every financial
// message that may have reached the host ends in exactly one known outcome
// — approved and in the batch, declined, or reversed — across timeouts,
// late replies, disconnects and power loss.
//
// It has two parts. The Journal is one bbolt file holding one Record per
// transaction through its whole life, plus the counters (STAN, batch) and
// each batch's settlement progress. The Engine sends the reversals and
// repeats the journal says are pending, through a Sender this package
// defines, so it is tested without a network.
//
// # The lifecycle
//
//	Prepare ─▶ prepared (recovery armed, fsynced before the first byte is sent)
//	  ├─ Approve ─▶ approved   (a void marks its sale voided, a refund counts against its sale)
//	  ├─ Decline ─▶ declined
//	  ├─ MarkRecoveryPending(reason) ─▶ recovery-pending ─▶ Engine.Drain
//	  │       (MarkUntrustedReply also keeps an untrusted reply's F38 for the reversal)
//	  │       ├─ reversal ended (00/12/25)   ─▶ reversed  (a reversed void makes its sale live again)
//	  │       ├─ repeat approved (00, or 94 for the same request) ─▶ approved (the effect stands)
//	  │       ├─ repeat declined (any other but the retry / re-sign-on classes, which resend)
//	  │       │                              ─▶ declined  (nothing moved; the original untouched)
//	  │       ├─ sends ran out or expired    ─▶ recovery-unconfirmed (exception; Drain reports it)
//	  │       └─ operator's Override         ─▶ given-up  (exception, with the operator)
//	  ├─ MarkNotSent ─▶ not-sent (no byte left; nothing to recover)
//	  └─ MarkNoReply ─▶ no-reply (an inquiry went unanswered; nothing moved)
//	approved ─▶ recovery-pending  (the terminal could not complete: card removed, printer)
//
// # Invariants
//
//   - One record per transaction, and every change to it (with its effect on
//     the original, its indexes and the counters) is one bbolt transaction,
//     fsynced: there is no second store that must agree with the first.
//   - A record is prepared, with what is needed to reverse or repeat it,
//     before the first byte of its request is sent; at start-up every record
//     still prepared becomes recovery-pending (RecoverPrepared), because its
//     outcome is unknown.
//   - States move only along the table in record.go; any other move is a
//     *TransitionError (errors.Is ErrIllegalTransition) and writes nothing.
//     In particular a late approval never turns a record under reversal back
//     into approved: it is kept in LateReplies for audit.
//   - A recovery attempt is counted (fsynced) before it is sent, so after a
//     crash mid-send the next message is a repeat, and nothing is reversed
//     twice: once reversed, a record is final.
//   - A STAN is never reused while a record with it is in the open batch.
//   - The batch number advances only in CloseBatch, when the host has
//     accepted the close; the host's verdict per card class is journaled
//     before the first upload message (BeginUpload) and upload progress per
//     acknowledged message, so an interrupted upload is planned again from
//     the same verdict and resumes at the message that was not acknowledged.
//   - PCI DSS: no track data, PIN block, CVV or key is ever written. Stored
//     requests are stripped (iso.StripSensitive); the full PAN is kept only
//     AES-GCM-encrypted under the application's data key, bound to its
//     record, and without a key only the masked PAN is kept.
//   - A file that is not a posswitch journal, or is corrupt, is refused and
//     left untouched; a journal another process holds fails fast (ErrLocked).
//
// What a reply to a recovery message means is the dialect's answer
// (iso.Dialect.RecoveryOutcome): a reversal ends on 00 or on a code that
// leaves nothing to undo (12, 25); a repeated refund, advice or void is read
// as a first send's reply would be, so 12 or 25 decline it. A refused
// reversal is resent with the reason "refused" (CUP F39 06).
//
// Nothing is resent forever. While a record is pending the terminal refuses
// new financial requests (ErrRecoveryPending); the Policy bounds that: each
// drain sends a record at most AttemptsPerDrain times, and once it has had
// GiveUpAfter sends (defaults from the dialect's Rules: CUP 4 in one drain,
// as the reference terminal's resend count 3; ISO87 12) it ends
// recovery-unconfirmed, Drain returns an *UnconfirmedError naming it, and
// the terminal carries on. An authorised operator may end a pending record
// sooner with Engine.Override (given-up). Both are exception records the
// merchant settles with the acquirer (Exceptions).
package reversal

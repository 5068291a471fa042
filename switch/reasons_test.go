package isoswitch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestUnknownOutcomeSaysWhatHappened: each way a reply can fail to arrive
// or be trusted has its own reason, in the error (Reason, a sentinel, one
// sentence naming the trace), in the journal record (reason and history)
// and in both exports; the result names the transaction. On the wire a
// lost connection and a cancelled wait are reversed as a timeout is (CUP
// 98, ISO87 68).
func TestUnknownOutcomeSaysWhatHappened(t *testing.T) {
	type want struct {
		reason   iso.ReversalReason
		sentinel error
		says     string // in the error's sentence
		f39      map[string]string
	}
	timeoutF39 := map[string]string{"cup": "98", "iso87": "68", "iso87_h2h": "68"}
	cases := map[string]struct {
		mv     move
		cancel bool // the caller cancels once the host has the sale
		want   want
	}{
		"timeout":       {mv: silence, want: want{iso.ReasonTimeout, isoswitch.ErrTimeout, "no reply in 200ms", timeoutF39}},
		"cancelled":     {mv: silence, cancel: true, want: want{iso.ReasonCancelled, isoswitch.ErrCancelled, "cancelled while waiting for the reply", timeoutF39}},
		"hang-up":       {mv: hangUp, want: want{iso.ReasonConnectionLost, isoswitch.ErrConnectionLost, "connection lost before the reply", timeoutF39}},
		"cut-mid-frame": {mv: cutReply, want: want{iso.ReasonConnectionLost, iso.ErrFrame, "connection lost before the reply", timeoutF39}},
		"unreadable":    {mv: garbledReply, want: want{iso.ReasonBadReply, isoswitch.ErrUnreadableReply, "the reply was unreadable", map[string]string{"cup": "06", "iso87": "06", "iso87_h2h": "06"}}},
		"bad-mac":       {mv: badMAC, want: want{iso.ReasonBadMAC, iso.ErrMACMismatch, "the reply's MAC did not verify", map[string]string{"cup": "A0", "iso87": "06", "iso87_h2h": "06"}}},
	}
	for name, d := range dialectsUnderTest(t) {
		for cname, c := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				h := startHost(t, d)
				term, j := newTerminal(t, h)
				ctx, cancel := context.WithCancel(ctx5(t))
				defer cancel()
				h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
					if k == iso.KindSale {
						if c.cancel {
							cancel()
						}
						return c.mv, "00"
					}
					return answer, "00"
				})
				res, err := term.Sale(ctx, "01", cny10, visa)
				var ou *isoswitch.OutcomeUnknownError
				if !errors.As(err, &ou) || !errors.Is(err, isoswitch.ErrOutcomeUnknown) || !errors.Is(err, c.want.sentinel) {
					t.Fatalf("err = %v, want an unknown outcome matching %v", err, c.want.sentinel)
				}
				if ou.Reason != c.want.reason {
					t.Errorf("reason %s, want %s", ou.Reason, c.want.reason)
				}
				if c.cancel && !errors.Is(err, context.Canceled) {
					t.Errorf("a cancelled wait does not match context.Canceled: %v", err)
				}
				if res.STAN == 0 || res.RecordID == 0 || res.Batch == 0 {
					t.Errorf("the result does not name the transaction: %+v", res)
				}
				if ou.STAN != res.STAN || ou.Batch != res.Batch || ou.RecordID != res.RecordID || ou.Result.STAN != res.STAN {
					t.Errorf("error names %s/%s/%d, result %s/%s/%d", ou.STAN, ou.Batch, ou.RecordID, res.STAN, res.Batch, res.RecordID)
				}
				sentence := fmt.Sprintf("isoswitch: outcome of trace %s unknown: %s; reversal queued", res.STAN, c.want.says)
				if err.Error() != sentence {
					t.Errorf("error reads\n%q, want\n%q", err, sentence)
				}

				r := waitState(t, j, res.RecordID, reversal.StateReversed)
				if r.Reason != c.want.reason {
					t.Errorf("journal reason %s, want %s", r.Reason, c.want.reason)
				}
				noted := false
				for _, e := range r.Events {
					noted = noted || (e.State == reversal.StateRecoveryPending && e.Note == c.want.reason.String())
				}
				if !noted {
					t.Errorf("history does not say %q: %+v", c.want.reason, r.Events)
				}
				var csv, jsonl bytes.Buffer
				if err := j.ExportCSV(&csv, nil); err != nil {
					t.Fatal(err)
				}
				if err := j.ExportJSONLines(&jsonl, nil); err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`(?m)^` + fmt.Sprint(res.RecordID) + `,.*,` + c.want.reason.String() + `,[^,]*,[^,]*$`).MatchString(csv.String()) {
					t.Errorf("csv lacks the reason %q:\n%s", c.want.reason, csv.String())
				}
				var row struct{ Reason string }
				if err := json.Unmarshal([]byte(strings.SplitN(jsonl.String(), "\n", 2)[0]), &row); err != nil || row.Reason != c.want.reason.String() {
					t.Errorf("jsonl reason %q (%v), want %q", row.Reason, err, c.want.reason)
				}
				if f39 := lastReversalF39(h); f39 != c.want.f39[name] {
					t.Errorf("the reversal says F39 %q, want %q", f39, c.want.f39[name])
				}
			})
		}
	}
}

func lastReversalF39(h *scriptedHost) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.seen) - 1; i >= 0; i-- {
		if strings.HasPrefix(h.seen[i].MTI, "04") {
			return h.seen[i].Value(39)
		}
	}
	return ""
}

// TestSettleCancelled: Ctrl-C while the settlement's reply is awaited is a
// cancellation, not a deadline.
func TestSettleCancelled(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, _ := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
			sales(t, term, 1)
			ctx, cancel := context.WithCancel(ctx5(t))
			defer cancel()
			h.setScript(func(k iso.Kind, _ *iso.Message) (move, iso.ResponseCode) {
				if k == iso.KindSettlement {
					cancel()
					return silence, "00"
				}
				return answer, "00"
			})
			_, err := term.Settle(ctx, supervisor, nil)
			if !errors.Is(err, isoswitch.ErrCancelled) || !errors.Is(err, context.Canceled) || errors.Is(err, isoswitch.ErrTimeout) {
				t.Fatalf("settle: %v, want cancelled", err)
			}
			if strings.Contains(err.Error(), "deadline") {
				t.Errorf("a cancellation reads as a deadline: %v", err)
			}
		})
	}
}

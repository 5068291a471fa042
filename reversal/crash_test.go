package reversal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/reversal"
)

// The crash child is this test binary run again with these variables set,
// and the lifecycle steps it can be killed at.
const (
	envCrashStep     = "POSSWITCH_CRASH_STEP"
	envCrashJournal  = "POSSWITCH_CRASH_JOURNAL"
	envCrashDialect  = "POSSWITCH_CRASH_DIALECT"
	stepAfterPrepare = "after-prepare"
	stepAfterSend    = "after-send"
	stepAfterReply   = "after-reply-before-journal"
	stepMidDrain     = "mid-drain"
	stepMidUpload    = "mid-upload"
	// CUP settlement by card class: killed after the packed foreign
	// upload was acknowledged, before the refund's own 0320; and after a
	// both-balanced verdict was journaled, before the upload end.
	stepMidRefundUpload = "mid-refund-upload"
	stepBeforeUploadEnd = "before-upload-end"
)

// The verdicts the class steps journal.
var (
	crashForeignOnly = iso.SettlementResponse{Verdict: iso.VerdictOutOfBalance, Domestic: iso.VerdictBalanced, Foreign: iso.VerdictOutOfBalance}
	crashBalanced    = iso.SettlementResponse{Verdict: iso.VerdictBalanced, Domestic: iso.VerdictBalanced, Foreign: iso.VerdictBalanced}
)

// The child's script, which the parent knows by heart: two approved sales
// and a declined one (STANs 000001-000003), then the step's own work.
var (
	crashKey      = bytes.Repeat([]byte{0x5A}, 32) // test data key
	crashPINKey   = bytes.Repeat([]byte{0x11}, 16) // test PIN key
	crashHistory  = []int64{1000, 2500, 700}       // 700 is declined (51)
	crashMinor    = int64(4200)                    // the sale the crash hits, STAN 000004
	crashUploads  = []int64{1100, 1200, 1300}      // mid-upload: approved sales 000004-000006
	crashSTAN     = iso.STAN(4)
	errCrashNoRep = errors.New("crash test: no reply")
)

// crashDialect is one dialect under test with the published test card its
// terminal reads (swiped, PIN entered).
type crashDialect struct {
	open  func(...iso.Option) (iso.Dialect, error)
	track iso.Track2
	cur   iso.Currency
}

var crashDialects = map[string]crashDialect{
	"cup":   {cup.New, "6200000000000005=2812101123456789", iso.CNY},
	"iso87": {iso87.New, "4111111111111111=2812101123456789", iso.USD},
}

func (c crashDialect) dialect(t testing.TB) iso.Dialect {
	d, err := c.open()
	crashMust(t, err)
	return d
}

func (c crashDialect) card(t testing.TB) iso.Card {
	clear, err := iso.FormatPINBlock0("123456", c.track.PAN().Digits())
	crashMust(t, err)
	pb, err := iso.EncryptPINBlock(clear, crashPINKey)
	crashMust(t, err)
	return iso.Card{Track2: c.track, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: &pb}
}

func crashRRN(stan string) iso.RRN       { return iso.RRN("100000" + stan) }
func crashAuth(stan string) iso.AuthCode { return iso.AuthCode("A" + stan[1:]) }

// TestCrashChild is the process TestCrashSafety kills; it does nothing in a
// normal run. It plays the script against the journal and, at the named
// step, says so on stdout and waits to be killed with SIGKILL.
func TestCrashChild(t *testing.T) {
	step := os.Getenv(envCrashStep)
	if step == "" {
		t.Skip("runs only as the crash child of TestCrashSafety")
	}
	c := crashDialects[os.Getenv(envCrashDialect)]
	d := c.dialect(t)
	j, err := reversal.Open(os.Getenv(envCrashJournal), reversal.WithDataKey(crashKey))
	crashMust(t, err)
	h := &crashChildHost{d: d, step: step}
	for _, m := range crashHistory {
		crashTransact(t, j, d, h, c, m)
	}
	switch step {
	case stepAfterPrepare:
		crashPrepare(t, j, d, c, crashMinor)
		crashHere(step)
	case stepAfterSend, stepAfterReply: // the host hook and crashTransact crash
		crashTransact(t, j, d, h, c, crashMinor)
	case stepMidDrain: // the sale gets no reply; the host hook crashes in its reversal
		crashTransact(t, j, d, h, c, crashMinor)
		e := reversal.NewEngine(j, d, h, reversal.Policy{Timeout: time.Second, Backoff: func(int) time.Duration { return 0 }})
		t.Fatalf("drain returned: %v", e.Drain(context.Background()))
	case stepMidUpload:
		for _, m := range crashUploads {
			crashTransact(t, j, d, h, c, m)
		}
		batch, err := j.OpenBatch()
		crashMust(t, err)
		_, ids, err := j.Entries(batch)
		crashMust(t, err)
		for _, s := range []reversal.BatchStatus{reversal.BatchSettling, reversal.BatchUploading} {
			crashMust(t, j.SetBatchStatus(batch, s))
		}
		for _, id := range ids[:2] {
			crashMust(t, j.MarkUploaded(batch, id))
		}
		crashHere(step)
	case stepMidRefundUpload:
		crashForeignBatch(t, j, d, c)
		batch, err := j.OpenBatch()
		crashMust(t, err)
		crashMust(t, j.SetBatchStatus(batch, reversal.BatchSettling))
		crashMust(t, j.BeginUpload(batch, crashForeignOnly))
		pending, ids, err := j.PendingUploads(batch)
		crashMust(t, err)
		plan, err := d.PlanUpload(crashForeignOnly, pending, 0, d.Totals(pending), c.cur)
		crashMust(t, err)
		if len(plan.Steps) != 2 {
			t.Fatalf("plan has %d steps, want the packed sales and the refund", len(plan.Steps))
		}
		env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 90, Batch: batch, Time: time.Now()}
		_, err = d.BuildRequest(env, plan.Steps[0].Request)
		crashMust(t, err) // sent; the host acknowledged it
		var acked []uint64
		for _, i := range plan.Steps[0].Entries {
			acked = append(acked, ids[i])
		}
		crashMust(t, j.MarkUploaded(batch, acked...))
		crashHere(step)
	case stepBeforeUploadEnd:
		batch, err := j.OpenBatch()
		crashMust(t, err)
		crashMust(t, j.SetBatchStatus(batch, reversal.BatchSettling))
		crashMust(t, j.BeginUpload(batch, crashBalanced))
		crashHere(step)
	}
	t.Fatalf("step %q was never reached", step)
}

// crashForeignBatch adds two sales the host named VIS (STANs 000004 and
// 000005) and a refund of the first (000006) to the history's two
// domestic sales.
func crashForeignBatch(t *testing.T, j *reversal.Journal, d iso.Dialect, c crashDialect) {
	t.Helper()
	var sales []reversal.Record
	for _, m := range []int64{1100, 1200} {
		rec, _ := crashPrepare(t, j, d, c, m)
		s := rec.STAN.String()
		r, err := j.Approve(rec.ID, reversal.Outcome{Code: "00", RRN: crashRRN(s), AuthCode: crashAuth(s), CardOrg: iso.CardOrgVisa})
		crashMust(t, err)
		sales = append(sales, r)
	}
	card, amount, orig := c.card(t), iso.Amount{Minor: 300, Currency: c.cur}, sales[0]
	rec, _, err := j.Prepare(reversal.Intent{Kind: iso.KindRefund, Operator: "01", Amount: amount, PAN: card.Account(),
		CardOrg: orig.CardOrg, OriginalID: orig.ID},
		func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
			env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: batch, Time: time.Now()}
			m, err := d.BuildRequest(env, iso.RefundRequest{Amount: amount, Card: card, CardOrg: orig.CardOrg,
				Original: iso.Original{STAN: orig.STAN, Batch: orig.Batch, Time: orig.Created, RRN: orig.RRN, Amount: orig.Amount}})
			if err != nil {
				return nil, 0, err
			}
			r, err := d.Recovery(m)
			return m, r, err
		})
	crashMust(t, err)
	s := rec.STAN.String()
	_, err = j.Approve(rec.ID, reversal.Outcome{Code: "00", RRN: crashRRN(s), AuthCode: crashAuth(s)})
	crashMust(t, err)
}

// crashHere tells the parent where the child stands and waits for SIGKILL.
func crashHere(step string) {
	fmt.Fprintf(os.Stdout, "REACHED %s\n", step)
	os.Stdout.Sync()
	select {}
}

func crashPrepare(t *testing.T, j *reversal.Journal, d iso.Dialect, c crashDialect, minor int64) (reversal.Record, *iso.Message) {
	t.Helper()
	card, amount := c.card(t), iso.Amount{Minor: minor, Currency: c.cur}
	rec, msg, err := j.Prepare(reversal.Intent{Kind: iso.KindSale, Operator: "01", Amount: amount, PAN: card.Account()},
		func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
			env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: stan, Batch: batch, Time: time.Now()}
			m, err := d.BuildRequest(env, iso.SaleRequest{Amount: amount, Card: card})
			if err != nil {
				return nil, 0, err
			}
			r, err := d.Recovery(m)
			return m, r, err
		})
	crashMust(t, err)
	return rec, msg
}

// crashTransact is a terminal's sale: prepare, send, journal the outcome.
func crashTransact(t *testing.T, j *reversal.Journal, d iso.Dialect, h *crashChildHost, c crashDialect, minor int64) {
	t.Helper()
	rec, msg := crashPrepare(t, j, d, c, minor)
	reply, err := h.Send(context.Background(), msg, time.Now().Add(time.Second))
	if err != nil {
		_, err = j.MarkRecoveryPending(rec.ID, iso.ReasonTimeout)
		crashMust(t, err)
		return
	}
	if h.step == stepAfterReply && rec.STAN == crashSTAN {
		crashHere(h.step) // the host approved; the terminal has not journaled it
	}
	o := reversal.Outcome{Code: iso.ResponseCode(reply.Value(39)), RRN: iso.RRN(reply.Value(37)), AuthCode: iso.AuthCode(reply.Value(38))}
	if o.Code.Approved() {
		_, err = j.Approve(rec.ID, o)
	} else {
		_, err = j.Decline(rec.ID, o)
	}
	crashMust(t, err)
}

// crashChildHost is the child's host: it approves sales (declines 7.00 with 51)
// and crashes the child at the step's point of sending.
type crashChildHost struct {
	d    iso.Dialect
	step string
}

func (h *crashChildHost) Send(_ context.Context, req *iso.Message, _ time.Time) (*iso.Message, error) {
	stan := req.Value(11)
	isReversal := strings.HasPrefix(req.MTI, "04")
	switch {
	case h.step == stepMidDrain && isReversal:
		crashHere(h.step) // RecordAttempt has counted this attempt
	case h.step == stepAfterSend && stan == crashSTAN.String():
		crashHere(h.step)
	case h.step == stepMidDrain && stan == crashSTAN.String():
		return nil, errCrashNoRep
	}
	rep := iso.Reply{Code: "00", RRN: crashRRN(stan), AuthCode: crashAuth(stan)}
	if req.Value(4) == fmt.Sprintf("%012d", crashHistory[2]) {
		rep = iso.Reply{Code: "51", RRN: crashRRN(stan)}
	}
	return h.d.BuildResponse(req, iso.FinancialResponse{Reply: rep})
}

// crashHost is the parent's host after the crash: it acknowledges every
// reversal with 00 and keeps them per original STAN.
type crashHost struct {
	d     iso.Dialect
	mu    sync.Mutex
	sent  map[string][]*iso.Message
	total int
}

func (h *crashHost) Send(_ context.Context, req *iso.Message, _ time.Time) (*iso.Message, error) {
	if !strings.HasPrefix(req.MTI, "04") {
		return nil, fmt.Errorf("crash host: unexpected %s", req.MTI)
	}
	h.mu.Lock()
	h.sent[req.Value(11)] = append(h.sent[req.Value(11)], req.Clone())
	h.total++
	h.mu.Unlock()
	return h.d.BuildResponse(req, iso.ReversalResponse{Reply: iso.Reply{Code: "00"}})
}

// TestCrashSafety kills a journaling terminal (this binary run again as
// TestCrashChild) with SIGKILL after prepare, after send, after an approval
// came back but before it was journaled, in the middle of a reversal drain
// and in the middle of a batch upload, in both dialects, and (CUP) between a
// packed upload and a refund's own upload 0320 and before the upload end of
// a balanced batch, and proves on the
// reopened journal that: the dead process released the lock; no record was
// lost (count, STANs 000001..N, the history's states, RRNs and encrypted
// PANs); every unknown outcome — a host approval the terminal never
// journaled included — becomes a pending reversal and is reversed; nothing
// is reversed twice, across repeated Recover/Drain calls and a reopen, and
// a reversal interrupted mid-send is resent as a repeat (ISO87 0401); the
// batch totals equal the approved records and exclude the crashed sale; an
// interrupted upload resumes after its acknowledged records, at the exact
// message the plan from the journaled verdict names; and no clear
// PAN, track 2 or PIN block ever reached the file.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	var matrix []string
	for _, step := range []string{stepAfterPrepare, stepAfterSend, stepAfterReply, stepMidDrain, stepMidUpload,
		stepMidRefundUpload, stepBeforeUploadEnd} {
		dialects := []string{"cup", "iso87"}
		if step == stepMidRefundUpload || step == stepBeforeUploadEnd {
			dialects = dialects[:1] // settlement by card class is CUP's
		}
		for _, dialect := range dialects {
			outcome := "no outcome"
			ok := t.Run(step+"/"+dialect, func(t *testing.T) {
				path, c := filepath.Join(t.TempDir(), "journal.db"), crashDialects[dialect]
				runCrashChild(t, step, dialect, path)
				crashCheckNoCardData(t, c, path)
				switch step {
				case stepMidUpload:
					outcome = crashCheckUpload(t, c, path)
				case stepMidRefundUpload:
					outcome = crashCheckRefundUpload(t, c, path)
				case stepBeforeUploadEnd:
					outcome = crashCheckUploadEnd(t, c, path)
				default:
					outcome = crashCheckUnknown(t, step, dialect, c, path)
				}
				crashCheckNoCardData(t, c, path)
			})
			if !ok {
				outcome = "FAIL: " + outcome
			}
			matrix = append(matrix, fmt.Sprintf("%-34s %s", step+"/"+dialect+":", outcome))
		}
	}
	t.Logf("crash matrix (step/dialect: found on disk → after recovery):\n%s", strings.Join(matrix, "\n"))
}

// runCrashChild runs the child until it reports step, then SIGKILLs it.
func runCrashChild(t *testing.T, step, dialect, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -test.timeout arms a timer in the child: without one, the Go runtime
	// ends a process whose goroutines all block ("deadlock") by itself.
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashStep+"="+step, envCrashJournal+"="+path, envCrashDialect+"="+dialect)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.WaitDelay = &stderr, 5*time.Second
	stdout, err := cmd.StdoutPipe()
	crashMust(t, err)
	crashMust(t, cmd.Start())
	var seen []string
	reached := false
	for sc := bufio.NewScanner(stdout); !reached && sc.Scan(); {
		seen = append(seen, sc.Text())
		reached = sc.Text() == "REACHED "+step
	}
	var killErr error
	if reached {
		killErr = cmd.Process.Signal(syscall.SIGKILL)
	}
	waitErr := cmd.Wait()
	if !reached {
		t.Fatalf("child never reached %s (context: %v, wait: %v)\nstdout:\n%s\nstderr:\n%s",
			step, ctx.Err(), waitErr, strings.Join(seen, "\n"), stderr.String())
	}
	if killErr != nil {
		t.Fatalf("SIGKILL: %v", killErr)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended by %v, not by SIGKILL", cmd.ProcessState)
	}
}

// reopenCrashed opens the journal the dead child held, with the default lock
// timeout: it must not be locked.
func reopenCrashed(t *testing.T, path string) *reversal.Journal {
	t.Helper()
	j, err := reversal.Open(path, reversal.WithDataKey(crashKey))
	crashMust(t, err) // ErrLocked would mean the dead child still holds it
	return j
}

// crashCheckHistory proves no record was lost: n records, STANs 000001..n in
// order, the history's outcomes intact, every PAN decrypting to the card.
func crashCheckHistory(t *testing.T, j *reversal.Journal, c crashDialect, n int) []reversal.Record {
	t.Helper()
	recs, err := j.Find(func(reversal.Record) bool { return true })
	crashMust(t, err)
	if len(recs) != n {
		t.Fatalf("journal holds %d records, the child created %d", len(recs), n)
	}
	for i, r := range recs {
		stan := iso.STAN(i + 1)
		if r.STAN != stan || r.Kind != iso.KindSale {
			t.Errorf("record %d: STAN %s kind %s, want STAN %s sale", i, r.STAN, r.Kind, stan)
		}
		if pan, err := j.PAN(r); err != nil || pan != c.track.PAN() || r.MaskedPAN != c.track.PAN().Masked() {
			t.Errorf("record %s: PAN does not decrypt to the card (%v), masked %q", stan, err, r.MaskedPAN)
		}
		if i >= len(crashHistory) && n == 4 {
			continue // the crashed sale, checked by the caller
		}
		want, code, rrn, auth := reversal.StateApproved, iso.ResponseCode("00"), crashRRN(stan.String()), crashAuth(stan.String())
		if i == 2 {
			want, code, auth = reversal.StateDeclined, "51", ""
		}
		if r.State != want || r.Code != code || r.RRN != rrn || r.AuthCode != auth {
			t.Errorf("record %s: %s %s RRN %q auth %q, want %s %s RRN %q auth %q", stan, r.State, r.Code, r.RRN, r.AuthCode, want, code, rrn, auth)
		}
	}
	return recs
}

// crashCheckTotals proves the batch totals equal the approved records, added up
// independently of Entries and Totals, and equal the script's sums.
func crashCheckTotals(t *testing.T, j *reversal.Journal, d iso.Dialect, want iso.Totals, excluded uint64) {
	t.Helper()
	batch, err := j.OpenBatch()
	crashMust(t, err)
	entries, ids, err := j.Entries(batch)
	crashMust(t, err)
	recs, err := j.ByBatch(batch)
	crashMust(t, err)
	var mine iso.Totals
	for _, r := range recs {
		if r.State == reversal.StateApproved && r.Kind.Financial() {
			mine.Domestic.DebitCount++
			mine.Domestic.DebitAmount += r.Amount.Minor
		}
	}
	if got := d.Totals(entries); got != want || mine != want {
		t.Errorf("totals: Entries→Totals %+v, from records %+v, want %+v", got, mine, want)
	}
	if slices.Contains(ids, excluded) {
		t.Errorf("the crashed record %d is in the batch entries", excluded)
	}
}

// crashCheckUnknown proves the crashed sale is recovered by exactly one
// reversal, and stays reversed.
func crashCheckUnknown(t *testing.T, step, dialect string, c crashDialect, path string) string {
	d := c.dialect(t)
	j := reopenCrashed(t, path)
	defer func() { j.Close() }()
	recs := crashCheckHistory(t, j, c, 4)
	crashed := recs[3]
	wantFound, wantAttempts, wantMoved, wantMTI := reversal.StatePrepared, 0, 1, "0400"
	if step == stepMidDrain {
		wantFound, wantAttempts, wantMoved = reversal.StateRecoveryPending, 1, 0
		if dialect == "iso87" {
			wantMTI = "0401" // the attempt counted before the crash makes this a repeat
		}
	}
	if crashed.State != wantFound || crashed.Attempts != wantAttempts || crashed.Amount.Minor != crashMinor {
		t.Fatalf("crashed sale found %s with %d attempts (amount %d), want %s with %d", crashed.State, crashed.Attempts, crashed.Amount.Minor, wantFound, wantAttempts)
	}
	if step == stepAfterReply && (crashed.RRN != "" || crashed.Code != "") {
		t.Errorf("the unjournaled approval left RRN %q code %q on disk", crashed.RRN, crashed.Code)
	}
	if n, err := j.RecoverPrepared(); err != nil || n != wantMoved {
		t.Fatalf("RecoverPrepared moved %d records (%v), want %d", n, err, wantMoved)
	}
	if r, _ := j.Get(crashed.ID); r.State != reversal.StateRecoveryPending || r.Reason != iso.ReasonTimeout {
		t.Fatalf("after RecoverPrepared the crashed sale is %s (reason %v), want recovery-pending (timeout)", r.State, r.Reason)
	}

	host := &crashHost{d: d, sent: map[string][]*iso.Message{}}
	policy := reversal.Policy{Timeout: time.Second, Backoff: func(int) time.Duration { return 0 }}
	ctx := context.Background()
	e := reversal.NewEngine(j, d, host, policy)
	if err := e.Recover(ctx); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	stan := crashSTAN.String()
	if got := host.sent[stan]; len(got) != 1 || host.total != 1 {
		t.Fatalf("host got %d reversals of %s (%d in all), want 1", len(got), stan, host.total)
	}
	msg := host.sent[stan][0]
	if msg.MTI != wantMTI {
		t.Errorf("reversal MTI %s, want %s", msg.MTI, wantMTI)
	}
	if msg.Has(35) || msg.Has(52) || msg.Value(2) != c.track.PAN().Digits() {
		t.Errorf("reversal: F35 %v F52 %v, F2 is the card's PAN %v", msg.Has(35), msg.Has(52), msg.Value(2) == c.track.PAN().Digits())
	}
	// Recover, Drain, a reopen and Recover again: nothing more is sent.
	crashMust(t, e.Recover(ctx))
	crashMust(t, e.Drain(ctx))
	crashMust(t, j.Close())
	j = reopenCrashed(t, path)
	crashMust(t, reversal.NewEngine(j, d, host, policy).Recover(ctx))
	if host.total != 1 {
		t.Errorf("host got %d reversals after repeated recovery, want 1", host.total)
	}
	final, err := j.Get(crashed.ID)
	crashMust(t, err)
	reversed := 0
	for _, ev := range final.Events {
		if ev.State == reversal.StateReversed {
			reversed++
		}
	}
	if final.State != reversal.StateReversed || reversed != 1 || final.Attempts != wantAttempts+1 {
		t.Errorf("crashed sale ends %s with %d reversed events and %d attempts, want reversed, 1, %d", final.State, reversed, final.Attempts, wantAttempts+1)
	}
	// The host's approval arrives late: it must not resurrect the sale.
	late := reversal.Outcome{Code: "00", RRN: crashRRN(stan), AuthCode: crashAuth(stan)}
	if _, err := j.Approve(crashed.ID, late); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("approving the reversed sale: %v, want ErrIllegalTransition", err)
	}
	crashCheckHistory(t, j, c, 4)
	crashCheckTotals(t, j, d, iso.Totals{Domestic: iso.ClassTotals{DebitCount: 2, DebitAmount: 3500}}, crashed.ID)
	// The terminal goes on: the crashed sale's STAN is not reused.
	if next, _ := crashPrepare(t, j, d, c, 100); next.STAN != crashSTAN.Next() {
		t.Errorf("the next sale got STAN %s, want %s", next.STAN, crashSTAN.Next())
	} else if _, err := j.MarkNotSent(next.ID, "crash test"); err != nil {
		t.Error(err)
	}
	return fmt.Sprintf("%s → %s (%d reversal sent, %s, attempts %d)", wantFound, final.State, host.total, msg.MTI, final.Attempts)
}

// crashCheckUpload proves an upload interrupted after two acknowledgements
// resumes with the other three and refuses to upload one twice.
func crashCheckUpload(t *testing.T, c crashDialect, path string) string {
	d := c.dialect(t)
	j := reopenCrashed(t, path)
	defer j.Close()
	recs := crashCheckHistory(t, j, c, 6)
	batch := recs[0].Batch
	st, err := j.Batch(batch)
	if err != nil || st.Status != reversal.BatchUploading || st.Uploaded != 2 {
		t.Fatalf("batch after the crash: %+v %v, want uploading with 2 uploaded", st, err)
	}
	var rest []uint64
	for i, r := range recs {
		if want := i < 2; r.Uploaded != want {
			t.Errorf("record %s: uploaded %v, want %v", r.STAN, r.Uploaded, want)
		}
		if i > 2 {
			rest = append(rest, r.ID)
		}
	}
	crashCheckTotals(t, j, d, iso.Totals{Domestic: iso.ClassTotals{DebitCount: 5, DebitAmount: 7100}}, 0)
	if err := j.MarkUploaded(batch, rest...); err != nil {
		t.Fatalf("resuming the upload: %v", err)
	}
	if err := j.MarkUploaded(batch, recs[0].ID); !errors.Is(err, reversal.ErrIllegalTransition) {
		t.Errorf("uploading record %d twice: %v, want ErrIllegalTransition", recs[0].ID, err)
	}
	end, err := j.Batch(batch)
	if err != nil || end.Status != reversal.BatchUploading || end.Uploaded != 5 {
		t.Errorf("batch after resuming: %+v %v, want uploading with 5 uploaded", end, err)
	}
	return fmt.Sprintf("%s %d/5 → resumed %d/5, re-upload refused", st.Status, st.Uploaded, end.Uploaded)
}

// crashCheckRefundUpload proves a CUP upload killed after the packed
// foreign sales were acknowledged resumes at the refund's own 0320: the
// verdict per class came back from the journal, the domestic sales stay
// home, and the upload end counts all three foreign records (202).
func crashCheckRefundUpload(t *testing.T, c crashDialect, path string) string {
	d := c.dialect(t)
	j := reopenCrashed(t, path)
	defer j.Close()
	batch, err := j.OpenBatch()
	crashMust(t, err)
	st, err := j.Batch(batch)
	if err != nil || st.Status != reversal.BatchUploading || st.Uploaded != 2 {
		t.Fatalf("batch after the crash: %+v %v, want uploading with 2 uploaded", st, err)
	}
	if v := st.Verdict(); v != crashForeignOnly {
		t.Errorf("journaled verdict %+v, want %+v", v, crashForeignOnly)
	}
	pending, ids, err := j.PendingUploads(batch)
	crashMust(t, err)
	plan, err := d.PlanUpload(st.Verdict(), pending, st.Uploaded, d.Totals(pending), c.cur)
	crashMust(t, err)
	if len(plan.Steps) != 1 || len(plan.Steps[0].Entries) != 1 {
		t.Fatalf("resumed plan: %+v, want the refund alone", plan)
	}
	env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 91, Batch: batch, Time: time.Now()}
	m, err := d.BuildRequest(env, plan.Steps[0].Request)
	crashMust(t, err)
	if m.MTI != "0320" || m.Value(3) != "200000" || m.Value(11) != "000006" || m.Value(63) != "VIS" ||
		m.Value(60) != "25"+batch.String()+"000" || m.Value(37) != string(crashRRN("000004")) {
		t.Errorf("resumed message: %s", m)
	}
	if plan.Close != (iso.BatchUploadEndRequest{Count: 3}) {
		t.Errorf("resumed close %#v, want the 202 end counting 3", plan.Close)
	}
	crashMust(t, j.MarkUploaded(batch, ids[plan.Steps[0].Entries[0]]))
	end, err := j.Batch(batch)
	crashMust(t, err)
	recs, err := j.ByBatch(batch)
	crashMust(t, err)
	for _, r := range recs {
		if want := r.Foreign() && r.InBatch(); r.Uploaded != want {
			t.Errorf("record %s (%q): uploaded %v, want %v", r.STAN, r.CardOrg, r.Uploaded, want)
		}
	}
	return fmt.Sprintf("%s %d/3 → resumed at refund 0320 %s, end 202 count %d", st.Status, st.Uploaded, m.Value(11), end.Uploaded)
}

// crashCheckUploadEnd proves a CUP settlement killed after a both-balanced
// verdict was journaled resumes with the upload end alone: 207, count 0.
func crashCheckUploadEnd(t *testing.T, c crashDialect, path string) string {
	d := c.dialect(t)
	j := reopenCrashed(t, path)
	defer j.Close()
	crashCheckHistory(t, j, c, 3)
	batch, err := j.OpenBatch()
	crashMust(t, err)
	st, err := j.Batch(batch)
	if err != nil || st.Status != reversal.BatchUploading || st.Uploaded != 0 || st.Verdict() != crashBalanced {
		t.Fatalf("batch after the crash: %+v %v, want uploading, balanced, nothing uploaded", st, err)
	}
	pending, _, err := j.PendingUploads(batch)
	crashMust(t, err)
	plan, err := d.PlanUpload(st.Verdict(), pending, st.Uploaded, d.Totals(pending), c.cur)
	crashMust(t, err)
	if len(plan.Steps) != 0 || plan.Close == nil {
		t.Fatalf("resumed plan: %+v, want only the upload end", plan)
	}
	env := iso.Envelope{Terminal: "TERM0001", Merchant: "898310048161234", STAN: 92, Batch: batch, Time: time.Now()}
	m, err := d.BuildRequest(env, plan.Close)
	crashMust(t, err)
	if m.MTI != "0320" || m.Value(48) != "0000" || m.Value(60) != "00"+batch.String()+"207" {
		t.Errorf("resumed message: %s", m)
	}
	crashMust(t, j.CloseBatch(batch, 0))
	return fmt.Sprintf("%s, balanced → resumed with the 0320 end %s F48 %s", st.Status, m.Value(60)[8:], m.Value(48))
}

// crashMust stops the test on an unexpected error.
func crashMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// crashCheckNoCardData scans the raw journal file for the card's clear PAN,
// its track 2 (as keyed and as on the wire) and its PIN block (as hex and
// as bytes), after checking that the masked PAN is there to be found.
func crashCheckNoCardData(t *testing.T, c crashDialect, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	crashMust(t, err)
	if masked := c.track.PAN().Masked(); !bytes.Contains(raw, []byte(masked)) {
		t.Fatalf("the journal file does not hold the masked PAN %s: the scan reads nothing", masked)
	}
	pb := c.card(t).PINBlock
	for _, s := range []string{c.track.PAN().Digits(), string(c.track), strings.ReplaceAll(string(c.track), "=", "D"),
		strings.ToUpper(hex.EncodeToString(pb[:])), hex.EncodeToString(pb[:]), string(pb[:])} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the journal file holds sensitive card data in clear (%d bytes of it)", len(s))
		}
	}
}

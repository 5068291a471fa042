package switchtest_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// The chaos run: a terminal in a child process (this test binary run
// again as TestChaosChild) does a seeded random mix of operations against
// a Host in this process that injects seeded faults; the parent SIGKILLs
// the child at random points and starts it again on the same journal, and
// at the end (faults off, one last child drains and settles) compares the
// host's ledger with the journal transaction by transaction.
//
// Short by default (CI); longer with, for example:
//
//	go test ./switch/switchtest -run 'TestChaos$' -chaos.ops=3000 -chaos.kills=150 -v
var (
	chaosOps   = flag.Int("chaos.ops", 70, "operations per dialect in TestChaos")
	chaosKills = flag.Int("chaos.kills", 6, "SIGKILLs per dialect in TestChaos")
	chaosSeed  = flag.Uint64("chaos.seed", 20261202, "seed of TestChaos (operations, faults, kill points)")
)

const (
	envChaosAddr    = "POSSWITCH_CHAOS_ADDR"
	envChaosJournal = "POSSWITCH_CHAOS_JOURNAL"
	envChaosDialect = "POSSWITCH_CHAOS_DIALECT"
	envChaosSeed    = "POSSWITCH_CHAOS_SEED"
	envChaosOps     = "POSSWITCH_CHAOS_OPS"
	envChaosFinal   = "POSSWITCH_CHAOS_FINAL"
	// envChaosDebug, set in the parent's environment, logs every decline
	// the children met and, at the end, every journal record and host
	// transaction: the material to trace a discrepancy to its cause.
	envChaosDebug = "POSSWITCH_CHAOS_DEBUG"

	chaosTID      iso.TerminalID   = "TERM0042"
	chaosTimeout                   = 250 * time.Millisecond
	chaosSupPass                   = "s3cret-sup"
	chaosOperator iso.OperatorCode = "01"
)

var (
	chaosDataKey = bytes.Repeat([]byte{0x5a}, 32)
	chaosSup     = isoswitch.Credentials{Operator: "00", Password: chaosSupPass}
	// Published test card numbers, keyed: a domestic UnionPay card and a
	// foreign Visa card, so both CUP card classes settle.
	chaosCards = []iso.Card{
		{PAN: "6200000000000005", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}},
		{PAN: "4111111111111111", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}},
	}
)

// chaosFaults is what the host does wrong, to every kind of message (sign-on,
// sales, reversals, settlement and upload included): about one message in
// six misbehaves. A delayed reply comes after the terminal's deadline.
func chaosFaults() []switchtest.Fault {
	return []switchtest.Fault{
		{Action: switchtest.Delay, Probability: 0.03, Delay: 2 * chaosTimeout},
		{Action: switchtest.Drop, Probability: 0.03},
		{Action: switchtest.CloseBefore, Probability: 0.02},
		{Action: switchtest.CloseAfter, Probability: 0.02},
		{Action: switchtest.Garble, Probability: 0.02},
		{Action: switchtest.Twice, Probability: 0.02},
		{Action: switchtest.WrongSTAN, Probability: 0.01},
		{Action: switchtest.BreakMAC, Probability: 0.02},
	}
}

// chaosStats is what one dialect's run did.
type chaosStats struct {
	ops, kills, starts, unknownAtStart, recovered int
	faults                                        map[switchtest.FaultAction]int
	reported                                      map[uint64]bool
	outcomes                                      map[string]int
	settles, storms                               int
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, name := range []string{"cup", "iso87"} {
		t.Run(name, func(t *testing.T) {
			d := dialects(t)[name]
			began := time.Now()
			h := switchtest.NewHost(t, d, switchtest.WithFaults(*chaosSeed, chaosFaults()...))
			path := filepath.Join(t.TempDir(), "journal.db")
			st := runChaos(t, h, name, path, *chaosOps, *chaosKills, *chaosSeed)

			j, err := reversal.Open(path, reversal.WithDataKey(chaosDataKey))
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			recs, err := j.Find(func(reversal.Record) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			if os.Getenv(envChaosDebug) != "" {
				for _, r := range recs {
					t.Logf("REC %d %s %s %s b%s s%s rrn %s orig %d voidedby %d refunded %d settled %v code %s ev %v", r.ID, r.Kind, r.State, r.Amount, r.Batch, r.STAN, r.RRN, r.OriginalID, r.VoidedBy, r.Refunded, r.Settled, r.Code, r.Events)
				}
				for _, x := range h.Transactions() {
					t.Logf("TXN %+v", x)
				}
			}
			cmp := compareLedger(h.Transactions(), recs, chaosTID, st.reported)
			for _, e := range cmp.Exceptions {
				t.Logf("exception (reported): %s", e)
			}
			for _, dsc := range cmp.Discrepancies {
				t.Errorf("discrepancy: %s", dsc)
			}
			var faults []string
			total := 0
			for a := switchtest.Delay; a <= switchtest.BreakMAC; a++ {
				faults = append(faults, fmt.Sprintf("%s %d", a, st.faults[a]))
				total += st.faults[a]
			}
			t.Logf("chaos %s seed %d: %d ops (%s), %d journal records %v, %d host txns matched; faults %d (%s); "+
				"%d SIGKILLs, %d starts (%d in a reversal storm), %d records unknown at a start, %d recovered by Start, %d settlements; "+
				"%d exceptions; %d discrepancies; %s",
				name, *chaosSeed, st.ops, fmtCounts(st.outcomes), len(recs), fmtCounts(cmp.States), cmp.Matched, total,
				strings.Join(faults, ", "), st.kills, st.starts, st.storms, st.unknownAtStart, st.recovered, st.settles,
				len(cmp.Exceptions), len(cmp.Discrepancies), time.Since(began).Round(time.Millisecond))
			if st.ops < *chaosOps || (*chaosKills > 0 && st.kills == 0) || total == 0 {
				t.Errorf("the run did not do what it claims: %d ops, %d kills, %d faults", st.ops, st.kills, total)
			}

			// The comparison must see a planted disagreement on each side:
			// a host approval the journal never had, and a journal approval
			// the host never made.
			open, err := j.OpenBatch()
			if err != nil {
				t.Fatal(err)
			}
			h.Record(switchtest.Txn{Terminal: chaosTID, Batch: open, STAN: 999999, Kind: iso.KindSale,
				Amount: cny(4242), RRN: "999999999999", Code: iso.CodeApproved})
			rec, _, err := j.Prepare(reversal.Intent{Kind: iso.KindSale, Operator: chaosOperator, Amount: cny(1717)},
				func(stan iso.STAN, batch iso.BatchNumber) (*iso.Message, iso.Recovery, error) {
					env := iso.Envelope{Terminal: chaosTID, Merchant: "898310048161234", STAN: stan, Batch: batch, Time: time.Now()}
					m, err := d.BuildRequest(env, iso.SaleRequest{Amount: cny(1717), Card: chaosCards[0]})
					if err != nil {
						return nil, 0, err
					}
					r, err := d.Recovery(m)
					return m, r, err
				})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := j.Approve(rec.ID, reversal.Outcome{Code: iso.CodeApproved, RRN: "888888888888"}); err != nil {
				t.Fatal(err)
			}
			recs, err = j.Find(func(reversal.Record) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			planted := compareLedger(h.Transactions(), recs, chaosTID, st.reported)
			hostPlant := chaosKey{open, 999999}.String() + ": host holds approved"
			journalPlant := chaosKey{rec.Batch, rec.STAN}.String() + ": record " + strconv.FormatUint(rec.ID, 10) + ": journal approved"
			if n := len(planted.Discrepancies) - len(cmp.Discrepancies); n != 2 ||
				!slices.ContainsFunc(planted.Discrepancies, func(s string) bool { return strings.HasPrefix(s, hostPlant) }) ||
				!slices.ContainsFunc(planted.Discrepancies, func(s string) bool { return strings.HasPrefix(s, journalPlant) }) {
				t.Errorf("the planted discrepancies were not both reported (%d new):\n%s", n, strings.Join(planted.Discrepancies, "\n"))
			} else {
				t.Logf("planted discrepancies reported: %s", strings.Join(planted.Discrepancies[len(planted.Discrepancies)-2:], "; "))
			}
		})
	}
}

func fmtCounts(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(out, ", ")
}

// runChaos runs children until ops operations have ended, killing kills of
// them at seeded random points, then one last child with the faults off
// that drains and settles.
func runChaos(t *testing.T, h *switchtest.Host, dialect, path string, ops, kills int, seed uint64) chaosStats {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0xc4a05))
	st := chaosStats{reported: map[uint64]bool{}, outcomes: map[string]int{}, faults: map[switchtest.FaultAction]int{}}
	for inc := 1; ; inc++ {
		left := ops - st.ops
		final := left <= 0
		for a, n := range h.FaultsFired() {
			st.faults[a] += n
		}
		switch {
		case final:
			h.SetFaults(seed) // the network heals: the last child settles
		case rng.IntN(6) == 0:
			// A storm: most reversals go unanswered, so recoveries run out
			// their sends and end unconfirmed, which the calls must report.
			st.storms++
			h.SetFaults(seed+uint64(inc), append(chaosFaults(),
				switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindReversal, Probability: 0.7})...)
		default:
			h.SetFaults(seed+uint64(inc), chaosFaults()...)
		}
		killAt, killAtStart := -1, false
		if !final && st.kills < kills {
			// Spread the kills: on average every ops/kills operations.
			killAt = rng.IntN(max(1, min(left, 2*ops/max(kills, 1)))) + 1
			killAtStart = rng.IntN(4) == 0
		}
		delay := time.Duration(rng.IntN(30)) * time.Millisecond
		ended, killed := runChaosChild(t, h, dialect, path, seed*1000+uint64(inc), left, final, killAt, killAtStart, delay, rng, &st)
		st.ops += ended
		st.starts++
		if killed {
			st.kills++
		}
		if final {
			return st
		}
		if !killed && ended < left {
			t.Fatalf("child %d ended by itself after %d of %d operations", inc, ended, left)
		}
		time.Sleep(20 * time.Millisecond) // a terminal takes a moment to reboot
	}
}

// runChaosChild runs one child: it kills it (SIGKILL) once operation killAt
// has begun, after delay, or during its start-up recovery when killAtStart
// and it found records to recover. It returns how many operations ended.
func runChaosChild(t *testing.T, h *switchtest.Host, dialect, path string, seed uint64, ops int, final bool,
	killAt int, killAtStart bool, delay time.Duration, rng *rand.Rand, st *chaosStats) (ended int, killed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChaosChild$", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), envChaosAddr+"="+h.Addr, envChaosJournal+"="+path, envChaosDialect+"="+dialect,
		envChaosSeed+"="+strconv.FormatUint(seed, 10), envChaosOps+"="+strconv.Itoa(ops))
	if final {
		cmd.Env = append(cmd.Env, envChaosFinal+"=1")
	}
	var stderr bytes.Buffer
	cmd.Stderr, cmd.WaitDelay = &stderr, 5*time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() { // no child outlives the test
		if !waited {
			syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	kill := func() {
		if !killed {
			if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Errorf("SIGKILL: %v", err)
			}
			killed = true
		}
	}
	var tail []string
	done := false
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		line := sc.Text()
		if tail = append(tail, line); len(tail) > 30 {
			tail = tail[1:]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		// Lines after the signal was sent are still what the child did.
		switch f[0] {
		case "RECOVER":
			n, _ := strconv.Atoi(f[1])
			st.unknownAtStart += n
			if n > 0 && killAtStart {
				time.Sleep(delay / 3)
				kill()
			}
		case "RECOVERED":
			n, _ := strconv.Atoi(f[1])
			st.recovered += n
		case "BEGIN":
			if i, _ := strconv.Atoi(f[1]); i == killAt {
				time.Sleep(delay)
				kill()
			}
		case "END":
			ended++
			st.outcomes[f[2]+" "+f[3]]++
		case "UNCONFIRMED":
			for _, s := range f[1:] {
				id, _ := strconv.ParseUint(s, 10, 64)
				st.reported[id] = true
			}
		case "SETTLED":
			st.settles++
		case "QR":
			// The customer's wallet pays the order shown, or not.
			if rng.IntN(2) == 0 {
				h.PayQR(f[1])
			}
			io.WriteString(stdin, "ok\n")
		case "NOTE":
			t.Log(line)
		case "DONE":
			done = true
		}
	}
	err = cmd.Wait()
	waited = true
	if killed {
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			// It may have finished just before the signal.
			if !done {
				t.Fatalf("child ended by %v, not by SIGKILL\n%s\n%s", cmd.ProcessState, strings.Join(tail, "\n"), stderr.String())
			}
			killed = false
		}
		return ended, killed
	}
	if err != nil || !done {
		t.Fatalf("child failed: %v\nstdout (tail):\n%s\nstderr:\n%s", err, strings.Join(tail, "\n"), stderr.String())
	}
	return ended, false
}

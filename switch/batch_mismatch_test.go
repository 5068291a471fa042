package isoswitch_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestBatchMismatchSaidOnce: a host that comes back on another batch while
// the open one holds transactions is reported by BatchMismatch, in words
// with what to do, and logged once (at Info, not as a warning on every
// sign-on); settling resolves it and the next sign-on takes the host's
// number.
func TestBatchMismatchSaidOnce(t *testing.T) {
	h := startHost(t, dialectsUnderTest(t)["cup"])
	var logs bytes.Buffer
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)),
		isoswitch.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	if _, ok := term.BatchMismatch(); ok {
		t.Fatal("a mismatch before the host changed")
	}
	sales(t, term, 1)
	h.batch.Store(5) // the host restarted on another batch
	for range 3 {
		if err := term.SignOn(ctx5(t), "01"); err != nil {
			t.Fatal(err)
		}
	}
	m, ok := term.BatchMismatch()
	if !ok || m.Terminal != 1 || m.Host != 5 {
		t.Fatalf("mismatch %+v %v, want terminal 000001 host 000005", m, ok)
	}
	want := "the host is on batch 000005 but this terminal's open batch 000001 already holds transactions, so it keeps 000001; settle it, and the next sign-on takes the host's number"
	if m.String() != want {
		t.Errorf("says %q", m)
	}
	if n := strings.Count(logs.String(), "the host is on batch 000005"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a warning was logged:\n%s", logs.String())
	}
	if _, err := term.Settle(ctx5(t), supervisor, nil); err != nil {
		t.Fatal(err)
	}
	if err := term.SignOn(ctx5(t), "01"); err != nil {
		t.Fatal(err)
	}
	if _, ok := term.BatchMismatch(); ok {
		t.Error("still a mismatch after settling")
	}
	if b, _ := j.OpenBatch(); b != iso.BatchNumber(5) {
		t.Errorf("open batch %s after settling, want the host's 000005", b)
	}
}

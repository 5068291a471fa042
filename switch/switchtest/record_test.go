package switchtest_test

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

var update = flag.Bool("update", false, "re-record the sessions in ../../testdata/sessions")

// session is what the recorded terminal does: sign on (in terminal), sell,
// void, sell again, settle.
func session(t *testing.T, addr string, d iso.Dialect, firstAmount int64) error {
	h := &switchtest.Host{Addr: addr, TMK: switchtest.DefaultTMK}
	term, _ := terminal(t, h, d, "TERM0003")
	s, err := term.Sale(ctx(t), "01", cny(firstAmount), visa)
	if err != nil {
		return err
	}
	if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: s.STAN}); err != nil {
		return err
	}
	if _, err := term.Sale(ctx(t), "01", cny(1000), visa); err != nil {
		return err
	}
	_, err = term.Settle(ctx(t), supervisor, nil)
	return err
}

// TestRecordAndReplay: a session recorded against the simulator replays
// byte for byte against a fresh terminal (go test ./switch/switchtest
// -update re-records it).
func TestRecordAndReplay(t *testing.T) {
	d := dialects(t)["cup"]
	path := filepath.Join("..", "..", "testdata", "sessions", "cup-sale-void-settle.txtar")
	if *update {
		h := switchtest.NewHost(t, d, switchtest.WithRecording())
		if err := session(t, h.Addr, d, 2500); err != nil {
			t.Fatal(err)
		}
		if err := h.WriteRecording(path); err != nil {
			t.Fatal(err)
		}
	}
	xs, err := switchtest.ReadRecording(path)
	if err != nil {
		t.Fatalf("%v (record it with -update)", err)
	}
	if len(xs) != 6 { // sign-on, sale, void, sale, settlement, upload end (207: CUP sends it even when balanced)
		t.Fatalf("%d exchanges recorded", len(xs))
	}
	r := switchtest.NewReplayHost(t, d, path)
	if err := session(t, r.Addr, d, 2500); err != nil {
		t.Fatalf("replay: %v", err)
	}
}

// TestReplayCatchesAnUnexpectedRequest: a request the recording does not
// have is reported with a diff, and gets no reply.
func TestReplayCatchesAnUnexpectedRequest(t *testing.T) {
	d := dialects(t)["cup"]
	path := filepath.Join("..", "..", "testdata", "sessions", "cup-sale-void-settle.txtar")
	var mu sync.Mutex
	var reports []string
	r := switchtest.NewReplayHost(t, d, path, switchtest.OnMismatch(func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, strings.TrimSpace(sprintf(format, args...)))
	}))
	err := session(t, r.Addr, d, 2600) // another amount than recorded
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		t.Fatalf("session: %v, want the sale unanswered", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 || !strings.Contains(reports[0], "request 2 is not the recorded one") || !strings.Contains(reports[0], "000000002500") {
		t.Errorf("reports: %q", reports)
	}
}

package switchtest_test

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// TestHostRequirementReachesTheApp: over real TCP, a CUP host sets the
// processing-requirement nibble of its reply header (CaoEnXin/LiaoYang_POS
// Src/trancomm.c OnlineDownOrUp reads it). 3 makes the terminal sign on
// again before its next request; every other value reaches the app as a
// typed notice, and the sale whose reply carried it is approved as usual.
func TestHostRequirementReachesTheApp(t *testing.T) {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	h := switchtest.NewHost(t, d)
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	notices := make(chan iso.HostRequirement, 8)
	var mu sync.Mutex
	var sent []string
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: "TERM0001", Merchant: "898310048161234",
		MasterKey: h.TMK, Journal: j}, isoswitch.WithTimeout(time.Second),
		isoswitch.WithHostNotices(func(r iso.HostRequirement) { notices <- r }),
		isoswitch.WithTrace(func(dir string, m *iso.Message) {
			if dir == "send" {
				mu.Lock()
				sent = append(sent, m.MTI)
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if err := term.Start(ctx(t), "01"); err != nil {
		t.Fatal(err)
	}
	signOns := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, mti := range sent {
			if mti == "0800" {
				n++
			}
		}
		return n
	}

	for _, r := range []iso.HostRequirement{iso.RequireParameterDownload, iso.RequireStatusUpload, iso.RequireCAPKDownload,
		iso.RequireICParameterDownload, iso.RequireTMSDownload, iso.RequireBlacklistDownload, iso.HostRequirement(9)} {
		h.RequireOnce(r)
		res, err := term.Sale(ctx(t), "01", cny(100), visa)
		if err != nil || !res.Code.Approved() {
			t.Fatalf("%v: sale %+v, %v", r, res, err)
		}
		select {
		case got := <-notices:
			if got != r {
				t.Errorf("notice %v, want %v", got, r)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%v: no notice", r)
		}
	}
	if n := signOns(); n != 1 {
		t.Errorf("%d sign-ons after download/upload requirements, want only the first", n)
	}

	h.RequireOnce(iso.RequireSignOn)
	if res, err := term.Sale(ctx(t), "01", cny(100), visa); err != nil || !res.Code.Approved() {
		t.Fatalf("sale with requirement 3: %+v, %v", res, err)
	}
	if _, err := term.Sale(ctx(t), "01", cny(100), visa); err != nil {
		t.Fatal(err)
	}
	if n := signOns(); n != 2 {
		t.Errorf("%d sign-ons after requirement 3, want 2", n)
	}
	select {
	case got := <-notices:
		t.Errorf("requirement 3 reached the app as %v; the terminal acts on it", got)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestCUPEchoWithoutSTAN: over real TCP, the CUP echo goes out without F11
// (CaoEnXin/LiaoYang_POS Src/tranproc.c SetCommReqField), the host answers
// it, and the terminal pairs the reply with it; concurrent echoes queue.
func TestCUPEchoWithoutSTAN(t *testing.T) {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	h := switchtest.NewHost(t, d)
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	var mu sync.Mutex
	var echoes []*iso.Message
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: "TERM0001", Merchant: "898310048161234",
		MasterKey: h.TMK, Journal: j}, isoswitch.WithTimeout(time.Second),
		isoswitch.WithTrace(func(dir string, m *iso.Message) {
			if m.MTI == "0820" || m.MTI == "0830" {
				mu.Lock()
				echoes = append(echoes, m)
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if err := term.Start(ctx(t), "01"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := term.Echo(ctx(t)); err != nil {
				t.Errorf("echo: %v", err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(echoes) != 6 {
		t.Fatalf("%d echo messages traced, want 3 sent and 3 received", len(echoes))
	}
	for _, m := range echoes {
		if m.Has(11) {
			t.Errorf("%s carries F11", m.MTI)
		}
	}
}

package isoswitch_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// keyBlockHost is a CUP host whose sign-on replies carry a key block that
// corrupt may alter (n counts sign-ons from 1), sent as raw bytes so the
// terminal reads exactly that block. It counts the sales it sees and
// whether their MAC verified under the MAK of its last sign-on.
type keyBlockHost struct {
	d       iso.Dialect
	corrupt func(n int, f62 string) string
	keys    *keyring

	mu       sync.Mutex
	signOns  int
	sales    int
	badMACs  int
	issueMAK []byte
}

func (h *keyBlockHost) ServeISO(_ context.Context, c *isoswitch.Call) (iso.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rep := iso.Reply{Code: iso.CodeApproved, HostTime: time.Now(), RRN: nextRRN(), AuthCode: "KB0001"}
	switch r := c.Request.(type) {
	case iso.SignOnRequest:
		h.signOns++
		// Each sign-on issues another MAK, so a sale MACed under an
		// earlier one would not verify.
		mak := append([]byte(nil), testMAK[:8]...)
		mak[0] ^= byte(h.signOns)
		pik, _ := iso.WrapKey(testTMK, testPIK)
		wm, _ := iso.WrapKey(testTMK, mak)
		h.keys.mu.Lock()
		h.keys.keys[c.Envelope.Terminal] = mak
		h.keys.mu.Unlock()
		m, err := h.d.BuildResponse(c.Message, iso.SignOnResponse{Reply: rep, Batch: 1, Keys: iso.SignOnKeys{PIK: pik, MAK: wm}})
		if err != nil {
			return nil, err
		}
		m.Set(62, h.corrupt(h.signOns, m.Value(62)))
		body, err := h.d.Encode(m, nil)
		return isoswitch.Raw(body), err
	case iso.SaleRequest:
		h.sales++
		if !c.HasMAC || !c.MACValid {
			h.badMACs++
			return iso.FinancialResponse{Reply: iso.Reply{Code: iso.CodeMACError, HostTime: time.Now()}, Of: r.Kind()}, nil
		}
		return iso.FinancialResponse{Reply: rep, Of: r.Kind(), Amount: r.Amount}, nil
	}
	return iso.NetworkResponse{Reply: rep, Of: c.Request.Kind()}, nil
}

func (h *keyBlockHost) counts() (signOns, sales, badMACs int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.signOns, h.sales, h.badMACs
}

// The 003 block is PIK 16 + CV 4 + MAK 8 + 8 zeros + CV 4: hex 0-31 PIK,
// 32-39 its CV, 40-55 MAK cipher, 56-71 filler, 72-79 MAK CV.
var blockFaults = map[string]struct {
	corrupt func(string) string
	want    error
}{
	"bad MAK check value": {func(f string) string { return f[:72] + flipHex(f[72:74]) + f[74:] }, iso.ErrKeyCheckValue},
	"non-zero filler":     {func(f string) string { return f[:56] + "0000000000000001" + f[72:] }, iso.ErrMalformed},
	"short block":         {func(f string) string { return f[:78] }, iso.ErrMalformed},
}

func flipHex(b string) string {
	if b[0] == '0' {
		return "F" + b[1:]
	}
	return "0" + b[1:]
}

func keyBlockTerminal(t *testing.T, corrupt func(int, string) string) (*isoswitch.Terminal, *keyBlockHost) {
	t.Helper()
	d := dialectsUnderTest(t)["cup"]
	h := &keyBlockHost{d: d, corrupt: corrupt, keys: &keyring{keys: map[iso.TerminalID][]byte{}}}
	_, addr := startServer(t, d, h, h.keys, nil)
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: testTMK, Journal: openJournal(t)},
		isoswitch.WithTimeout(2*time.Second), isoswitch.WithKeyScheme(iso.KeysDoubleDES),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 0 }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return term, h
}

// TestBadKeyBlockLeavesTheTerminalSignedOff: a sign-on whose key block is
// not the published one (bad MAK check value, non-zero filler, short) fails
// with a typed error and installs nothing; the sale after it signs on again,
// fails the same way, and nothing reaches the host MACed under any key.
func TestBadKeyBlockLeavesTheTerminalSignedOff(t *testing.T) {
	for name, f := range blockFaults {
		t.Run(name, func(t *testing.T) {
			term, h := keyBlockTerminal(t, func(_ int, f62 string) string { return f.corrupt(f62) })
			if err := term.Start(ctx5(t), "01"); !errors.Is(err, f.want) {
				t.Fatalf("start: %v, want %v", err, f.want)
			}
			_, err := term.Sale(ctx5(t), "01", cny10, visa)
			if !errors.Is(err, f.want) {
				t.Fatalf("sale after the failed sign-on: %v, want %v", err, f.want)
			}
			if signOns, sales, _ := h.counts(); signOns != 2 || sales != 0 {
				t.Errorf("host saw %d sign-ons and %d sales; want 2 and none", signOns, sales)
			}
		})
	}
}

// TestFailedReSignOnDropsTheOldKeys: after a good sign-on and a sale, a new
// sign-on with a bad block leaves the terminal signed off: the next sale is
// not MACed under the old keys; it signs on again and fails.
func TestFailedReSignOnDropsTheOldKeys(t *testing.T) {
	f := blockFaults["bad MAK check value"]
	term, h := keyBlockTerminal(t, func(n int, f62 string) string {
		if n == 1 {
			return f62
		}
		return f.corrupt(f62)
	})
	if err := term.Start(ctx5(t), "01"); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatalf("sale under the good keys: %v", err)
	}
	if err := term.SignOn(ctx5(t), "01"); !errors.Is(err, iso.ErrKeyCheckValue) {
		t.Fatalf("re-sign-on: %v, want ErrKeyCheckValue", err)
	}
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); !errors.Is(err, iso.ErrKeyCheckValue) {
		t.Fatalf("sale after the failed re-sign-on: %v, want ErrKeyCheckValue", err)
	}
	if signOns, sales, bad := h.counts(); signOns != 3 || sales != 1 || bad != 0 {
		t.Errorf("host saw %d sign-ons, %d sales (%d bad MACs); want 3, 1, 0", signOns, sales, bad)
	}
}

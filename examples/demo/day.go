package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// day is the shop: a host, a terminal and its journal.
type day struct {
	dialect iso.Dialect
	host    *switchtest.Host
	dir     string
	journal *reversal.Journal
	term    *isoswitch.Terminal
	ops     *isoswitch.Operators
}

// The people at the till, and a published test card.
var (
	cashier    = isoswitch.Credentials{Operator: "01", Password: "4711"}
	supervisor = isoswitch.Credentials{Operator: "00", Password: "demo-supervisor"}
	card       = iso.Card{PAN: "6200000000000005", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	// dataKey encrypts full PANs in the journal (a demo key; a terminal
	// keeps its own in secure storage).
	dataKey = bytes.Repeat([]byte{0x44}, 32)
)

const terminalID, merchantID = iso.TerminalID("SHOP0001"), iso.MerchantID("898310048160001")

func newDay() (*day, error) {
	dialect, err := cup.New()
	if err != nil {
		return nil, err
	}
	host, err := switchtest.Start(dialect)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "posswitch-demo")
	if err != nil {
		return nil, err
	}
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	if err := ops.Add("01", isoswitch.RoleCashier, "4711"); err != nil {
		return nil, err
	}
	if err := ops.Add("00", isoswitch.RoleSupervisor, "demo-supervisor"); err != nil {
		return nil, err
	}
	d := &day{dialect: dialect, host: host, dir: dir, ops: ops}
	return d, d.openTerminal(context.Background())
}

// openTerminal opens the journal and starts a terminal on it: at start-up
// it recovers whatever a crash left unknown.
func (d *day) openTerminal(ctx context.Context) error {
	j, err := reversal.Open(filepath.Join(d.dir, "journal.db"), reversal.WithDataKey(dataKey))
	if err != nil {
		return err
	}
	term, err := isoswitch.New(isoswitch.Config{Dialect: d.dialect, Addr: d.host.Addr, Terminal: terminalID,
		Merchant: merchantID, MasterKey: d.host.TMK, Journal: j},
		isoswitch.WithTimeout(300*time.Millisecond), isoswitch.WithAuthoriser(d.ops),
		isoswitch.WithReversalPolicy(reversal.Policy{Backoff: func(int) time.Duration { return 50 * time.Millisecond }}),
		isoswitch.WithTrace(trace))
	if err != nil {
		return err
	}
	d.journal, d.term = j, term
	return term.Start(ctx, "01")
}

// crash drops the terminal and its journal as a power cut would.
func (d *day) crash() {
	d.term.Close()
	d.journal.Close()
}

func (d *day) close() {
	if d.term != nil {
		d.term.Close()
	}
	if d.journal != nil {
		d.journal.Close()
	}
	d.host.Close()
	os.RemoveAll(d.dir)
}

// trace prints every message the terminal sends and receives, masked.
func trace(dir string, m *iso.Message) {
	arrow := map[string]string{"send": "→", "recv": "←", "late": "← late"}[dir]
	fmt.Printf("      %s %s\n", arrow, m)
}

func say(format string, args ...any) { fmt.Printf("   "+format+"\n", args...) }

func receipt(r isoswitch.Result) {
	row := func(text string) string { return fmt.Sprintf("│ %-36s │", text) }
	lines := []string{
		"┌─────────────── SALE ─────────────────┐",
		row(fmt.Sprintf("merchant %s", merchantID)),
		row(fmt.Sprintf("terminal %s", terminalID)),
		row("card     " + r.MaskedPAN),
		row(fmt.Sprintf("amount   %s", r.Amount)),
		row(fmt.Sprintf("batch %s   trace %s", r.Batch, r.STAN)),
		row(fmt.Sprintf("ref %s   auth %s", r.RRN, r.AuthCode)),
		row(r.HostTime.Format("2006-01-02 15:04:05") + "  " + string(r.Code) + " " + r.Meaning),
		"└──────────────────────────────────────┘",
	}
	say("%s", strings.Join(lines, "\n   "))
}

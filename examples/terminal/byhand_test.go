package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// byHand runs the command as the README's "Try it by hand" types it, in a
// directory of its own: the host address and the files' paths are the only
// flags added (the README's run in the current directory, against
// examples/acquirer on its default address, whose master key is
// switchtest.DefaultTMK as here).
type byHand struct {
	t    *testing.T
	dir  string
	host string
	all  strings.Builder
}

func (b *byHand) run(args ...string) (stdout, stderr string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := func(name string) string { return filepath.Join(b.dir, name) }
	// The README's commands start with -dev or -dialect: put the paths
	// before them, and a -journal the README gives after, relative to dir.
	args = append([]string{}, args...)
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-journal" {
			args[i+1] = in(args[i+1])
		}
	}
	base := []string{"-host", b.host, "-journal", in("terminal.db"), "-operators", in("operators.json"),
		"-dev-file", in("posswitch-dev.json")}
	var out, errs bytes.Buffer
	err = run(ctx, append(base, args...), &out, &errs)
	b.all.WriteString(out.String() + errs.String())
	return out.String(), errs.String(), err
}

func (b *byHand) ok(args ...string) string {
	b.t.Helper()
	out, errs, err := b.run(args...)
	if err != nil {
		b.t.Fatalf("%q: %v\n%s%s", args, err, out, errs)
	}
	if !strings.Contains(errs, "NOT FOR PRODUCTION") && args[0] == "-dev" && args[1] != "init" {
		b.t.Errorf("%q ran with development settings without saying so:\n%s", args, errs)
	}
	return out
}

func must(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !regexp.MustCompile(w).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestTryItByHand is the README's "Try it by hand", command for command,
// for both dialects: one step to provision, then sign-on, sale, void,
// settle and the journal without a -tmk, -data-key or password.
func TestTryItByHand(t *testing.T) {
	dir := t.TempDir()
	cupD, _ := cup.New()
	b := &byHand{t: t, dir: dir, host: switchtest.NewHost(t, cupD).Addr}
	t.Cleanup(func() {
		if strings.Contains(b.all.String(), pan) {
			t.Errorf("a clear PAN was printed:\n%s", b.all.String())
		}
	})

	// Without the development file, -dev says what to do.
	if _, _, err := b.run("-dev", "sign-on"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-dev init") {
		t.Errorf("-dev before init: %v", err)
	}
	if _, _, err := b.run("init"); !errors.Is(err, errUsage) {
		t.Errorf("init without -dev: %v", err)
	}

	// CUP.
	must(t, b.ok("-dev", "init"), "NOT FOR PRODUCTION", "operator 00 +supervisor +password s3cret-sup", "operator 01 +cashier +password 4711")
	if _, _, err := b.run("init", "-dev"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second init: %v, want refused", err)
	}
	must(t, b.ok("-dev", "sign-on"), "signed on .* as operator 01: working keys verified; open batch 000001")
	must(t, b.ok("-dev", "sale", "25.99", "4111111111111111", "2812"), "CNY 25.99", "00 approved", "trace +000003")
	must(t, b.ok("-dev", "-operator", "00", "void", "000003"), "VOID", "CNY 25.99")
	must(t, b.ok("-dev", "sale", "10.00", "4111111111111111", "2812"), "00 approved")
	must(t, b.ok("-dev", "-operator", "00", "settle"), "000001 closed; next 000002")
	must(t, b.ok("-dev", "journal", "list"), `sale +approved +CNY 25.99`, `void +approved +CNY 25.99`, `sale +approved +CNY 10.00`)

	// ISO87: another simulator, the same development files, its own journal.
	i87, _ := iso87.New()
	b.host = switchtest.NewHost(t, i87).Addr
	must(t, b.ok("-dev", "-dialect", "iso87", "-journal", "iso87.db", "sign-on"), "open batch 000001")
	must(t, b.ok("-dev", "-dialect", "iso87", "-journal", "iso87.db", "sale", "25.99", "4111111111111111", "2812"), "00 approved", "trace +000003")
	must(t, b.ok("-dev", "-dialect", "iso87", "-journal", "iso87.db", "-operator", "00", "void", "000003"), "VOID")
	must(t, b.ok("-dev", "-dialect", "iso87", "-journal", "iso87.db", "-operator", "00", "settle"), "000001 closed; next 000002")

	if _, err := os.Stat(filepath.Join(dir, "iso87.db")); err != nil {
		t.Errorf("the ISO87 journal: %v", err)
	}
}

// TestRestartedSimulatorAfterSettling: the simulator restarts after the
// terminal settled batch 000001, and announces 000001 again. The terminal
// does not reopen a batch it settled: the first command says so in words,
// once (no raw log line), and the terminal sells on in 000002; the next
// commands do not repeat it, and after the next settlement the numbers
// agree and nothing more is said.
func TestRestartedSimulatorAfterSettling(t *testing.T) {
	s := newShop(t, "cup")
	s.ok(cashier, "sale", "1.00", pan)
	s.ok(supervisor, "settle")
	cupD, _ := cup.New()
	s.flags = append(s.flags, "-host", switchtest.NewHost(t, cupD).Addr) // restarted: the host says 000001
	runErr := func(who []string, args ...string) (string, string) {
		t.Helper()
		var out, errs bytes.Buffer
		if err := run(context.Background(), append(append(append([]string{}, s.flags...), who...), args...), &out, &errs); err != nil {
			t.Fatalf("%q after the restart: %v\n%s%s", args, err, out.String(), errs.String())
		}
		s.all.WriteString(out.String() + errs.String())
		return out.String(), errs.String()
	}
	out, errs := runErr(cashier, "sale", "2.00", pan)
	must(t, out, "batch +000002 +trace")
	want := "note: the host is on batch 000001, which this terminal has already used, so it stays on batch 000002; the host has lost its batch history (a restarted simulator?): transactions go on in 000002, and the numbers agree again after the next settlement\n"
	if errs != want {
		t.Errorf("stderr:\n%q\nwant\n%q", errs, want)
	}
	for range 2 {
		if _, errs := runErr(cashier, "sign-on"); errs != "" {
			t.Errorf("said again: %q", errs)
		}
	}
	runErr(supervisor, "settle")
	for range 2 {
		if _, errs := runErr(cashier, "sign-on"); errs != "" {
			t.Errorf("after settling: %q", errs)
		}
	}
	if _, err := os.Stat(s.dir + "/terminal.db.batch-note"); err == nil {
		t.Error("the note file outlived the mismatch")
	}
}

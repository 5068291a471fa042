package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in       string
		currency iso.Currency
		minor    int64
	}{
		{"25.99", iso.CNY, 2599},
		{"25.9", iso.CNY, 2590},
		{"25", iso.CNY, 2500},
		{"0.01", iso.CNY, 1},
		{"007.10", iso.CNY, 710},
		{"1500", iso.JPY, 1500},
		{"1.234", iso.KWD, 1234},
		{"9999999999.99", iso.CNY, 999_999_999_999},
	} {
		a, err := parseAmount(c.in, c.currency)
		if err != nil || a != (iso.Amount{Minor: c.minor, Currency: c.currency}) {
			t.Errorf("parseAmount(%q, %s) = %v, %v; want %d minor units", c.in, c.currency.Alpha, a, err, c.minor)
		}
	}
	for _, c := range []struct {
		in       string
		currency iso.Currency
	}{
		{"25.999", iso.CNY}, // more decimals than CNY has
		{"100.5", iso.JPY},  // JPY has none
		{"100.", iso.CNY}, {".5", iso.CNY}, {"", iso.CNY}, {".", iso.CNY},
		{"0", iso.CNY}, {"0.00", iso.CNY}, {"-5", iso.CNY}, {"+5", iso.CNY},
		{"1e3", iso.CNY}, {"1,000.00", iso.CNY}, {"1 000", iso.CNY}, {"1_000", iso.CNY},
		{"25.99 ", iso.CNY}, {"٢٥", iso.CNY}, {"0x10", iso.CNY}, {"NaN", iso.CNY},
		{"10000000000.00", iso.CNY},          // 13 digits: F4 holds 12
		{"99999999999999999999999", iso.JPY}, // beyond int64
	} {
		if a, err := parseAmount(c.in, c.currency); err == nil {
			t.Errorf("parseAmount(%q, %s) = %v, want an error", c.in, c.currency.Alpha, a)
		}
	}
}

// TestBadInputRefused: bad flags and arguments are usage errors, found
// before the journal is opened or the host is dialled (there is no host
// here, and the journal must not appear).
func TestBadInputRefused(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "terminal.db")
	base := []string{"-host", refusedAddr(t), "-journal", journal, "-operators", filepath.Join(dir, "ops.json"),
		"-tmk", "11221122112211221122112211221122", "-password", "4711"}
	for _, args := range [][]string{
		{"-dialect", "cup87", "sign-on"},
		{"-tmk", "1122", "sign-on"},
		{"-tmk", "zz", "sign-on"},
		{"-data-key", "0011", "sign-on"},
		{"-tid", "TERM00001", "sign-on"},
		{"-mid", "123", "sign-on"},
		{"-currency", "XYZ", "sign-on"},
		{"-timeout", "0s", "sign-on"},
		{"-nonsense", "sign-on"},
		{},
		{"dance"},
		{"sign-on", "now"},
		{"sale", "25.999", pan},
		{"-currency", "JPY", "sale", "100.5", pan},
		{"sale", "-1", pan},
		{"sale", "25.99"},
		{"sale", "25.99", "4111111111111112"}, // fails the Luhn check
		{"sale", "25.99", pan, "13/28"},
		{"payment-code", "1.00", "12"},
		{"balance"},
		{"void", "abc"},
		{"void", "0"},
		{"void", "1000000"},
		{"refund", "000000000001", "24-01-02", "1.00", pan},
		{"refund", "0001", "2024-01-02", "1.00", pan},
		{"refund", "000000000001", "2024-01-02", "1.001", pan},
		{"cancel", "x"},
		{"cancel", "0"},
		{"settle", "now"},
		{"journal"},
		{"journal", "export", "xml"},
		{"operators", "remove", "01"},
		{"operators", "add", "01", "cashier"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append(append([]string{}, base...), args...), &stdout, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
		if err != nil && strings.Contains(err.Error(), "411111") {
			t.Errorf("%q: the error shows the card number: %v", args, err)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q printed %q", args, stdout.String())
		}
	}
	if _, err := os.Stat(journal); err == nil {
		t.Error("bad input created a journal")
	}
}

// TestOperatorsAdd provisions a terminal from nothing: the first operator
// needs no login but must be able to administer; after that, adding and
// changing passwords needs an operator allowed to.
func TestOperatorsAdd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "ops.json")
	add := func(who []string, args ...string) (string, error) {
		var stdout bytes.Buffer
		full := append(append([]string{"-operators", file}, who...), append([]string{"operators", "add"}, args...)...)
		err := run(context.Background(), full, &stdout, &bytes.Buffer{})
		return stdout.String(), err
	}
	if _, err := add(nil, "01", "cashier", "4711"); !errors.Is(err, errUsage) {
		t.Errorf("a cashier first: %v, want refused", err)
	}
	if out, err := add(nil, "00", "supervisor", "s3cret-sup"); err != nil || !strings.Contains(out, "added") {
		t.Fatalf("the first supervisor: %v %q", err, out)
	}
	if _, err := add(nil, "01", "cashier", "4711"); !errors.Is(err, errUsage) {
		t.Errorf("a second operator with no login: %v, want a usage error", err)
	}
	if _, err := add(supervisor, "01", "cashier", "4711"); err != nil {
		t.Errorf("the supervisor adds a cashier: %v", err)
	}
	if _, err := add(supervisor, "99", "admin", "adm1n-pass"); !errors.Is(err, isoswitch.ErrUnauthorised) {
		t.Errorf("the supervisor adds an admin: %v, want refused", err)
	}
	if _, err := add(cashier, "02", "cashier", "1234"); !errors.Is(err, isoswitch.ErrUnauthorised) {
		t.Errorf("a cashier adds a cashier: %v, want refused", err)
	}
	if _, err := add(supervisor, "01", "supervisor", "4711x"); err == nil {
		t.Error("changing a role succeeded")
	}
	t.Setenv("POSSWITCH_PASSWORD", "s3cret-sup")
	if out, err := add([]string{"-operator", "00"}, "01", "cashier", "9876"); err != nil || !strings.Contains(out, "password changed") {
		t.Errorf("a new password for the cashier (supervisor's password from the environment): %v %q", err, out)
	}
	ops, _, err := loadOperators(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Authorise(context.Background(), isoswitch.Credentials{Operator: "01", Password: "9876"}, isoswitch.ActionSale); err != nil {
		t.Errorf("the cashier's new password: %v", err)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("operators file mode: %v %v", info.Mode(), err)
	}
}

// TestLockoutSurvivesRuns: every run is a new process, so the failure count
// is saved; after three wrong passwords even the right one is refused.
func TestLockoutSurvivesRuns(t *testing.T) {
	s := newShop(t, "cup")
	for range 3 {
		if _, err := s.run([]string{"-operator", "01", "-password", "wrong"}, "sale", "1.00", pan); !errors.Is(err, isoswitch.ErrUnauthorised) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	_, err := s.run(cashier, "sale", "1.00", pan)
	if !errors.Is(err, isoswitch.ErrUnauthorised) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("the right password after the lockout: %v, want locked", err)
	}
	if _, err := s.run(supervisor, "sale", "1.00", pan); err != nil {
		t.Errorf("another operator is not locked out: %v", err)
	}
}

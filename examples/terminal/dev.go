package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// Development mode: `terminal -dev init` provisions a terminal for trying
// the CLI against examples/acquirer in one step. NOT FOR PRODUCTION: its
// master key is the simulator's published test key, its operators' passwords
// are printed here and in the README, and its data key sits in a plain file.

// devBanner goes to stderr on every command that runs with the development
// settings, so they are never mistaken for a provisioned terminal.
const devBanner = "terminal: DEVELOPMENT SETTINGS (%s), NOT FOR PRODUCTION: the simulator's test master key, known passwords\n"

// devOperators are the development operators and their passwords. They are
// well known on purpose: commands in development mode log them in when no
// password is given.
var devOperators = []struct {
	code     string
	role     isoswitch.Role
	password string
}{
	{"00", isoswitch.RoleSupervisor, "s3cret-sup"},
	{"01", isoswitch.RoleCashier, "4711"},
}

// devSettings is the development file: what -tmk and -data-key would say.
type devSettings struct {
	Warning string `json:"warning"`
	TMK     string `json:"tmk"`      // hex: switchtest.DefaultTMK, which examples/acquirer uses by default
	DataKey string `json:"data_key"` // hex: 32 random bytes, made by init
}

const devWarning = "NOT FOR PRODUCTION: development settings made by `terminal -dev init`"

// devInit is `terminal -dev init`: the operators file with a supervisor and
// a cashier, and the development file with the simulator's test master key
// and a fresh data key. It refuses to overwrite either file.
func devInit(cfg config, stdout io.Writer) error {
	for _, path := range []string{cfg.operators, cfg.devFile} {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: `init` provisions a new terminal only (remove it to start again)", path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return err
	}
	b, err := json.MarshalIndent(devSettings{Warning: devWarning, TMK: hex.EncodeToString(switchtest.DefaultTMK),
		DataKey: hex.EncodeToString(dataKey)}, "", "  ")
	if err != nil {
		return err
	}
	ops, _, err := loadOperators(cfg.operators)
	if err != nil {
		return err
	}
	for _, o := range devOperators {
		if err := ops.Add(o.code, o.role, o.password); err != nil {
			return err
		}
	}
	if err := os.WriteFile(cfg.devFile, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if err := saveOperators(cfg.operators, ops); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "*** NOT FOR PRODUCTION: development terminal ***")
	fmt.Fprintf(stdout, "wrote %s: the simulator's test master key and a new data key\n", cfg.devFile)
	fmt.Fprintf(stdout, "wrote %s:\n", cfg.operators)
	for _, o := range devOperators {
		fmt.Fprintf(stdout, "  operator %s  %-10s password %s\n", o.code, o.role, o.password)
	}
	fmt.Fprintln(stdout, "next: `terminal -dev sign-on` against `go run ./examples/acquirer` (same -dialect on both)")
	return nil
}

// applyDev fills in what the development file provides and the command
// line did not: the master key, the data key, and the password of a
// development operator. Flags given explicitly win.
func applyDev(cfg *config, stderr io.Writer) error {
	b, err := os.ReadFile(cfg.devFile)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("-dev: no %s; run `terminal -dev init` first", cfg.devFile)
	}
	if err != nil {
		return err
	}
	var s devSettings
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", cfg.devFile, err)
	}
	if cfg.tmk == nil {
		if cfg.tmk, err = hex.DecodeString(s.TMK); err != nil {
			return fmt.Errorf("%s: tmk: %w", cfg.devFile, err)
		}
	}
	if cfg.dataKey == nil {
		if cfg.dataKey, err = hex.DecodeString(s.DataKey); err != nil {
			return fmt.Errorf("%s: data_key: %w", cfg.devFile, err)
		}
	}
	if cfg.password == "" && os.Getenv("POSSWITCH_PASSWORD") == "" {
		for _, o := range devOperators {
			if o.code == cfg.operator {
				cfg.password = o.password
			}
		}
	}
	fmt.Fprintf(stderr, devBanner, cfg.devFile)
	return nil
}

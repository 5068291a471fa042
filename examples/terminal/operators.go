package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	isoswitch "github.com/posswitch/posswitch/switch"
)

// operatorsOptions configure every Operators the command builds. Empty in
// the program (bcrypt's default cost); the tests lower the cost, since
// NewOperators alone pays for one hash and the race detector makes that
// most of a second.
var operatorsOptions []isoswitch.OperatorsOption

// loadOperators reads the operators file. A missing file is an empty list
// (exists false), which only `operators add` accepts.
func loadOperators(path string) (ops *isoswitch.Operators, exists bool, err error) {
	ops = isoswitch.NewOperators(operatorsOptions...)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ops, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal(b, ops); err != nil {
		return nil, true, fmt.Errorf("operators file %s: %w", path, err)
	}
	return ops, true, nil
}

// saveOperators writes the file whole and renames it into place, so a
// crash leaves the old list or the new one, never half of each. It is
// saved after every authorisation too: each command is a new process, and
// the failure count and lockout must survive it, or a wrong password could
// be retried for ever.
func saveOperators(path string, ops *isoswitch.Operators) error {
	b, err := json.MarshalIndent(ops, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".operators-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path) // CreateTemp made it 0600: hashes stay private
}

// roles lists the operators' codes and roles. Operators has no accessor
// for them, so they are read back from its own JSON: the file format the
// command already persists.
func roles(ops *isoswitch.Operators) (map[string]isoswitch.Role, error) {
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, err
	}
	var f struct {
		Operators []struct {
			Code string         `json:"code"`
			Role isoswitch.Role `json:"role"`
		} `json:"operators"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	out := make(map[string]isoswitch.Role, len(f.Operators))
	for _, o := range f.Operators {
		out[o.Code] = o.Role
	}
	return out, nil
}

// addOperator is `operators add CODE ROLE PASSWORD`. The first operator of
// a new file needs no credentials (someone has to provision the terminal)
// but must be able to administer the rest, so it must be a supervisor or
// an admin. After that, -operator/-password must be allowed to administer:
// a new code is added (by a supervisor, only a cashier), an existing one
// gets the new password (roles never change, as in isoswitch).
func addOperator(ctx context.Context, cfg config, args []string, stdout io.Writer) (err error) {
	if len(args) != 3 {
		return usagef("operators add CODE ROLE PASSWORD")
	}
	code, role, password := args[0], isoswitch.Role(args[1]), args[2]
	ops, _, err := loadOperators(cfg.operators)
	if err != nil {
		return err
	}
	known, err := roles(ops)
	if err != nil {
		return err
	}
	if len(known) == 0 {
		if role != isoswitch.RoleSupervisor && role != isoswitch.RoleAdmin {
			return usagef("the first operator must be a %s or an %s, who can add the others", isoswitch.RoleSupervisor, isoswitch.RoleAdmin)
		}
		if err := ops.Add(code, role, password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s added as %s\n", code, role)
		return saveOperators(cfg.operators, ops)
	}
	who, err := cfg.credentials()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, saveOperators(cfg.operators, ops)) }() // the attempt counts
	if _, err := ops.Authorise(ctx, who, isoswitch.ActionAdmin); err != nil {
		return err
	}
	if _, ok := known[code]; !ok && known[who.Operator] != isoswitch.RoleAdmin && role != isoswitch.RoleCashier {
		// As isoswitch lets a supervisor administer only cashiers and
		// itself, it may not create another supervisor or an admin.
		return &isoswitch.AuthError{Operator: who.Operator, Action: isoswitch.ActionAdmin,
			Reason: fmt.Sprintf("role %s may not add a %s", known[who.Operator], role)}
	}
	if have, ok := known[code]; ok {
		if have != role {
			return fmt.Errorf("operator %s is a %s; roles do not change", code, have)
		}
		if err := ops.SetPassword(ctx, who, code, password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "operator %s (%s): password changed\n", code, role)
		return nil
	}
	if err := ops.Add(code, role, password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "operator %s added as %s\n", code, role)
	return nil
}

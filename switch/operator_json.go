package isoswitch

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type operatorJSON struct {
	Code        string    `json:"code"`
	Role        Role      `json:"role"`
	Hash        string    `json:"hash"`
	Failures    int       `json:"failures,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

type operatorsJSON struct {
	Operators []operatorJSON `json:"operators"`
}

// MarshalJSON exports codes, roles, bcrypt hashes, failure counts and lock
// expiries, sorted by code, so the application can persist them: a restart
// must not clear a lockout. Clear passwords are never kept, so never exported.
func (o *Operators) MarshalJSON() ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := operatorsJSON{Operators: []operatorJSON{}}
	for _, code := range slices.Sorted(maps.Keys(o.accounts)) {
		acc := o.accounts[code]
		acc.mu.Lock()
		out.Operators = append(out.Operators, operatorJSON{code, acc.role, string(acc.hash), acc.failures, acc.lockedUntil})
		acc.mu.Unlock()
	}
	return json.Marshal(out)
}

// UnmarshalJSON replaces all operators with those in data, as written by
// MarshalJSON. It checks every entry first and changes nothing on error.
// Options (lockout, clock, cost) are kept.
func (o *Operators) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var in operatorsJSON
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("isoswitch: operators: %w", err)
	}
	accounts := make(map[string]*account, len(in.Operators))
	for _, op := range in.Operators {
		_, costErr := bcrypt.Cost([]byte(op.Hash))
		switch {
		case !validCode(op.Code):
			return fmt.Errorf("isoswitch: operators: bad code %q", op.Code)
		case accounts[op.Code] != nil:
			return fmt.Errorf("isoswitch: operators: duplicate code %q", op.Code)
		case roleActions[op.Role] == nil:
			return fmt.Errorf("isoswitch: operators: %q has unknown role %q", op.Code, op.Role)
		case costErr != nil || op.Failures < 0:
			return fmt.Errorf("isoswitch: operators: %q has a bad hash or failure count", op.Code)
		}
		accounts[op.Code] = &account{role: op.Role, hash: []byte(op.Hash), failures: op.Failures, lockedUntil: op.LockedUntil}
	}
	o.mu.Lock()
	o.accounts = accounts
	o.mu.Unlock()
	return nil
}

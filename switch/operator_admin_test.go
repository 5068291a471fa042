package isoswitch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Operator administration, persistence and printing.

func TestAddValidation(t *testing.T) {
	o, _ := newTestOperators(t)
	for _, tc := range []struct {
		name, code string
		role       Role
		pw         string
	}{
		{"empty code", "", RoleCashier, "4321"},
		{"long code", "1234", RoleCashier, "4321"},
		{"space in code", "0 1", RoleCashier, "4321"},
		{"control char", "0\x01", RoleCashier, "4321"},
		{"non-ASCII", "é", RoleCashier, "4321"},
		{"duplicate", "01", RoleCashier, "4321"},
		{"unknown role", "03", Role("manager"), "4321"},
		{"empty role", "03", "", "4321"},
		{"short password", "03", RoleCashier, "123"},
		{"empty password", "03", RoleCashier, ""},
		{"too long for bcrypt", "03", RoleCashier, strings.Repeat("x", 73)},
		{"supervisor 123456", "03", RoleSupervisor, "123456"},
		{"supervisor 0000", "03", RoleSupervisor, "0000"},
		{"admin 123456", "03", RoleAdmin, "123456"},
		{"admin 0000", "03", RoleAdmin, "0000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := o.Add(tc.code, tc.role, tc.pw)
			if err == nil {
				t.Fatal("Add succeeded")
			}
			if tc.pw != "" {
				noPasswords(t, "error", err.Error(), tc.pw)
			}
		})
	}
	if _, err := o.Authorise(context.Background(), Credentials{Operator: "03", Password: "4321"}, ActionSale); err == nil {
		t.Error("a refused Add left operator 03 behind")
	}
	// Accepted: codes of 1-3 printable characters, a 4-character password,
	// and the cashier default "0000" (the factory-default rule is for the
	// roles that can undo money).
	for _, code := range []string{"1", "A~", "!#9"} {
		if err := o.Add(code, RoleCashier, "0000"); err != nil {
			t.Errorf("Add(%q): %v", code, err)
		}
	}
	if err := o.Add("98", RoleAdmin, "1234"); err != nil {
		t.Errorf("Add admin 1234: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()

	t.Run("supervisor changes cashier", func(t *testing.T) {
		o, _ := newTestOperators(t)
		if err := o.SetPassword(ctx, supervisor, "01", "2468"); err != nil {
			t.Fatal(err)
		}
		_, err := o.Authorise(ctx, cashier, ActionSale)
		wantAuthError(t, err, "01", ActionSale, "wrong password")
		if _, err := o.Authorise(ctx, Credentials{Operator: "01", Password: "2468"}, ActionSale); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unlocks", func(t *testing.T) {
		o, _ := newTestOperators(t)
		for range 3 {
			o.Authorise(ctx, Credentials{Operator: "01", Password: "0000"}, ActionSale)
		}
		if err := o.SetPassword(ctx, supervisor, "01", "1357"); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Authorise(ctx, Credentials{Operator: "01", Password: "1357"}, ActionSale); err != nil {
			t.Fatalf("still locked: %v", err)
		}
	})
	t.Run("changes own password", func(t *testing.T) {
		o, _ := newTestOperators(t)
		if err := o.SetPassword(ctx, supervisor, "00", "new-sup-pw"); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Authorise(ctx, Credentials{Operator: "00", Password: "new-sup-pw"}, ActionVoid); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("admin changes supervisor", func(t *testing.T) {
		o, _ := newTestOperators(t)
		if err := o.SetPassword(ctx, admin, "00", "new-sup-pw"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		o, _ := newTestOperators(t)
		err := o.SetPassword(ctx, cashier, "01", "2468")
		wantAuthError(t, err, "01", ActionAdmin, "role cashier may not admin")
		err = o.SetPassword(ctx, cashier, "02", "2468")
		wantAuthError(t, err, "01", ActionAdmin, "role cashier may not admin")
		err = o.SetPassword(ctx, Credentials{Operator: "00", Password: "guess"}, "01", "2468")
		wantAuthError(t, err, "00", ActionAdmin, "wrong password")
		err = o.SetPassword(ctx, supervisor, "99", "take-over")
		wantAuthError(t, err, "00", ActionAdmin, "role supervisor may not administer admin 99")
		if err := o.Add("10", RoleSupervisor, "other-sup"); err != nil {
			t.Fatal(err)
		}
		err = o.SetPassword(ctx, supervisor, "10", "take-over")
		wantAuthError(t, err, "00", ActionAdmin, "role supervisor may not administer supervisor 10")
		if err := o.SetPassword(ctx, supervisor, "55", "2468"); !errors.Is(err, ErrNoSuchOperator) {
			t.Errorf("unknown target: %v", err)
		}
		for _, pw := range []string{"123456", "0000", "12"} {
			if err := o.SetPassword(ctx, admin, "00", pw); err == nil {
				t.Errorf("SetPassword(00, %q) accepted", pw)
			}
		}
		// None of that changed a password.
		for _, c := range []Credentials{cashier, cashier2, supervisor, admin} {
			if _, err := o.Authorise(ctx, c, ActionSale); err != nil && !strings.Contains(err.Error(), "may not sale") {
				t.Errorf("%s: %v", c, err)
			}
		}
	})
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	o, _ := newTestOperators(t)
	err := o.Remove(ctx, cashier, "02")
	wantAuthError(t, err, "01", ActionAdmin, "role cashier may not admin")
	err = o.Remove(ctx, supervisor, "99")
	wantAuthError(t, err, "00", ActionAdmin, "role supervisor may not administer admin 99")
	if err := o.Remove(ctx, supervisor, "00"); err == nil {
		t.Error("supervisor removed itself")
	}
	if err := o.Remove(ctx, admin, "99"); err == nil {
		t.Error("admin removed itself")
	}
	if err := o.Remove(ctx, supervisor, "02"); err != nil {
		t.Fatal(err)
	}
	_, err = o.Authorise(ctx, cashier2, ActionSale)
	wantAuthError(t, err, "02", ActionSale, "unknown operator")
	if err := o.Remove(ctx, supervisor, "02"); !errors.Is(err, ErrNoSuchOperator) {
		t.Errorf("second remove: %v", err)
	}
	if err := o.Remove(ctx, admin, "00"); err != nil {
		t.Fatal(err)
	}
	_, err = o.Authorise(ctx, supervisor, ActionVoid)
	wantAuthError(t, err, "00", ActionVoid, "unknown operator")
	// The code can be reused.
	if err := o.Add("02", RoleCashier, "9753"); err != nil {
		t.Fatal(err)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	ctx := context.Background()
	o, clk := newTestOperators(t)
	o.Authorise(ctx, Credentials{Operator: "02", Password: "0000"}, ActionSale) // 02: 1 failure
	for range 3 {
		o.Authorise(ctx, Credentials{Operator: "00", Password: "0000"}, ActionVoid) // 00: locked
	}
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	noPasswords(t, "JSON", string(data))
	if strings.Contains(strings.ToLower(string(data)), "password") {
		t.Errorf("JSON has a password field: %s", data)
	}
	var doc struct {
		Operators []struct {
			Code, Role, Hash string
			Failures         int
			LockedUntil      time.Time `json:"locked_until"`
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Operators) != 4 {
		t.Fatalf("%d operators in %s", len(doc.Operators), data)
	}
	pws := map[string]string{"00": supervisorPW, "01": cashierPW, "02": cashier2PW, "99": adminPW}
	for i, op := range doc.Operators {
		if want := []string{"00", "01", "02", "99"}[i]; op.Code != want {
			t.Errorf("operator %d is %q, want %q (sorted)", i, op.Code, want)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(op.Hash), []byte(pws[op.Code])); err != nil {
			t.Errorf("%s: hash does not match its password: %v", op.Code, err)
		}
	}
	if f := doc.Operators[2].Failures; f != 1 {
		t.Errorf("02 failures = %d, want 1", f)
	}
	if lu := doc.Operators[0].LockedUntil; !lu.Equal(clk.Now().Add(15 * time.Minute)) {
		t.Errorf("00 locked until %v", lu)
	}

	restored := NewOperators(WithBcryptCost(bcrypt.MinCost), WithClock(clk.Now))
	if err := json.Unmarshal(data, restored); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(restored)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Errorf("round trip changed JSON:\n%s\n%s", data, again)
	}
	// The lock survived the restart.
	_, err = restored.Authorise(ctx, supervisor, ActionVoid)
	wantAuthError(t, err, "00", ActionVoid, "locked until 10:31:00")
	// So did 02's failure: two more lock it.
	for range 2 {
		restored.Authorise(ctx, Credentials{Operator: "02", Password: "0000"}, ActionSale)
	}
	_, err = restored.Authorise(ctx, cashier2, ActionSale)
	wantAuthError(t, err, "02", ActionSale, "locked until 10:31:00")
	if got, err := restored.Authorise(ctx, cashier, ActionSale); err != nil || got != "01" {
		t.Fatalf("restored cashier: %q, %v", got, err)
	}
	// A zero Operators can be restored into, too.
	var zero Operators
	if err := json.Unmarshal(data, &zero); err != nil {
		t.Fatal(err)
	}
	if _, err := zero.Authorise(ctx, admin, ActionAdmin); err != nil {
		t.Fatal(err)
	}
}

func TestUnmarshalRejectsBadData(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("4711"), bcrypt.MinCost)
	h := string(hash)
	for name, data := range map[string]string{
		"not JSON":       `{`,
		"bad code":       `{"operators":[{"code":"1234","role":"cashier","hash":"` + h + `"}]}`,
		"empty code":     `{"operators":[{"code":"","role":"cashier","hash":"` + h + `"}]}`,
		"duplicate":      `{"operators":[{"code":"01","role":"cashier","hash":"` + h + `"},{"code":"01","role":"admin","hash":"` + h + `"}]}`,
		"unknown role":   `{"operators":[{"code":"01","role":"boss","hash":"` + h + `"}]}`,
		"clear password": `{"operators":[{"code":"01","role":"cashier","hash":"4711"}]}`,
		"negative":       `{"operators":[{"code":"01","role":"cashier","hash":"` + h + `","failures":-1}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			o, _ := newTestOperators(t)
			if err := json.Unmarshal([]byte(data), o); err == nil {
				t.Fatal("accepted")
			}
			// Nothing changed.
			if _, err := o.Authorise(context.Background(), supervisor, ActionVoid); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCredentialsPrinting(t *testing.T) {
	c := Credentials{Operator: "01", Password: cashierPW}
	const want = "Credentials{Operator:01 Password:****}"
	if got := c.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%10v"} {
		for _, arg := range []any{c, &c, struct{ C Credentials }{c}, []Credentials{c}, map[string]Credentials{"k": c}} {
			got := fmt.Sprintf(verb, arg)
			noPasswords(t, verb, got)
			if verb == "%v" && !strings.Contains(got, want) {
				t.Errorf("%s of %T = %q, want it to contain %q", verb, arg, got, want)
			}
		}
	}
	if got := fmt.Sprintf("%#v", c); got != want {
		t.Errorf("%%#v = %q", got)
	}
	if got := fmt.Sprint(c); got != want {
		t.Errorf("Sprint = %q", got)
	}

	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("login", "creds", c)
		l.Info("login", slog.Any("creds", &c))
		l.Info("login", "wrapped", struct{ C Credentials }{c})
	}
	noPasswords(t, "slog", buf.String())
	if !strings.Contains(buf.String(), "creds.operator=01") || !strings.Contains(buf.String(), `"password":"****"`) {
		t.Errorf("slog output lacks operator or mask:\n%s", buf.String())
	}

	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	noPasswords(t, "json", string(data))
}

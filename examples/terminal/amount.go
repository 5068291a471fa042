package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/posswitch/posswitch/iso"
)

// parseAmount reads an amount as a cashier types it ("25.99", "25.9",
// "25") into minor units of c. It works on the digits as text, never
// through a float, and refuses what it would otherwise have to round or
// guess: more decimals than the currency has (25.999 CNY, 100.5 JPY), a
// sign, an exponent, separators, or a bare point. The amount is not card
// data, so errors may quote it.
func parseAmount(s string, c iso.Currency) (iso.Amount, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if !isDigits(whole) || (hasPoint && !isDigits(frac)) {
		return iso.Amount{}, fmt.Errorf("amount %q: want digits with an optional decimal point, like 25.99", s)
	}
	if len(frac) > c.Exponent {
		return iso.Amount{}, fmt.Errorf("amount %q has %d decimal places; %s has %d", s, len(frac), c.Alpha, c.Exponent)
	}
	digits := strings.TrimLeft(whole+frac+strings.Repeat("0", c.Exponent-len(frac)), "0")
	if len(digits) > 12 {
		return iso.Amount{}, fmt.Errorf("amount %q does not fit the 12 digits of an ISO 8583 amount", s)
	}
	var minor int64
	if digits != "" {
		minor, _ = strconv.ParseInt(digits, 10, 64) // at most 12 digits: cannot fail
	}
	if minor == 0 {
		return iso.Amount{}, fmt.Errorf("amount %q: must be greater than zero", s)
	}
	a := iso.Amount{Minor: minor, Currency: c}
	return a, a.Validate()
}

// isDigits reports whether s is one or more ASCII digits (strconv would
// also take a sign, and unicode.IsDigit other scripts' digits).
func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

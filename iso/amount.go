package iso

import (
	"fmt"
	"strconv"
)

// Currency is an ISO 4217 currency. Only currencies in the package's table
// are accepted, so a typo cannot reach the host as an unknown code.
type Currency struct {
	Alpha    string // "CNY"
	Numeric  string // "156", as it travels in F49
	Exponent int    // minor-unit digits: 2 for CNY, 0 for JPY
}

// Currencies used by acquirers posswitch's dialects serve. Numeric codes and
// exponents are ISO 4217's published values.
var (
	CNY = Currency{"CNY", "156", 2}
	USD = Currency{"USD", "840", 2}
	EUR = Currency{"EUR", "978", 2}
	GBP = Currency{"GBP", "826", 2}
	HKD = Currency{"HKD", "344", 2}
	JPY = Currency{"JPY", "392", 0}
	SGD = Currency{"SGD", "702", 2}
	AUD = Currency{"AUD", "036", 2}
	CAD = Currency{"CAD", "124", 2}
	CHF = Currency{"CHF", "756", 2}
	KRW = Currency{"KRW", "410", 0}
	MOP = Currency{"MOP", "446", 2}
	TWD = Currency{"TWD", "901", 2}
	THB = Currency{"THB", "764", 2}
	MYR = Currency{"MYR", "458", 2}
	INR = Currency{"INR", "356", 2}
	KWD = Currency{"KWD", "414", 3}
	BHD = Currency{"BHD", "048", 3}
)

var currencies = []Currency{CNY, USD, EUR, GBP, HKD, JPY, SGD, AUD, CAD, CHF, KRW, MOP, TWD, THB, MYR, INR, KWD, BHD}

// CurrencyByCode finds a currency by its alphabetic ("CNY") or numeric
// ("156") code.
func CurrencyByCode(code string) (Currency, error) {
	for _, c := range currencies {
		if c.Alpha == code || c.Numeric == code {
			return c, nil
		}
	}
	return Currency{}, InvalidField("Currency", "unknown ISO 4217 code %q", code)
}

func (c Currency) validate() error {
	known, err := CurrencyByCode(c.Numeric)
	if err != nil || known != c {
		return InvalidField("Currency", "not a known ISO 4217 currency")
	}
	return nil
}

// MaxAmount is the largest value an n12 amount field can carry.
const MaxAmount = 999_999_999_999

// Amount is money in minor units (fen, cents) of a currency. There are no
// floats anywhere in posswitch: 0.1+0.2 is not a price.
type Amount struct {
	Minor    int64
	Currency Currency
}

// Validate accepts a positive amount that fits in n12 in a known currency.
func (a Amount) Validate() error {
	if a.Minor <= 0 {
		return InvalidField("Amount", "must be greater than zero")
	}
	if a.Minor > MaxAmount {
		return InvalidField("Amount", "wider than the 12 digits of F4")
	}
	return a.Currency.validate()
}

// n12 is the amount as it travels in F4: twelve zero-padded digits.
func (a Amount) n12() string { return fmt.Sprintf("%012d", a.Minor) }

// String formats the amount with its decimal point: "CNY 12.34".
func (a Amount) String() string {
	if a.Currency.Exponent == 0 {
		return a.Currency.Alpha + " " + strconv.FormatInt(a.Minor, 10)
	}
	unit := int64(1)
	for range a.Currency.Exponent {
		unit *= 10
	}
	sign := ""
	m := a.Minor
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s %s%d.%0*d", a.Currency.Alpha, sign, m/unit, a.Currency.Exponent, m%unit)
}

// ParseN12 reads an n12 amount field (F4, F54 parts) as minor units.
func ParseN12(field int, s string) (int64, error) {
	if len(s) != 12 || !IsDigits(s) {
		return 0, Malformed(field, "want 12 digits")
	}
	v, _ := strconv.ParseInt(s, 10, 64)
	return v, nil
}

// IsDigits says whether s is non-empty and all ASCII digits.
func IsDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

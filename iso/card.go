package iso

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// PAN is a primary account number. It prints masked (first 6, last 4) through
// every path a value can leak by: String, every fmt verb, JSON/text marshalling
// and slog. The clear digits are reachable only through Digits, so a reader
// can grep for every place that handles them.
type PAN string

// Digits returns the clear PAN, for the wire encoder and encrypted storage.
func (p PAN) Digits() string { return string(p) }

// Validate accepts 13–19 digits that pass the Luhn check.
func (p PAN) Validate() error {
	s := string(p)
	switch {
	case len(s) < 13 || len(s) > 19:
		return InvalidField("PAN", "must be 13 to 19 digits")
	case !IsDigits(s):
		return InvalidField("PAN", "must be digits only")
	case !luhnValid(s):
		return InvalidField("PAN", "fails the Luhn check")
	}
	return nil
}

// Masked returns the PAN as a receipt shows it: first 6 and last 4 digits.
func (p PAN) Masked() string { return maskMiddle(string(p), 6, 4) }

func (p PAN) String() string                { return p.Masked() }
func (p PAN) GoString() string              { return "iso.PAN(" + p.Masked() + ")" }
func (p PAN) LogValue() slog.Value          { return slog.StringValue(p.Masked()) }
func (p PAN) Format(f fmt.State, verb rune) { formatMasked(f, verb, p.Masked(), p.GoString()) }
func (p PAN) MarshalText() ([]byte, error)  { return []byte(p.Masked()), nil }

// Expiry is a card's expiry date as YYMM, the form F14 carries.
type Expiry string

// Validate accepts four digits with a month of 01–12.
func (e Expiry) Validate() error {
	s := string(e)
	if len(s) != 4 || !IsDigits(s) || s[2:] < "01" || s[2:] > "12" {
		return InvalidField("Expiry", "must be YYMM")
	}
	return nil
}

// ErrCardExpired is matched by *ExpiredCardError.
var ErrCardExpired = errors.New("iso: card expired")

// ExpiredCardError refuses a card whose expiry month has ended. It matches
// ErrCardExpired and ErrInvalidInput (nothing was sent or journaled); it
// never prints the expiry date.
type ExpiredCardError struct {
	At time.Time // the time the card was checked at
}

func (e *ExpiredCardError) Error() string {
	return "iso: card expired: its expiry month ended before " + e.At.Format(time.DateOnly)
}
func (e *ExpiredCardError) Is(target error) bool {
	return target == ErrCardExpired || target == ErrInvalidInput
}

// Expired reports whether a card expiring in e (YYMM, 20YY) can no longer
// be used at now: a card is good through the last day of its expiry month,
// in now's location. An invalid expiry is not expired (Validate says what
// is wrong with it).
func (e Expiry) Expired(now time.Time) bool {
	if e.Validate() != nil {
		return false
	}
	s := string(e)
	year := 2000 + int(s[0]-'0')*10 + int(s[1]-'0')
	month := time.Month(int(s[2]-'0')*10 + int(s[3]-'0'))
	firstAfter := time.Date(year, month+1, 1, 0, 0, 0, 0, now.Location())
	return !now.Before(firstAfter)
}

// CheckExpiry returns an *ExpiredCardError when the card's expiry (keyed
// or read from track 2) has passed at now, and nil when it has not or the
// card carries none.
func (c Card) CheckExpiry(now time.Time) error {
	e := c.Expiry
	if e == "" && c.Track2 != "" {
		e = c.Track2.Expiry()
	}
	if e.Expired(now) {
		return &ExpiredCardError{At: now}
	}
	return nil
}

func (e Expiry) String() string                { return "****" }
func (e Expiry) GoString() string              { return "iso.Expiry(****)" }
func (e Expiry) LogValue() slog.Value          { return slog.StringValue("****") }
func (e Expiry) Format(f fmt.State, verb rune) { formatMasked(f, verb, "****", e.GoString()) }
func (e Expiry) MarshalText() ([]byte, error)  { return []byte("****"), nil }

// Track2 is track-2 equivalent data: PAN, separator ('=' or 'D'), expiry,
// service code and discretionary data. It is sensitive authentication data:
// it never prints, and posswitch never stores it.
type Track2 string

// Validate accepts up to 37 characters of digits with one separator, whose
// PAN part is itself a valid PAN.
func (t Track2) Validate() error {
	pan, _, err := t.split()
	if err != nil {
		return err
	}
	return PrefixField("Track2", pan.Validate())
}

// PAN returns the account number the track carries.
func (t Track2) PAN() PAN { p, _, _ := t.split(); return p }

// Expiry returns the YYMM after the separator.
func (t Track2) Expiry() Expiry { _, e, _ := t.split(); return e }

func (t Track2) split() (PAN, Expiry, error) {
	s := strings.ReplaceAll(string(t), "D", "=")
	i := strings.IndexByte(s, '=')
	if len(s) > 37 || i < 0 || strings.Count(s, "=") != 1 || !IsDigits(s[:i]) || !IsDigits(s[i+1:]) {
		return "", "", InvalidField("Track2", "must be at most 37 digits with one separator")
	}
	exp := ""
	if len(s)-i-1 >= 4 {
		exp = s[i+1 : i+5]
	}
	return PAN(s[:i]), Expiry(exp), nil
}

func (t Track2) String() string                { return "Track2(****)" }
func (t Track2) GoString() string              { return "iso.Track2(****)" }
func (t Track2) LogValue() slog.Value          { return slog.StringValue("****") }
func (t Track2) Format(f fmt.State, verb rune) { formatMasked(f, verb, t.String(), t.GoString()) }
func (t Track2) MarshalText() ([]byte, error)  { return []byte("****"), nil }

// EntryMethod is how the card or code was read: the first two digits of F22.
type EntryMethod string

const (
	EntryManual      EntryMethod = "01"
	EntryMagstripe   EntryMethod = "02"
	EntryBarcode     EntryMethod = "03" // QR or barcode (payment code)
	EntryICC         EntryMethod = "05"
	EntryContactless EntryMethod = "07"
	EntryFallback    EntryMethod = "80"
)

// EntryMode is F22: how the card was read and whether a PIN came with it.
// Both dialects spell the third digit as 1 (PIN entered / can) or 2 (no PIN).
type EntryMode struct {
	Method     EntryMethod
	PINEntered bool
}

func (m EntryMode) wire() string {
	if m.PINEntered {
		return string(m.Method) + "1"
	}
	return string(m.Method) + "2"
}

func parseEntryMode(s string) (EntryMode, error) {
	if len(s) != 3 || !IsDigits(s) || (s[2] != '1' && s[2] != '2') {
		return EntryMode{}, Malformed(22, "want two method digits and 1 or 2")
	}
	return EntryMode{Method: EntryMethod(s[:2]), PINEntered: s[2] == '1'}, nil
}

func (m EntryMode) validate() error {
	switch m.Method {
	case EntryManual, EntryMagstripe, EntryBarcode, EntryICC, EntryContactless, EntryFallback:
		return nil
	}
	return InvalidField("Card.Entry", "unknown entry method %q", string(m.Method))
}

// Card is everything a terminal read from a card. Every field prints masked.
// Track2 and PINBlock are sensitive authentication data: the encoder puts them
// on the wire and no other part of posswitch keeps them.
type Card struct {
	PAN      PAN    // required unless Track2 carries it
	Expiry   Expiry // optional
	Track2   Track2 // magstripe and fallback reads
	Sequence string // card sequence number (F23), three digits, IC cards
	Entry    EntryMode
	PINBlock *PINBlock // enciphered PIN block, when a PIN was entered
}

// Account returns the PAN, taken from track 2 when it was not keyed.
func (c Card) Account() PAN {
	if c.PAN != "" {
		return c.PAN
	}
	return c.Track2.PAN()
}

// Validate checks every field present and that the card names an account.
func (c Card) Validate() error {
	if c.PAN == "" && c.Track2 == "" {
		return InvalidField("Card.PAN", "required (or Track2)")
	}
	if c.PAN != "" {
		if err := c.PAN.Validate(); err != nil {
			return PrefixField("Card", err)
		}
	}
	if c.Track2 != "" {
		if err := c.Track2.Validate(); err != nil {
			return PrefixField("Card", err)
		}
		if c.PAN != "" && c.Track2.PAN() != c.PAN {
			return InvalidField("Card.Track2", "names another account than Card.PAN")
		}
	}
	if c.Expiry != "" {
		if err := c.Expiry.Validate(); err != nil {
			return PrefixField("Card", err)
		}
	}
	if c.Sequence != "" && (len(c.Sequence) != 3 || !IsDigits(c.Sequence)) {
		return InvalidField("Card.Sequence", "must be three digits")
	}
	if c.Entry.PINEntered != (c.PINBlock != nil) {
		return InvalidField("Card.PINBlock", "must be present exactly when Entry.PINEntered is set")
	}
	return c.Entry.validate()
}

// String shows what a receipt may show.
func (c Card) String() string {
	return fmt.Sprintf("Card{PAN:%s Entry:%s}", c.Account().Masked(), c.Entry.wire())
}

func (c Card) GoString() string              { return "iso." + c.String() }
func (c Card) LogValue() slog.Value          { return slog.StringValue(c.String()) }
func (c Card) Format(f fmt.State, verb rune) { formatMasked(f, verb, c.String(), c.GoString()) }

// PaymentCode is the customer's one-time wallet code (QR or barcode) that the
// terminal scans. Like a PAN it is a bearer credential while it is valid, so
// it prints masked the same way.
type PaymentCode string

// Validate accepts 10 to 128 printable ASCII characters.
func (c PaymentCode) Validate() error {
	s := string(c)
	if len(s) < 10 || len(s) > 128 {
		return InvalidField("PaymentCode", "must be 10 to 128 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return InvalidField("PaymentCode", "must be printable ASCII without spaces")
		}
	}
	return nil
}

func (c PaymentCode) Masked() string                { return maskMiddle(string(c), 6, 4) }
func (c PaymentCode) String() string                { return c.Masked() }
func (c PaymentCode) GoString() string              { return "iso.PaymentCode(" + c.Masked() + ")" }
func (c PaymentCode) LogValue() slog.Value          { return slog.StringValue(c.Masked()) }
func (c PaymentCode) Format(f fmt.State, verb rune) { formatMasked(f, verb, c.Masked(), c.GoString()) }
func (c PaymentCode) MarshalText() ([]byte, error)  { return []byte(c.Masked()), nil }

// maskMiddle keeps the first head and last tail characters of s and stars the
// rest. Values too short to keep both visibly masked are starred entirely.
func maskMiddle(s string, head, tail int) string {
	if len(s) < head+tail+3 {
		return strings.Repeat("*", len(s))
	}
	return s[:head] + strings.Repeat("*", len(s)-head-tail) + s[len(s)-tail:]
}

// formatMasked answers every fmt verb with the masked form, so no verb (%x
// included) can print the clear value.
func formatMasked(f fmt.State, verb rune, masked, goSyntax string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, goSyntax)
	case verb == 'q':
		fmt.Fprintf(f, "%q", masked)
	default:
		fmt.Fprint(f, masked)
	}
}

// luhnValid reports whether the last digit of s is its Luhn check digit.
func luhnValid(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

package iso

// Exported forms of the checks and spellings a dialect outside this package
// needs; the dialects in iso/cup and iso/iso87 use nothing else.

// Validate checks the envelope: terminal and merchant IDs, STAN, batch,
// invoice and key scheme, as BuildRequest does before spelling anything.
func (e Envelope) Validate() error { return e.validate() }

// ValidateRequest checks a typed request the way every Dialect's
// BuildRequest must before it spells anything; invalid input is a
// *FieldError. A nil request is refused.
func ValidateRequest(r Request) error {
	if r == nil {
		return InvalidField("Request", "nil")
	}
	return r.validate()
}

// StartRequest validates env and r (nothing is built when either is bad)
// and returns the message every request starts from: F11 the STAN, F41 the
// terminal, F42 the merchant. A dialect's BuildRequest adds the rest.
func StartRequest(env Envelope, r Request) (*Message, error) {
	if err := env.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateRequest(r); err != nil {
		return nil, err
	}
	m := &Message{}
	m.Set(11, env.STAN.String())
	m.Set(41, string(env.Terminal))
	m.Set(42, string(env.Merchant))
	return m, nil
}

// N12 is the amount's minor units as twelve digits, F4's spelling.
func (a Amount) N12() string { return a.n12() }

// Validate refuses a currency that is not in the package's table.
func (c Currency) Validate() error { return c.validate() }

// Wire spells the entry mode as F22's three digits (method, then PIN
// entry: 1 a PIN was entered, 2 none).
func (m EntryMode) Wire() string { return m.wire() }

// Validate refuses an entry mode the dialects cannot spell.
func (m EntryMode) Validate() error { return m.validate() }

package iso

import (
	"encoding/hex"
	"strings"
)

// setCardFields writes a card's fields as both dialects place them: F2 when
// the PAN was keyed or read from a chip, F14, F22, F23, F35 (track text in
// the dialect's separator), and with a PIN: F26 (CUP), F52 and F53 (CUP).
func setCardFields(m *Message, c Card, trackSep string, cupPIN bool) {
	if c.PAN != "" {
		m.Set(2, c.PAN.Digits())
	}
	if c.Expiry != "" {
		m.Set(14, string(c.Expiry))
	}
	m.Set(22, c.Entry.wire())
	if c.Sequence != "" {
		m.Set(23, c.Sequence)
	}
	if c.Track2 != "" {
		m.Set(35, trackText(c.Track2, trackSep))
	}
	if c.PINBlock != nil {
		m.Set(52, hexText(c.PINBlock[:]))
		if cupPIN {
			m.Set(26, "12")               // maximum PIN length the terminal accepts (domain.md §3.1)
			m.Set(53, "2600000000000000") // format 0 with PAN, double-length 3DES, tracks in clear
		}
	}
}

// cardOf reads the card fields back.
func cardOf(m *Message) (Card, error) {
	var c Card
	c.PAN = PAN(m.Value(2))
	c.Expiry = Expiry(m.Value(14))
	if v, ok := m.Get(22); ok {
		e, err := parseEntryMode(v)
		if err != nil {
			return Card{}, err
		}
		c.Entry = e
	}
	c.Sequence = m.Value(23)
	if v, ok := m.Get(35); ok {
		c.Track2 = Track2(strings.ReplaceAll(v, "D", "="))
	}
	if v, ok := m.Get(52); ok {
		raw, err := hex.DecodeString(v)
		if err != nil || len(raw) != 8 {
			return Card{}, malformed(52, "want 8 bytes")
		}
		var pb PINBlock
		copy(pb[:], raw)
		c.PINBlock = &pb
	}
	return c, nil
}

// trackText spells track 2 with the dialect's separator ('D' or '=').
func trackText(t Track2, sep string) string {
	other := "="
	if sep == "=" {
		other = "D"
	}
	if !strings.Contains(string(t), other) {
		return string(t)
	}
	return strings.ReplaceAll(string(t), other, sep)
}

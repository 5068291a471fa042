package iso

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// CardSecurity is what CUP's card fields need from the session: whether
// the working keys are double-length (53.2) and who enciphers tracks.
// ISO87 passes nil: it sends neither F26 nor F53 and tracks in clear.
type CardSecurity struct {
	doubleLength bool
	tracks       TrackEncrypter // nil: tracks travel clear
}

// CardSecurityOf is what CUP's card fields need from env.
func CardSecurityOf(env Envelope) *CardSecurity {
	return &CardSecurity{doubleLength: env.KeyScheme != KeysSingleDES, tracks: env.Tracks}
}

// SetCardFields writes a card's fields as both dialects place them: F2 when
// the PAN was keyed or read from a chip, F14, F22, F23, F35 (track text in
// the dialect's separator), F52 with a PIN; and for CUP (sec non-nil) F26
// with a PIN, F35 enciphered when sec has a track encrypter, and F53
// whenever a PIN or a track is sent.
func SetCardFields(m *Message, c Card, trackSep string, sec *CardSecurity) error {
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
	enciphered := false
	if c.Track2 != "" {
		t := trackText(c.Track2, trackSep)
		if sec != nil && sec.tracks != nil {
			var err error
			if t, err = encipherTrack(t, sec.tracks); err != nil {
				return fmt.Errorf("iso: enciphering track 2: %w", err)
			}
			enciphered = true
		}
		m.Set(35, t)
	}
	if c.PINBlock != nil {
		m.Set(52, hexText(c.PINBlock[:]))
		if sec != nil {
			m.Set(26, "12") // maximum PIN length the terminal accepts (CaoEnXin/LiaoYang_POS Src/tranproc.c UpdateEntryModeByPIN)
		}
	}
	if sec != nil && (c.PINBlock != nil || c.Track2 != "") {
		m.Set(53, cupF53(c.PINBlock != nil, sec.doubleLength, enciphered))
	}
	return nil
}

// cupF53 spells the security control information n16 as
// CaoEnXin/LiaoYang_POS Src/tranproc.c UpdateEntryModeByPIN does: 53.1 is
// 2 (ISO 9564 format 0, with the PAN) when a PIN block is sent, else 0;
// 53.2 is 6 for double-length working keys and 0 for single-length; 53.3
// is 1 when tracks are enciphered under the TDK; the rest zeros.
func cupF53(pin, doubleLength, tracksEnciphered bool) string {
	f := []byte("0000000000000000")
	if pin {
		f[0] = '2'
	}
	if doubleLength {
		f[1] = '6'
	}
	if tracksEnciphered {
		f[2] = '1'
	}
	return string(f)
}

// CardOf reads the card fields back.
func CardOf(m *Message) (Card, error) {
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
			return Card{}, Malformed(52, "want 8 bytes")
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

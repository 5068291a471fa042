package iso

import (
	"encoding/hex"
	"strings"
)

// reversalICCTags are the EMV tags a reversal keeps of F55 (CaoEnXin/LiaoYang_POS
// Src/emvtranproc.c stReversalTagList): TVR, IFD serial, issuer application data, ATC and
// the script results. Everything else — track-2 equivalent (57) included —
// is dropped.
var reversalICCTags = map[string]bool{"95": true, "9F1E": true, "9F10": true, "9F36": true, "DF31": true}

// filterICC keeps the listed tags of BER-TLV ICC data given as hex text. Data
// that does not parse as BER-TLV is dropped whole: a reversal without F55 is
// acceptable, one that leaks card data is not.
func filterICC(text string, keep map[string]bool) string {
	data, err := hex.DecodeString(text)
	if err != nil {
		return ""
	}
	var out []byte
	for len(data) > 0 {
		tagLen := 1
		if data[0]&0x1F == 0x1F { // multi-byte tag: continue while bit 8 is set
			for tagLen < len(data) && data[tagLen]&0x80 != 0 {
				tagLen++
			}
			tagLen++
		}
		if tagLen >= len(data) {
			return ""
		}
		lenLen, n := 1, int(data[tagLen])
		if n&0x80 != 0 { // long form: the low bits count the length bytes
			lenLen = 1 + n&0x7F
			if lenLen > 3 || tagLen+lenLen > len(data) {
				return ""
			}
			n = 0
			for _, b := range data[tagLen+1 : tagLen+lenLen] {
				n = n<<8 | int(b)
			}
		}
		end := tagLen + lenLen + n
		if end > len(data) {
			return ""
		}
		if keep[hexText(data[:tagLen])] {
			out = append(out, data[:end]...)
		}
		data = data[end:]
	}
	return hexText(out)
}

// StripForReversal removes what a reversal must never carry (CaoEnXin/LiaoYang_POS
// Src/trancomm.c MakeReversalPack drops tracks 2 and 3 and the PIN fields;
// PCI DSS keeps sensitive authentication data out of anything stored):
// tracks, PIN data, and ICC tags outside the reversal list.
func StripForReversal(m *Message) {
	for _, id := range []int{26, 35, 36, 45, 52, 53} {
		m.Unset(id)
	}
	if v, ok := m.Get(55); ok {
		if kept := filterICC(v, reversalICCTags); kept != "" {
			m.Set(55, kept)
		} else {
			m.Unset(55)
		}
	}
}

// StripSensitive returns a copy of m fit to keep after it was sent (PCI DSS
// requirement 3: no sensitive authentication data after authorization):
// a swiped track's PAN and expiry move to F2 and F14, then tracks, PIN data
// and ICC tags outside the reversal list go, and so does the MAC. The copy
// still carries the PAN in F2; a store must encrypt or drop it. Reversals
// and repeats built from the copy are the same as from the original, but for
// the PAN a swiped request now carries in F2.
func StripSensitive(m *Message) *Message {
	c := m.Clone()
	// An enciphered track (CUP 53.3 = 1) is not readable here: its PAN and
	// expiry would be cipher nibbles, so nothing is taken from it.
	if t, ok := m.Get(35); ok && !m.Has(2) && !TracksEnciphered(m) {
		track := Track2(strings.ReplaceAll(t, "D", "="))
		if pan := track.PAN(); pan != "" {
			c.Set(2, pan.Digits())
		}
		if exp := track.Expiry(); exp != "" && !m.Has(14) {
			c.Set(14, string(exp))
		}
	}
	StripForReversal(c)
	c.Unset(64)
	c.Unset(128)
	return c
}

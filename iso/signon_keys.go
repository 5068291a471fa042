package iso

import (
	"encoding/hex"
)

// The working-key block of a sign-on reply, the same in both dialects (CUP
// F62, ISO87 F125; domain.md §3.3): PIK, its 4-byte check value, MAK, its
// check value and, for scheme 004, the TDK and its check value. Keys are 8
// bytes under scheme 001 and 16 under 003 and 004.

// wrappedKeysHex spells the block as hex text.
func wrappedKeysHex(k SignOnKeys) (string, error) {
	keys := []*WrappedKey{&k.PIK, &k.MAK}
	if k.TDK != nil {
		keys = append(keys, k.TDK)
	}
	var raw []byte
	for _, w := range keys {
		if len(w.CheckValue) != 4 {
			return "", invalid("Keys", "check values must be 4 bytes")
		}
		if len(w.Cipher) != len(k.PIK.Cipher) || (len(w.Cipher) != 8 && len(w.Cipher) != 16) {
			return "", invalid("Keys", "keys must all be 8 or all be 16 bytes")
		}
		raw = append(append(raw, w.Cipher...), w.CheckValue...)
	}
	return hexText(raw), nil
}

// splitSchemeKeys reads the block for the scheme code the request asked for.
func splitSchemeKeys(field int, hexText, schemeCode string) (SignOnKeys, error) {
	keyLen, count := 16, 2
	switch schemeCode {
	case "001":
		keyLen = 8
	case "003":
	case "004":
		count = 3
	default:
		return SignOnKeys{}, malformed(field, "request named no known key scheme")
	}
	raw, err := hex.DecodeString(hexText)
	if err != nil || len(raw) != count*(keyLen+4) {
		return SignOnKeys{}, malformed(field, "want %d keys of %d bytes with check values", count, keyLen)
	}
	w := make([]WrappedKey, count)
	for i := range w {
		p := raw[i*(keyLen+4):]
		w[i] = WrappedKey{Cipher: p[:keyLen:keyLen], CheckValue: p[keyLen : keyLen+4 : keyLen+4]}
	}
	out := SignOnKeys{PIK: w[0], MAK: w[1]}
	if count == 3 {
		out.TDK = &w[2]
	}
	return out, nil
}

// setSignOnKeys writes an approval's key block into field; a decline
// carries no keys.
func setSignOnKeys(m *Message, field int, r SignOnResponse) error {
	if !r.Code.Approved() {
		return nil
	}
	text, err := wrappedKeysHex(r.Keys)
	if err != nil {
		return err
	}
	m.Set(field, text)
	return nil
}

// signOnKeysOf reads an approval's key block from field for the scheme the
// request asked for; a decline has none.
func signOnKeysOf(reply *Message, field int, code ResponseCode, schemeCode string) (SignOnKeys, error) {
	if !code.Approved() {
		return SignOnKeys{}, nil
	}
	return splitSchemeKeys(field, reply.Value(field), schemeCode)
}

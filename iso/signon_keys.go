package iso

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

// The working-key block of a sign-on reply. Its layout is the dialect's:
// each dialect lists, per key scheme, the slots of the block (key cipher,
// binary-zero filler, 4-byte check value, in the order PIK, MAK, TDK), and
// one writer and one reader below lay and read any such list.

// KeySlot is one working key's place in a key block: the enciphered key,
// filler bytes that must be binary zeros, then its 4-byte check value.
type KeySlot struct {
	Cipher int // bytes of the key enciphered under the TMK: the clear key's length
	Filler int // binary zeros between the cipher and the check value
}

const checkValueLen = 4

func (s KeySlot) size() int { return s.Cipher + s.Filler + checkValueLen }

// KeyBlocks is a dialect's layout of the sign-on key block per scheme, in
// the order PIK, MAK, TDK (BaseConfig.KeyBlocks).
type KeyBlocks map[KeyScheme][]KeySlot

// KeyLengths are the clear lengths, in bytes, of the working keys a
// dialect's sign-on delivers under one key scheme. TDK is 0 when the
// scheme has no track-data key.
type KeyLengths struct {
	PIK, MAK, TDK int
}

// SignOnKeyLengths says how long the working keys of a sign-on under s
// are in d: what a host must generate and what a terminal will unwrap.
// CUP: PIK 8/16/16, MAK 8 in every scheme, TDK 16 under 004. ISO87
// (posswitch's private mapping): every key 8 under 001 and 16 otherwise.
func SignOnKeyLengths(d Dialect, s KeyScheme) (KeyLengths, error) {
	kb, ok := d.(interface{ KeyBlocks() KeyBlocks })
	if !ok {
		return KeyLengths{}, fmt.Errorf("%w: key lengths of a dialect without KeyBlocks", ErrUnsupported)
	}
	blocks := kb.KeyBlocks()
	slots, ok := blocks[s]
	if !ok {
		return KeyLengths{}, InvalidField("Scheme", "unknown key scheme")
	}
	out := KeyLengths{PIK: slots[0].Cipher, MAK: slots[1].Cipher}
	if len(slots) > 2 {
		out.TDK = slots[2].Cipher
	}
	return out, nil
}

// schemeOfCode maps a 60.3 code (CUP; ISO87 F48 tag K1) to its scheme.
func schemeOfCode(code string) (KeyScheme, bool) {
	for s, c := range schemeCodes {
		if c == code {
			return s, true
		}
	}
	return 0, false
}

// lay spells keys as blocks lays them out for scheme, as hex text.
// A key whose length does not fit its slot is refused (ErrKeyLength), so a
// host cannot send a block the published terminal would reject.
func (blocks KeyBlocks) lay(scheme KeyScheme, k SignOnKeys) (string, error) {
	slots, ok := blocks[scheme]
	if !ok {
		return "", InvalidField("Keys", "the request named no known key scheme")
	}
	keys := []*WrappedKey{&k.PIK, &k.MAK}
	if k.TDK != nil {
		keys = append(keys, k.TDK)
	}
	if len(keys) != len(slots) {
		return "", fmt.Errorf("%w: key scheme %s carries %d working keys, got %d",
			ErrKeyLength, scheme.String(), len(slots), len(keys))
	}
	var raw []byte
	for i, w := range keys {
		s := slots[i]
		if len(w.Cipher) != s.Cipher || len(w.CheckValue) != checkValueLen {
			return "", fmt.Errorf("%w: key scheme %s wants key %d as %d bytes with a %d-byte check value",
				ErrKeyLength, scheme.String(), i+1, s.Cipher, checkValueLen)
		}
		raw = append(raw, w.Cipher...)
		raw = append(raw, make([]byte, s.Filler)...)
		raw = append(raw, w.CheckValue...)
	}
	return hexText(raw), nil
}

// read splits a key block for scheme. A block of the wrong length or
// with non-zero filler is malformed: nothing of it is returned.
func (blocks KeyBlocks) read(field int, hexText string, scheme KeyScheme) (SignOnKeys, error) {
	slots, ok := blocks[scheme]
	if !ok {
		return SignOnKeys{}, Malformed(field, "request named no known key scheme")
	}
	want := 0
	for _, s := range slots {
		want += s.size()
	}
	raw, err := hex.DecodeString(hexText)
	if err != nil || len(raw) != want {
		return SignOnKeys{}, Malformed(field, "key scheme %s wants a %d-byte key block, got %d",
			scheme.String(), want, len(hexText)/2)
	}
	w := make([]WrappedKey, len(slots))
	for i, s := range slots {
		p := raw[:s.size():s.size()]
		raw = raw[s.size():]
		if !bytes.Equal(p[s.Cipher:s.Cipher+s.Filler], make([]byte, s.Filler)) {
			return SignOnKeys{}, Malformed(field, "key %d: the filler after its cipher is not binary zeros", i+1)
		}
		w[i] = WrappedKey{Cipher: p[:s.Cipher:s.Cipher], CheckValue: p[s.Cipher+s.Filler:]}
	}
	out := SignOnKeys{PIK: w[0], MAK: w[1]}
	if len(w) == 3 {
		out.TDK = &w[2]
	}
	return out, nil
}

// SetSignOnKeys writes an approval's key block into field; a decline
// carries no keys.
func SetSignOnKeys(m *Message, field int, blocks KeyBlocks, schemeCode string, r SignOnResponse) error {
	if !r.Code.Approved() {
		return nil
	}
	scheme, _ := schemeOfCode(schemeCode)
	text, err := blocks.lay(scheme, r.Keys)
	if err != nil {
		return err
	}
	m.Set(field, text)
	return nil
}

// SignOnKeysOf reads an approval's key block from field for the scheme the
// request asked for; a decline has none.
func SignOnKeysOf(reply *Message, field int, blocks KeyBlocks, code ResponseCode, schemeCode string) (SignOnKeys, error) {
	if !code.Approved() {
		return SignOnKeys{}, nil
	}
	scheme, _ := schemeOfCode(schemeCode)
	return blocks.read(field, reply.Value(field), scheme)
}

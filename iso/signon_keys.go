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

// keySlot is one working key's place in a key block: the enciphered key,
// filler bytes that must be binary zeros, then its 4-byte check value.
type keySlot struct {
	cipher int // bytes of the key enciphered under the TMK: the clear key's length
	filler int // binary zeros between the cipher and the check value
}

const checkValueLen = 4

func (s keySlot) size() int { return s.cipher + s.filler + checkValueLen }

// keyBlocks is a dialect's layout of the key block per scheme.
type keyBlocks map[KeyScheme][]keySlot

// cupKeyBlocks is the CUP 0810 F62 as the CUP POS specification lays it
// out, quoted in chfenix/iso8583 src/main/java/cn/agiledata/iso8583/entity/
// SignResponse.java and followed by CaoEnXin/LiaoYang_POS Src/pospin.c
// LogonDivKey and alon0808/ProjectAfcApp code/AfcCore/UnionPay/
// qpboc_8583.c: 001 is PIK 8 + CV 4 + MAK 8 + CV 4 (24 bytes); 003 is
// PIK 16 + CV 4, then the MAC key as 8 bytes of cipher, 8 binary zeros and
// its 4-byte check value (40 bytes): the MAK is single-length in every
// scheme, its check value single DES; 004 adds TDK 16 + CV 4 (60 bytes).
var cupKeyBlocks = keyBlocks{
	KeysSingleDES:      {{8, 0}, {8, 0}},
	KeysDoubleDES:      {{16, 0}, {8, 8}},
	KeysDoubleDESTrack: {{16, 0}, {8, 8}, {16, 0}},
}

// iso87KeyBlocks is posswitch's private ISO87 mapping (F125): every key of
// one length, 16 bytes for 003/004, since the ISO87 dialect MACs with
// ANSI X9.19 under a double-length MAK.
var iso87KeyBlocks = keyBlocks{
	KeysSingleDES:      {{8, 0}, {8, 0}},
	KeysDoubleDES:      {{16, 0}, {16, 0}},
	KeysDoubleDESTrack: {{16, 0}, {16, 0}, {16, 0}},
}

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
	var blocks keyBlocks
	switch d := d.(type) {
	case *cupDialect:
		blocks = d.keyBlocks
	case *iso87Dialect:
		blocks = d.keyBlocks
	default:
		return KeyLengths{}, fmt.Errorf("%w: key lengths of a dialect posswitch did not ship", ErrUnsupported)
	}
	slots, ok := blocks[s]
	if !ok {
		return KeyLengths{}, invalid("Scheme", "unknown key scheme")
	}
	out := KeyLengths{PIK: slots[0].cipher, MAK: slots[1].cipher}
	if len(slots) > 2 {
		out.TDK = slots[2].cipher
	}
	return out, nil
}

// schemeOfCode maps a 60.3 code (CUP; ISO87 F48 tag K1) to its scheme.
func schemeOfCode(code string) (KeyScheme, bool) {
	for s, c := range cupSchemeCodes {
		if c == code {
			return s, true
		}
	}
	return 0, false
}

// lay spells keys as blocks lays them out for scheme, as hex text.
// A key whose length does not fit its slot is refused (ErrKeyLength), so a
// host cannot send a block the published terminal would reject.
func (blocks keyBlocks) lay(scheme KeyScheme, k SignOnKeys) (string, error) {
	slots, ok := blocks[scheme]
	if !ok {
		return "", invalid("Keys", "the request named no known key scheme")
	}
	keys := []*WrappedKey{&k.PIK, &k.MAK}
	if k.TDK != nil {
		keys = append(keys, k.TDK)
	}
	if len(keys) != len(slots) {
		return "", fmt.Errorf("%w: key scheme %s carries %d working keys, got %d",
			ErrKeyLength, cupSchemeCodes[scheme], len(slots), len(keys))
	}
	var raw []byte
	for i, w := range keys {
		s := slots[i]
		if len(w.Cipher) != s.cipher || len(w.CheckValue) != checkValueLen {
			return "", fmt.Errorf("%w: key scheme %s wants key %d as %d bytes with a %d-byte check value",
				ErrKeyLength, cupSchemeCodes[scheme], i+1, s.cipher, checkValueLen)
		}
		raw = append(raw, w.Cipher...)
		raw = append(raw, make([]byte, s.filler)...)
		raw = append(raw, w.CheckValue...)
	}
	return hexText(raw), nil
}

// read splits a key block for scheme. A block of the wrong length or
// with non-zero filler is malformed: nothing of it is returned.
func (blocks keyBlocks) read(field int, hexText string, scheme KeyScheme) (SignOnKeys, error) {
	slots, ok := blocks[scheme]
	if !ok {
		return SignOnKeys{}, malformed(field, "request named no known key scheme")
	}
	want := 0
	for _, s := range slots {
		want += s.size()
	}
	raw, err := hex.DecodeString(hexText)
	if err != nil || len(raw) != want {
		return SignOnKeys{}, malformed(field, "key scheme %s wants a %d-byte key block, got %d",
			cupSchemeCodes[scheme], want, len(hexText)/2)
	}
	w := make([]WrappedKey, len(slots))
	for i, s := range slots {
		p := raw[:s.size():s.size()]
		raw = raw[s.size():]
		if !bytes.Equal(p[s.cipher:s.cipher+s.filler], make([]byte, s.filler)) {
			return SignOnKeys{}, malformed(field, "key %d: the filler after its cipher is not binary zeros", i+1)
		}
		w[i] = WrappedKey{Cipher: p[:s.cipher:s.cipher], CheckValue: p[s.cipher+s.filler:]}
	}
	out := SignOnKeys{PIK: w[0], MAK: w[1]}
	if len(w) == 3 {
		out.TDK = &w[2]
	}
	return out, nil
}

// setSignOnKeys writes an approval's key block into field; a decline
// carries no keys.
func setSignOnKeys(m *Message, field int, blocks keyBlocks, schemeCode string, r SignOnResponse) error {
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

// signOnKeysOf reads an approval's key block from field for the scheme the
// request asked for; a decline has none.
func signOnKeysOf(reply *Message, field int, blocks keyBlocks, code ResponseCode, schemeCode string) (SignOnKeys, error) {
	if !code.Approved() {
		return SignOnKeys{}, nil
	}
	scheme, _ := schemeOfCode(schemeCode)
	return blocks.read(field, reply.Value(field), scheme)
}

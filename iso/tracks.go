package iso

import (
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Track-data encryption under the track-data key (TDK) of CUP key scheme
// 004, as the published terminal does it (CaoEnXin/LiaoYang_POS
// Src/tranproc.c EncrypteFieldTrac23, called from SetCommReqField for swiped
// cards): the track is taken as the BCD nibbles it travels as (left-aligned,
// the separator as nibble D); a track shorter than 17 characters is first
// padded on the left to 17; the eight packed bytes that end just before the
// track's last packed byte (so the last one or two characters, with any pad
// nibble, stay clear) are enciphered as one block under the double-length
// TDK (3DES, through the PIN pad's MAC function on a single block, which is
// one ECB encryption) and written back in place. The length of the field
// does not change. F53's third digit (53.3) is then 1
// (CaoEnXin/LiaoYang_POS Src/tranproc.c UpdateEntryModeByPIN; the CUP POS
// specification summary at itindex.net "银联POS规范总结": "磁道数据加密：53域的磁道加密标志应该置1").

// TrackEncrypter enciphers one 8-byte block of packed track data under the
// track-data key (TDK), in ECB: the key holder's half of CUP track
// encryption. The dialect chooses the block and puts the result back. A
// security module can implement it without ever exposing the TDK;
// WorkingKeys implements it in software.
type TrackEncrypter interface {
	EncryptTrack(block [8]byte) ([8]byte, error)
}

// TrackDecrypter is the host's inverse of TrackEncrypter.
type TrackDecrypter interface {
	DecryptTrack(block [8]byte) ([8]byte, error)
}

// EncryptTrack enciphers a block under the TDK: 3DES for a double-length
// key, as CUP scheme 004 delivers it.
func (k WorkingKeys) EncryptTrack(block [8]byte) ([8]byte, error) { return k.trackBlock(block, false) }

// DecryptTrack deciphers a block under the TDK.
func (k WorkingKeys) DecryptTrack(block [8]byte) ([8]byte, error) { return k.trackBlock(block, true) }

func (k WorkingKeys) trackBlock(block [8]byte, decrypt bool) ([8]byte, error) {
	if len(k.TDK) == 0 {
		return [8]byte{}, ErrNoTrackKey
	}
	c, err := newDESCipher("track-data key", k.TDK)
	if err != nil {
		return [8]byte{}, err
	}
	var out [8]byte
	ecb(c, out[:], block[:], decrypt)
	return out, nil
}

// trackMinLen is the shortest track the block can be cut from: 16
// enciphered characters and at least one clear one after them.
const trackMinLen = 17

// trackBlockAt is where, in a track's text of n characters (n >=
// trackMinLen), the 16 enciphered characters start: they end one packed
// byte before the end, i.e. before the last character when n is odd (its
// byte holds the pad nibble too) and before the last two when n is even.
func trackBlockAt(n int) int {
	if n%2 == 1 {
		return n - 17
	}
	return n - 18
}

// encipherTrack enciphers CUP track text (digits and 'D') in place as the
// package comment above describes.
func encipherTrack(text string, enc TrackEncrypter) (string, error) {
	if n := len(text); n < trackMinLen {
		text = strings.Repeat("F", trackMinLen-n) + text
	}
	return transformTrack(text, func(b [8]byte) ([8]byte, error) { return enc.EncryptTrack(b) })
}

// decipherTrack is encipherTrack's inverse; the left padding of a short
// track is removed (no PAN starts with F).
func decipherTrack(text string, dec TrackDecrypter) (string, error) {
	if len(text) < trackMinLen {
		return "", Malformed(35, "an enciphered track has at least %d characters", trackMinLen)
	}
	clear, err := transformTrack(text, func(b [8]byte) ([8]byte, error) { return dec.DecryptTrack(b) })
	if err != nil {
		return "", err
	}
	return strings.TrimLeft(clear, "F"), nil
}

func transformTrack(text string, f func([8]byte) ([8]byte, error)) (string, error) {
	at := trackBlockAt(len(text))
	var block [8]byte
	for i := range 16 {
		nib, ok := hexNibble(text[at+i])
		if !ok {
			return "", Malformed(35, "track character %d is not a BCD nibble", at+i)
		}
		block[i/2] |= nib << (4 * (1 - i%2))
	}
	out, err := f(block)
	clear(block[:])
	if err != nil {
		return "", err
	}
	var h [16]byte
	upperHex(h[:], out[:])
	return text[:at] + string(h[:]) + text[at+16:], nil
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c == '=':
		return 0xD, true
	}
	return 0, false
}

// TracksEnciphered reports whether a CUP request says (53.3 = 1) that its
// track fields are enciphered under the terminal's TDK.
func TracksEnciphered(m *Message) bool {
	f53 := m.Value(53)
	return len(f53) == 16 && f53[2] == '1' && (m.Has(35) || m.Has(36))
}

// DecryptTracks is the host's side of CUP track encryption: when m says its
// tracks are enciphered (TracksEnciphered), it returns a copy with F35 and
// F36 deciphered under dec and 53.3 set back to 0, which the dialect's
// ParseRequest can read. Otherwise it returns m itself. The MAC is over
// the enciphered bytes: verify it on m, before or after, not on the copy.
// A nil dec for enciphered tracks is ErrNoTrackKey.
func DecryptTracks(m *Message, dec TrackDecrypter) (*Message, error) {
	if !TracksEnciphered(m) {
		return m, nil
	}
	if dec == nil {
		return nil, ErrNoTrackKey
	}
	c := m.Clone()
	for _, id := range []int{35, 36} {
		v, ok := c.Get(id)
		if !ok {
			continue
		}
		clear, err := decipherTrack(v, dec)
		if err != nil {
			return nil, err
		}
		c.Set(id, clear)
	}
	f53 := []byte(c.Value(53))
	f53[2] = '0'
	c.Set(53, string(f53))
	return c, nil
}

// cipherTrackText packs CUP track fields as BCDTrack does (left-aligned,
// separator as nibble D), but accepts and yields every nibble value, 0 to
// F: once enciphered, a track's middle is arbitrary nibbles. The pad nibble
// of an odd length is 0, and a non-zero one is refused on reading.
type cipherTrackText struct{}

func (cipherTrackText) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	for i, ch := range src {
		nib, ok := hexNibble(ch)
		if !ok {
			return nil, fmt.Errorf("character %d is not a track nibble", i)
		}
		out[i/2] |= nib << (4 * (1 - i%2))
	}
	return out, nil
}

func (cipherTrackText) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("negative length")
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("need %d bytes, have %d", read, len(src))
	}
	if length%2 == 1 && src[read-1]&0x0F != 0 {
		return nil, 0, fmt.Errorf("pad nibble is not 0")
	}
	const digits = "0123456789ABCDEF"
	out := make([]byte, length)
	for i := range out {
		out[i] = digits[(src[i/2]>>(4*(1-i%2)))&0x0F]
	}
	return out, read, nil
}

// WithCipherTracks returns spec with F35 and F36 packed by cipherTrackText,
// every other field (and 35/36's length prefix and maximum) unchanged, so
// an enciphered track both encodes and decodes.
func WithCipherTracks(spec *iso8583.MessageSpec) *iso8583.MessageSpec {
	out := &iso8583.MessageSpec{Name: spec.Name, Fields: make(map[int]field.Field, len(spec.Fields))}
	for id, f := range spec.Fields {
		out.Fields[id] = f
	}
	for _, id := range []int{35, 36} {
		if f, ok := spec.Fields[id]; ok {
			s := f.Spec()
			out.Fields[id] = str(s.Description, s.Length, cipherTrackText{}, s.Pref)
		}
	}
	return out
}

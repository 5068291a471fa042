package iso

import (
	"crypto/des"
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// blockCipher is the part of crypto/cipher.Block this package uses. It is
// declared here so the package depends only on crypto/des for ciphers, and
// so tests can see at a glance that nothing but raw ECB block operations is
// involved: every mode (CBC-MAC, PIN block, key wrapping) is composed by
// hand, where it can be read against the standards.
type blockCipher interface {
	Encrypt(dst, src []byte)
	Decrypt(dst, src []byte)
}

// newDESCipher picks single DES for an 8-byte key and 3DES-EDE for 16- and
// 24-byte keys. POS hosts describe keys by length only, never by algorithm
// name, so length is the only reliable selector. A 16-byte (double-length)
// key is used as K1 K2 K1, which is what ANSI X9.52 keying option 2 and all
// payment HSMs mean by "double-length key". what names the key in errors;
// the error never contains key material.
func newDESCipher(what string, key []byte) (blockCipher, error) {
	switch len(key) {
	case 8:
		return des.NewCipher(key)
	case 16:
		k := make([]byte, 0, 24)
		k = append(append(k, key...), key[:8]...)
		c, err := des.NewTripleDESCipher(k)
		clear(k) // the cipher keeps its own schedule; drop our copy
		return c, err
	case 24:
		return des.NewTripleDESCipher(key)
	}
	return nil, fmt.Errorf("%w: %s must be 8, 16 or 24 bytes, got %d",
		ErrKeyLength, what, len(key))
}

// ecb applies c block by block (the caller guarantees len(src)%8 == 0).
// Keys and PIN blocks are exactly one to three blocks, so ECB is what the
// standards prescribe for them and no chaining is wanted.
func ecb(c blockCipher, dst, src []byte, decrypt bool) {
	for i := 0; i < len(src); i += des.BlockSize {
		if decrypt {
			c.Decrypt(dst[i:i+des.BlockSize], src[i:i+des.BlockSize])
		} else {
			c.Encrypt(dst[i:i+des.BlockSize], src[i:i+des.BlockSize])
		}
	}
}

// checkBlock returns the full 8-byte encryption of a zero block under key.
// Check values are prefixes of it; hosts differ on the prefix length (3 or
// 4 bytes are common), so comparisons take whatever length was delivered.
func checkBlock(what string, key []byte) ([]byte, error) {
	c, err := newDESCipher(what, key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, des.BlockSize)
	c.Encrypt(out, out)
	return out, nil
}

// KeyCheckValue returns the 4-byte key check value (KCV) of a clear DES or
// 3DES key: the first bytes of the key's encryption of eight zero bytes.
// A KCV lets two parties confirm they hold the same key, or that a key
// survived transport, without revealing it: recovering the key from it
// would mean breaking DES on a known plaintext.
func KeyCheckValue(key []byte) ([]byte, error) {
	b, err := checkBlock("key", key)
	if err != nil {
		return nil, err
	}
	return b[:4:4], nil
}

// WorkingKeys are the clear session keys a terminal holds after sign-on:
// the PIN key (PIK) that enciphers PIN blocks, the MAC key (MAK), and the
// optional track-data key (TDK, nil when the host sends none). Their
// lengths are the dialect's (SignOnKeyLengths): under CUP the MAK is 8
// bytes in every scheme. WorkingKeys is the software key holder behind
// TrackEncrypter and TrackDecrypter (EncryptTrack, DecryptTrack).
//
// Clear keys must never reach logs, crash dumps or error reports, so
// String, GoString, Format (every fmt verb) and LogValue print only which
// keys are present: "WorkingKeys(PIK=****, MAK=****, TDK=none)". A field
// that is empty prints "none". Code that needs the bytes reads the fields.
type WorkingKeys struct {
	PIK, MAK, TDK []byte
}

func maskKey(k []byte) string {
	if len(k) == 0 {
		return "none"
	}
	return "****"
}

// String returns the masked form; see WorkingKeys.
func (k WorkingKeys) String() string {
	return "WorkingKeys(PIK=" + maskKey(k.PIK) + ", MAK=" + maskKey(k.MAK) +
		", TDK=" + maskKey(k.TDK) + ")"
}

// GoString makes %#v masked too; without it fmt would dump the byte slices.
func (k WorkingKeys) GoString() string { return k.String() }

// Format makes every verb (%x and %d included) print the masked form, since
// fmt would otherwise format the fields of the struct for non-string verbs.
func (k WorkingKeys) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue keeps log/slog handlers (JSON in particular, which would
// otherwise encode the slices) from emitting key bytes.
func (k WorkingKeys) LogValue() slog.Value { return slog.StringValue(k.String()) }

// WrappedKey is one key as delivered by the host at sign-on: Cipher is the
// key encrypted (ECB) under the terminal master key (TMK), and CheckValue is
// the check value of the clear key, which lets the terminal detect a wrong
// TMK or a corrupted transfer before it starts producing unusable
// PIN blocks and MACs.
type WrappedKey struct {
	Cipher     []byte
	CheckValue []byte
}

// UnwrapKey decrypts w under tmk (DES or 3DES chosen by tmk's length) and
// verifies its check value before returning the clear key. A check value of
// 3 to 8 bytes is accepted because hosts truncate it differently. The
// comparison runs in constant time so that a terminal answering a forged
// sign-on response does not leak, through timing, how many leading check
// value bytes were right. On mismatch the error wraps ErrKeyCheckValue, the
// decrypted bytes are wiped, and no key material appears in the error.
func UnwrapKey(tmk []byte, w WrappedKey) ([]byte, error) {
	c, err := newDESCipher("terminal master key", tmk)
	if err != nil {
		return nil, err
	}
	switch len(w.Cipher) {
	case 8, 16, 24:
	default:
		return nil, fmt.Errorf("%w: wrapped key must be 8, 16 or 24 bytes, got %d",
			ErrKeyLength, len(w.Cipher))
	}
	if n := len(w.CheckValue); n < 3 || n > des.BlockSize {
		return nil, &FieldError{Field: "CheckValue", Reason: "must be 3 to 8 bytes"}
	}
	key := make([]byte, len(w.Cipher))
	ecb(c, key, w.Cipher, true)
	kcv, err := checkBlock("unwrapped key", key)
	if err != nil { // unreachable: the length was checked above
		clear(key)
		return nil, err
	}
	if subtle.ConstantTimeCompare(kcv[:len(w.CheckValue)], w.CheckValue) != 1 {
		clear(key)
		return nil, fmt.Errorf("%w: %d-byte key decrypted under the terminal master key",
			ErrKeyCheckValue, len(key))
	}
	return key, nil
}

// WrapKey is the inverse of UnwrapKey: it encrypts clearKey under tmk and
// attaches its 4-byte check value. Terminals never need it; host
// simulators and tests do, and having both directions here guarantees they
// agree on key handling (K1K2K1 expansion, ECB, check value length).
func WrapKey(tmk, clearKey []byte) (WrappedKey, error) {
	c, err := newDESCipher("terminal master key", tmk)
	if err != nil {
		return WrappedKey{}, err
	}
	kcv, err := checkBlock("clear key", clearKey) // also validates the length
	if err != nil {
		return WrappedKey{}, err
	}
	ct := make([]byte, len(clearKey))
	ecb(c, ct, clearKey, false)
	return WrappedKey{Cipher: ct, CheckValue: kcv[:4:4]}, nil
}

// ExpandKey turns a single-length (8-byte) key into K||K. Some 3DES engines
// and HSM interfaces only accept double-length keys; K||K under 3DES-EDE
// computes exactly single DES under K, so the expansion lets one code path
// serve legacy single-DES hosts. Any other length is returned as a copy,
// so the caller may always wipe the result without touching its input.
func ExpandKey(k []byte) []byte {
	if len(k) == des.BlockSize {
		out := make([]byte, 0, 2*des.BlockSize)
		return append(append(out, k...), k...)
	}
	return append([]byte(nil), k...)
}

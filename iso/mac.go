package iso

import (
	"crypto/des"
	"crypto/subtle"
	"fmt"
)

// MAC computes a message authentication code with a key bound at
// construction. Binding the key up front means the key schedule is built
// once per sign-on rather than once per message, and code that only
// verifies messages never handles the clear MAC key at all.
//
// Implementations in this package keep no per-call state, so a MAC is safe
// for concurrent use by multiple goroutines.
type MAC interface {
	// Sum returns the Size()-byte MAC of block, the exact bytes to
	// authenticate (what goes into the MAC block is the caller's business:
	// it differs between hosts). The result is a fresh slice.
	Sum(block []byte) []byte
	// Size is the MAC length in bytes: 8 for both algorithms here.
	Size() int
}

const macSize = 8

// maskedMAC gives the MAC implementations a String/GoString/Format that
// hide the key: their structs hold DES key schedules, from which fmt's
// reflection would otherwise print material equivalent to the key.
type maskedMAC string

func (s maskedMAC) String() string             { return string(s) + "(key=****)" }
func (s maskedMAC) GoString() string           { return s.String() }
func (s maskedMAC) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// upperHex writes the uppercase hex digits of src to dst (2*len(src) bytes).
// The CUP algorithm enciphers the hex *text* of intermediate values and
// fixes it as uppercase; encoding/hex only produces lowercase.
func upperHex(dst, src []byte) {
	const digits = "0123456789ABCDEF"
	for i, b := range src {
		dst[2*i] = digits[b>>4]
		dst[2*i+1] = digits[b&0x0f]
	}
}

// cupECBMAC is the China UnionPay POS "ECB" MAC; see NewCUPECBMAC.
type cupECBMAC struct {
	maskedMAC
	c blockCipher
}

// NewCUPECBMAC returns the MAC that China UnionPay POS specifications call
// the "ECB" algorithm; CUP hosts require it on field 64/128, so a terminal
// talking to them has no choice. Key: 8 bytes (single DES) or 16/24 bytes
// (3DES-EDE, 16 meaning K1 K2 K1).
//
// The algorithm: zero-pad the block to a multiple of 8 bytes; XOR all
// 8-byte blocks into R; take H, the 16 uppercase hex characters of R;
// encrypt H[0:8]; XOR the result with H[8:16]; encrypt again; the MAC is
// the first 8 uppercase hex characters of that, i.e. 8 ASCII bytes.
//
// Prefer NewX919MAC where the host allows: the XOR folding makes this MAC
// blind to reordering whole 8-byte blocks and to equal changes in two
// blocks at the same offset, and it carries only 32 bits of output.
func NewCUPECBMAC(key []byte) (MAC, error) {
	c, err := newDESCipher("MAC key", key)
	if err != nil {
		return nil, err
	}
	return &cupECBMAC{maskedMAC: "CUPECBMAC", c: c}, nil
}

func (m *cupECBMAC) Size() int { return macSize }

func (m *cupECBMAC) Sum(block []byte) []byte {
	// XORing byte i into position i%8 folds the zero-padded 8-byte
	// blocks without materialising the padding: zero bytes change nothing.
	var r [8]byte
	for i, b := range block {
		r[i%8] ^= b
	}
	var h [16]byte
	upperHex(h[:], r[:])
	var e [8]byte
	m.c.Encrypt(e[:], h[:8])
	for i := range e {
		e[i] ^= h[8+i]
	}
	m.c.Encrypt(e[:], e[:])
	var out [16]byte
	upperHex(out[:], e[:])
	return append([]byte(nil), out[:macSize]...)
}

// x919MAC is the ANSI X9.19 retail MAC, or plain CBC-MAC when kr is nil.
type x919MAC struct {
	maskedMAC
	kl, kr blockCipher
}

// NewX919MAC returns the ANSI X9.19 "retail" MAC, also ISO/IEC 9797-1 MAC
// algorithm 3 with padding method 1: single-DES CBC-MAC under the left key
// half KL with a zero IV, then the last block is decrypted under the right
// half KR and encrypted again under KL. Only the final block pays for
// 3DES, which is why retail POS networks adopted it, yet exhaustive key
// search must cover both halves.
//
// key is KL||KR (16 bytes). An 8-byte key is accepted and gives ANSI X9.9
// / ISO 9797-1 algorithm 1 (single-DES CBC-MAC), which some legacy hosts
// still use. Data is zero-padded to a multiple of 8 bytes (no padding when
// already aligned; an empty block is one zero block). The full 8 bytes are
// returned; hosts that send 4 compare a prefix.
func NewX919MAC(key []byte) (MAC, error) {
	switch len(key) {
	case 8:
		kl, err := newDESCipher("MAC key", key)
		if err != nil {
			return nil, err
		}
		return &x919MAC{maskedMAC: "X919MAC", kl: kl}, nil
	case 16:
		kl, err := newDESCipher("MAC key", key[:8])
		if err != nil {
			return nil, err
		}
		kr, err := newDESCipher("MAC key", key[8:])
		if err != nil {
			return nil, err
		}
		return &x919MAC{maskedMAC: "X919MAC", kl: kl, kr: kr}, nil
	}
	return nil, fmt.Errorf("%w: X9.19 MAC key must be 8 or 16 bytes, got %d",
		ErrKeyLength, len(key))
}

func (m *x919MAC) Size() int { return macSize }

func (m *x919MAC) Sum(block []byte) []byte {
	var x [des.BlockSize]byte
	// The loop runs at least once, so an empty block MACs one zero block;
	// a short final block is implicitly zero-padded.
	for i := 0; ; i += des.BlockSize {
		n := min(len(block)-i, des.BlockSize)
		for j := range n {
			x[j] ^= block[i+j]
		}
		m.kl.Encrypt(x[:], x[:])
		if i+des.BlockSize >= len(block) {
			break
		}
	}
	if m.kr != nil {
		m.kr.Decrypt(x[:], x[:])
		m.kl.Encrypt(x[:], x[:])
	}
	return append([]byte(nil), x[:]...)
}

// VerifyMAC recomputes the MAC of block and compares it with got in
// constant time, so a forger probing the terminal or host cannot learn
// from response timing how many leading bytes of a guess were right. A
// length mismatch is also a mismatch. The error wraps ErrMACMismatch and
// never contains either MAC, since logging the expected value would hand
// out a valid MAC for the forged message.
func VerifyMAC(m MAC, block, got []byte) error {
	if m == nil {
		return &FieldError{Field: "MAC", Reason: "no MAC algorithm configured"}
	}
	if subtle.ConstantTimeCompare(m.Sum(block), got) != 1 {
		return fmt.Errorf("%w: %d-byte MAC received for a %d-byte block",
			ErrMACMismatch, len(got), len(block))
	}
	return nil
}

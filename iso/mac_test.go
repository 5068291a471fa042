package iso

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestX919Published checks published vectors.
//   - ISO/IEC 9797-1:2011 Annex B.4 (MAC algorithm 3, padding method 1),
//     as reproduced in the RustCrypto retail-mac crate documentation.
//   - BouncyCastle ISO9797Alg3MacTest ("Hello World !!!!").
//   - FIPS PUB 113 / ANSI X9.9 example (single-DES CBC-MAC): the published
//     MAC is the 32-bit value F1D30F68 (also asserted by BouncyCastle's
//     MacTest, which cites FIPS 113). The brief's "21FB193693A16AC3" is not
//     the MAC of this input; our full 8-byte result F1D30F6849312CA4 is
//     asserted only as far as the published 4 bytes go.
//   - FIPS PUB 81 CBC example (key 0123456789ABCDEF, IV 1234567890ABCDEF,
//     "Now is the time for all ", last block 683788499A7C05F6): a zero-IV
//     CBC-MAC over the data with the IV XORed into block 1 ends on it.
func TestX919Published(t *testing.T) {
	tests := []struct {
		name, key, want string
		data            []byte
	}{
		{"9797-1 B.4 all", "0123456789ABCDEF FEDCBA9876543210", "A1C72E74EA3FA9B6", []byte("Now is the time for all ")},
		{"9797-1 B.4 it", "0123456789ABCDEF FEDCBA9876543210", "2E2B1428CC78254F", []byte("Now is the time for it")},
		{"BouncyCastle", "7CA110454A1A6E57 0131D9619DC1376E", "F09B856213BAB83B", []byte("Hello World !!!!")},
		{"FIPS 113", "0123456789ABCDEF", "F1D30F68", []byte("7654321 Now is the time for ")},
		{"FIPS 81", "0123456789ABCDEF", "683788499A7C05F6", mustHex(t, "5C5B2158F9D8ED9B 68652074696D6520 666F7220616C6C20")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := NewX919MAC(mustHex(t, tt.key))
			got := m.Sum(tt.data)
			if len(got) != m.Size() || m.Size() != 8 {
				t.Fatalf("len %d, Size %d", len(got), m.Size())
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got[:len(want)], want) {
				t.Fatalf("MAC = %X, want prefix %s", got, tt.want)
			}
		})
	}
}

// zeroPad pads to a multiple of 8; an empty input becomes one zero block.
func zeroPad(data []byte) []byte {
	p := append([]byte{}, data...)
	for len(p) == 0 || len(p)%8 != 0 {
		p = append(p, 0)
	}
	return p
}

// refRetailMAC is an independent ISO 9797-1 alg 1/3 written the long way:
// explicit padding buffer, single-block ECB calls, separate key halves.
func refRetailMAC(key, data []byte) []byte {
	padded := zeroPad(data)
	left, _ := des.NewCipher(key[:8])
	chain, in := make([]byte, 8), make([]byte, 8)
	for off := 0; off < len(padded); off += 8 {
		for j := range in {
			in[j] = chain[j] ^ padded[off+j]
		}
		left.Encrypt(chain, in)
	}
	if len(key) == 16 {
		right, _ := des.NewCipher(key[8:])
		right.Decrypt(in, chain)
		left.Encrypt(chain, in)
	}
	return chain
}

func TestX919CrossCheck(t *testing.T) {
	for _, klen := range []int{8, 16} {
		for n := 0; n <= 41; n++ {
			key, data := testData(klen, byte(n)), testData(n, byte(100+n))
			m, _ := NewX919MAC(key)
			if got, want := m.Sum(data), refRetailMAC(key, data); !bytes.Equal(got, want) {
				t.Fatalf("klen %d n %d: got %X want %X", klen, n, got, want)
			}
		}
	}
	// KL == KR makes the final decrypt/encrypt cancel: alg 3 == alg 1.
	k := mustHex(t, "0123456789ABCDEF")
	m1, _ := NewX919MAC(k)
	m3, _ := NewX919MAC(append(append([]byte{}, k...), k...))
	d := []byte("7654321 Now is the time for ")
	if !bytes.Equal(m1.Sum(d), m3.Sum(d)) {
		t.Fatal("alg 3 with KL==KR differs from alg 1")
	}
}

func TestMACPadding(t *testing.T) {
	key := mustHex(t, "0123456789ABCDEF FEDCBA9876543210")
	x, _ := NewX919MAC(key)
	c, _ := NewCUPECBMAC(key)
	for _, m := range []MAC{x, c} {
		if !bytes.Equal(m.Sum([]byte("ABC")), m.Sum([]byte("ABC\x00\x00\x00\x00\x00"))) {
			t.Errorf("%v: short block not zero-padded", m)
		}
		if !bytes.Equal(m.Sum(nil), m.Sum(make([]byte, 8))) {
			t.Errorf("%v: empty block is not one zero block", m)
		}
	}
	// An aligned block gets no padding block: appending a zero block must
	// change the chained X9.19 MAC. (The XOR-folding CUP MAC cannot tell,
	// nor can it see whole blocks swapped: the weakness NewCUPECBMAC notes.)
	if aligned := []byte("12345678"); bytes.Equal(x.Sum(aligned), x.Sum(append(aligned, make([]byte, 8)...))) {
		t.Error("X9.19: aligned block was padded")
	}
	if !bytes.Equal(c.Sum([]byte("AAAAAAAABBBBBBBB")), c.Sum([]byte("BBBBBBBBAAAAAAAA"))) {
		t.Error("CUP: XOR folding should be order-blind")
	}
}

// CUP "ECB" MAC: no official published vector is available to us, so the
// test re-derives the algorithm step by step from its textual definition
// (pad, XOR, uppercase hex, DES, XOR, DES, hex) with different code, and
// pins a few values computed by this package as regression guards.
func refCUPMAC(key, data []byte) []byte {
	padded := zeroPad(data)
	r := make([]byte, 8)
	for off := 0; off < len(padded); off += 8 {
		for j := range r {
			r[j] ^= padded[off+j]
		}
	}
	h := []byte(strings.ToUpper(hex.EncodeToString(r)))
	var c interface{ Encrypt(dst, src []byte) }
	switch len(key) {
	case 8:
		c, _ = des.NewCipher(key)
	case 16:
		c, _ = des.NewTripleDESCipher(append(append([]byte{}, key...), key[:8]...))
	case 24:
		c, _ = des.NewTripleDESCipher(key)
	}
	e1, tt, e2 := make([]byte, 8), make([]byte, 8), make([]byte, 8)
	c.Encrypt(e1, h[:8])
	for j := range tt {
		tt[j] = e1[j] ^ h[8+j]
	}
	c.Encrypt(e2, tt)
	return []byte(strings.ToUpper(hex.EncodeToString(e2))[:8])
}

func TestCUPECBMAC(t *testing.T) {
	// Hand-checked first step: "Now is t" ^ "he time " ^ "for all ".
	d := []byte("Now is the time for all ")
	r := make([]byte, 8)
	for i, b := range d {
		r[i%8] ^= b
	}
	if got := fmt.Sprintf("%X", r); got != "4065257461722974" {
		t.Fatalf("R = %s", got)
	}
	for _, klen := range []int{8, 16, 24} {
		for n := 0; n <= 33; n++ {
			key, data := testData(klen, byte(n+7)), testData(n, byte(n))
			m, _ := NewCUPECBMAC(key)
			if got, want := m.Sum(data), refCUPMAC(key, data); !bytes.Equal(got, want) {
				t.Fatalf("klen %d n %d: got %q want %q", klen, n, got, want)
			}
			if got := string(m.Sum(data)); strings.Trim(got, "0123456789ABCDEF") != "" {
				t.Fatalf("MAC %q is not uppercase hex text", got)
			}
		}
	}
	regress := []struct{ key, data, want string }{
		{"0123456789ABCDEF", "Now is the time for all ", "1E7AAB78"},
		{"0123456789ABCDEF FEDCBA9876543210", "Now is the time for all ", "F5BE6DD0"},
		{"0123456789ABCDEF FEDCBA9876543210", "", "423EADC4"},
	}
	for _, tt := range regress {
		m, _ := NewCUPECBMAC(mustHex(t, tt.key))
		if got := string(m.Sum([]byte(tt.data))); got != tt.want {
			t.Errorf("key %s data %q: got %s want %s", tt.key, tt.data, got, tt.want)
		}
	}
}

func TestMACKeyLength(t *testing.T) {
	for _, n := range []int{0, 7, 9, 15, 17, 23, 24, 25, 32} {
		if _, err := NewCUPECBMAC(make([]byte, n)); (n == 24) == errors.Is(err, ErrKeyLength) {
			t.Errorf("CUP len %d: err %v", n, err)
		}
		if _, err := NewX919MAC(make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("X9.19 len %d: err %v", n, err)
		}
	}
}

func TestVerifyMAC(t *testing.T) {
	key := mustHex(t, "0123456789ABCDEF FEDCBA9876543210")
	m, _ := NewX919MAC(key)
	block := []byte("Now is the time for all ")
	good := m.Sum(block)
	bad := append([]byte{}, good...)
	bad[7] ^= 1
	if err := VerifyMAC(m, block, good); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"flipped": bad, "short": good[:4], "nil": nil} {
		err := VerifyMAC(m, block, got)
		if !errors.Is(err, ErrMACMismatch) {
			t.Fatalf("%s: err = %v", name, err)
		}
		for _, leak := range []string{hex.EncodeToString(good), fmt.Sprintf("%X", good[:4]), hex.EncodeToString(key)} {
			if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(leak)) {
				t.Fatalf("%s: error %q leaks %s", name, err, leak)
			}
		}
	}
	if err := VerifyMAC(m, append(block, 'x'), good); !errors.Is(err, ErrMACMismatch) {
		t.Fatal("altered block accepted")
	}
	if err := VerifyMAC(nil, block, good); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("nil MAC: %v", err)
	}
}

func TestMACFormatMasksKey(t *testing.T) {
	x, _ := NewX919MAC(mustHex(t, "0123456789ABCDEF FEDCBA9876543210"))
	c, _ := NewCUPECBMAC(mustHex(t, "0123456789ABCDEF"))
	for m, want := range map[MAC]string{x: "X919MAC(key=****)", c: "CUPECBMAC(key=****)"} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
			if got := fmt.Sprintf(verb, m); got != want {
				t.Errorf("%s: got %q want %q", verb, got, want)
			}
		}
	}
}

func TestMACConcurrent(t *testing.T) {
	m, _ := NewX919MAC(mustHex(t, "0123456789ABCDEF FEDCBA9876543210"))
	want := m.Sum([]byte("Now is the time for all "))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !bytes.Equal(m.Sum([]byte("Now is the time for all ")), want) {
					t.Error("concurrent Sum differs")
					return
				}
			}
		})
	}
	wg.Wait()
}

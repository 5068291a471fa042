package iso

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// mustHex decodes hex written with optional spaces between groups.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// testData returns deterministic pseudo-random bytes (no math/rand needed).
func testData(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x = x*1103515245 + 12345
		b[i] = byte(x >> 16)
	}
	return b
}

// Published values:
//   - DES(0123456789ABCDEF, 0000000000000000) = D5D44FF720683D0D is in the
//     OpenSSL DES ECB test table (also mbed TLS "DES Encrypt OpenSSL Test
//     Vector"), so the single-DES KCV is D5D44FF7.
//   - The 2-key 3DES encryption of zeros under 0123456789ABCDEF
//     FEDCBA9876543210 is 08D7B4FB629D0885, which appears as the check value of
//     that key in public POS SDK sample code. The explicit 24-byte K1K2K1
//     row checks that 16-byte keys are expanded the same way.
func TestKeyCheckValue(t *testing.T) {
	tests := []struct{ key, want string }{
		{"0123456789ABCDEF", "D5D44FF7"},
		{"0123456789ABCDEF FEDCBA9876543210", "08D7B4FB"},
		{"0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", "08D7B4FB"},
		// Single DES via K||K must equal single DES under K.
		{"0123456789ABCDEF 0123456789ABCDEF", "D5D44FF7"},
	}
	for _, tt := range tests {
		got, err := KeyCheckValue(mustHex(t, tt.key))
		if err != nil {
			t.Fatal(err)
		}
		if g := fmt.Sprintf("%X", got); g != tt.want {
			t.Errorf("KCV(%s) = %s, want %s", tt.key, g, tt.want)
		}
	}
	// Cross-check a 3-key key against crypto/des directly.
	k3 := testData(24, 9)
	c, _ := des.NewTripleDESCipher(k3)
	want := make([]byte, 8)
	c.Encrypt(want, want)
	if got, _ := KeyCheckValue(k3); !bytes.Equal(got, want[:4]) || cap(got) != 4 {
		t.Errorf("3-key KCV %X, want %X", got, want[:4])
	}
	for _, n := range []int{0, 4, 9, 15, 32} {
		if _, err := KeyCheckValue(make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("len %d: err %v", n, err)
		}
	}
}

func TestWrapUnwrapRoundTrip(t *testing.T) {
	for _, tl := range []int{8, 16, 24} {
		for _, kl := range []int{8, 16, 24} {
			tmk, key := testData(tl, byte(tl)), testData(kl, byte(kl+50))
			w, err := WrapKey(tmk, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Cipher) != kl || len(w.CheckValue) != 4 || bytes.Equal(w.Cipher, key) {
				t.Fatalf("tmk %d key %d: bad wrapped key", tl, kl)
			}
			got, err := UnwrapKey(tmk, w)
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("tmk %d key %d: unwrap = %v", tl, kl, err)
			}
			// A 3-byte check value (as some hosts send) is accepted too.
			w.CheckValue = w.CheckValue[:3]
			if _, err := UnwrapKey(tmk, w); err != nil {
				t.Fatalf("3-byte KCV: %v", err)
			}
		}
	}
}

// Vendor sample (public POS SDK demo code, "setMasterKey"): the key
// 0123456789ABCDEFFEDCBA9876543210 encrypted under itself is
// 1A4D672DCA6CB3351FD1B02B237AF9AE, delivered with check value
// 08D7B4FB629D0885. Not a standard vector, but independent of this code.
func TestUnwrapKeySample(t *testing.T) {
	tmk := mustHex(t, "0123456789ABCDEF FEDCBA9876543210")
	w := WrappedKey{
		Cipher:     mustHex(t, "1A4D672DCA6CB3351FD1B02B237AF9AE"),
		CheckValue: mustHex(t, "08D7B4FB629D0885"),
	}
	got, err := UnwrapKey(tmk, w)
	if err != nil || !bytes.Equal(got, tmk) {
		t.Fatalf("unwrap = %X, %v", got, err)
	}
	if w2, _ := WrapKey(tmk, tmk); !bytes.Equal(w2.Cipher, w.Cipher) ||
		!bytes.Equal(w2.CheckValue, w.CheckValue[:4]) {
		t.Fatalf("wrap = %X/%X", w2.Cipher, w2.CheckValue)
	}
}

func TestUnwrapKeyErrors(t *testing.T) {
	tmk := mustHex(t, "0123456789ABCDEF FEDCBA9876543210")
	clearKey := mustHex(t, "1111111111111111 2222222222222222")
	w, _ := WrapKey(tmk, clearKey)
	wrongTMK := append([]byte{}, tmk...)
	wrongTMK[15] ^= 0x02 // not a parity bit: a genuinely different key
	badKCV := WrappedKey{Cipher: w.Cipher, CheckValue: []byte{w.CheckValue[0] ^ 0x80, 1, 2, 3}}

	secrets := [][]byte{tmk, clearKey, wrongTMK, w.Cipher}
	for name, tc := range map[string]struct {
		tmk []byte
		w   WrappedKey
	}{"wrong TMK": {wrongTMK, w}, "bad check value": {tmk, badKCV}} {
		got, err := UnwrapKey(tc.tmk, tc.w)
		if !errors.Is(err, ErrKeyCheckValue) || got != nil {
			t.Fatalf("%s: got %X, err %v", name, got, err)
		}
		msg := strings.ToLower(err.Error())
		for _, s := range secrets {
			for _, part := range []string{hex.EncodeToString(s), hex.EncodeToString(s[:4])} {
				if strings.Contains(msg, part) {
					t.Fatalf("%s: error %q leaks key bytes %s", name, err, part)
				}
			}
		}
	}

	lengthCases := map[string]struct {
		tmk []byte
		w   WrappedKey
	}{
		"short tmk":    {tmk[:12], w},
		"odd cipher":   {tmk, WrappedKey{Cipher: w.Cipher[:12], CheckValue: w.CheckValue}},
		"empty cipher": {tmk, WrappedKey{CheckValue: w.CheckValue}},
	}
	for name, tc := range lengthCases {
		if _, err := UnwrapKey(tc.tmk, tc.w); !errors.Is(err, ErrKeyLength) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	for _, n := range []int{0, 2, 9} {
		_, err := UnwrapKey(tmk, WrappedKey{Cipher: w.Cipher, CheckValue: make([]byte, n)})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "CheckValue" {
			t.Errorf("check value len %d: err %v", n, err)
		}
	}
	if _, err := WrapKey(tmk, clearKey[:10]); !errors.Is(err, ErrKeyLength) {
		t.Errorf("WrapKey short key: %v", err)
	}
	if _, err := WrapKey(nil, clearKey); !errors.Is(err, ErrKeyLength) {
		t.Errorf("WrapKey nil tmk: %v", err)
	}
}

func TestExpandKey(t *testing.T) {
	k := mustHex(t, "0123456789ABCDEF")
	got := ExpandKey(k)
	if fmt.Sprintf("%X", got) != "0123456789ABCDEF0123456789ABCDEF" {
		t.Fatalf("ExpandKey = %X", got)
	}
	k16 := mustHex(t, "0123456789ABCDEF FEDCBA9876543210")
	cp := ExpandKey(k16)
	cp[0] = 0xFF
	if k16[0] != 0x01 || len(cp) != 16 {
		t.Fatal("ExpandKey must return a copy")
	}
	if ExpandKey(nil) != nil {
		t.Fatal("ExpandKey(nil) should be nil")
	}
	// K||K under 3DES behaves as single DES under K.
	a, _ := KeyCheckValue(k)
	b, _ := KeyCheckValue(got)
	if !bytes.Equal(a, b) {
		t.Fatal("expanded key is not equivalent")
	}
}

func TestWorkingKeysNeverPrinted(t *testing.T) {
	wk := WorkingKeys{
		PIK: mustHex(t, "0123456789ABCDEF FEDCBA9876543210"),
		MAK: mustHex(t, "1111111111111111 2222222222222222"),
	}
	type holder struct{ K WorkingKeys }
	outs := map[string]string{
		"fmt": fmt.Sprintf("%v|%+v|%#v|%s|%x|%X|%d|%q", wk, wk, wk, wk, wk, wk, wk, wk),
		"ptr": fmt.Sprintf("%v|%+v", &wk, holder{wk}),
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("keys", "wk", wk, "ptr", &wk)
	outs["slog"] = buf.String()
	for where, out := range outs {
		for _, leak := range []string{"0123456789", "1111111111", "2222222222", "[1 35 69", "1,35,69", "ASNFZ4"} {
			if strings.Contains(strings.ToUpper(out), strings.ToUpper(leak)) {
				t.Errorf("%s output %q leaks %q", where, out, leak)
			}
		}
		if !strings.Contains(out, "WorkingKeys(PIK=****, MAK=****, TDK=none)") {
			t.Errorf("%s output %q lacks the mask", where, out)
		}
	}
	wk.TDK = []byte{1}
	if s := wk.String(); s != "WorkingKeys(PIK=****, MAK=****, TDK=****)" || wk.GoString() != s {
		t.Errorf("String = %q", s)
	}
}

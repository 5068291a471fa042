package iso

import (
	"bytes"
	"crypto/des"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Rule: IBM Documentation, "ANSI X9.8" PIN block format (ISO format 0).
// Published examples:
//   - Q/CUP 006.4-2010 §3.1.3 examples 2 and 3 (as reproduced in public
//     copies): PIN 123456 with PANs 123456789012345678 and 1234567890123456.
//     The brief's 0612713176FEDCBA is correct.
//   - ID TECH knowledge base, ISO 9564 format 0 example (PIN 1234,
//     PAN 43219876543210987).
//   - An HSM manual's "Format 01" (ANSI X9.8 / ISO 9564-1 format 0) example,
//     PIN 92389, PAN 4000 0012 3456 2: 0592389FFFFFFFFF ^ 0000400000123456.
//
// The remaining rows were computed by hand from the rule (boundary lengths).
func TestFormatPINBlock0(t *testing.T) {
	tests := []struct{ pin, pan, want string }{
		{"123456", "1234567890123456", "0612713176FEDCBA"},
		{"123456", "123456789012345678", "061253DFFEDCBA98"},
		{"1234", "43219876543210987", "0412AC89ABCDEF67"},
		{"92389", "4000001234562", "0592789FFFEDCBA9"},
		{"123456789012", "1234567890123456", "0C127131F19131BA"},
		{"0000", "9999999999999999999", "0400996666666666"},
		{"9876", "4111111111111", "049837EEEEEEEEEE"},
	}
	for _, tt := range tests {
		b, err := FormatPINBlock0(tt.pin, tt.pan)
		if err != nil {
			t.Fatalf("%s/%s: %v", tt.pin, tt.pan, err)
		}
		if got := fmt.Sprintf("%X", b[:]); got != tt.want {
			t.Errorf("PIN %s PAN %s: got %s want %s", tt.pin, tt.pan, got, tt.want)
		}
	}
}

func TestFormatPINBlock0Invalid(t *testing.T) {
	const okPIN, okPAN = "123456", "1234567890123456"
	tests := []struct{ field, pin, pan string }{
		{"PIN", "", okPAN},
		{"PIN", "123", okPAN},
		{"PIN", "1234567890123", okPAN},
		{"PIN", "12a456", okPAN},
		{"PIN", "+12345", okPAN},
		{"PIN", "12 456", okPAN},
		{"PIN", "١٢٣٤٥", okPAN}, // non-ASCII digits
		{"PAN", okPIN, "123456789012"},
		{"PAN", okPIN, "12345678901234567890"},
		{"PAN", okPIN, "1234-5678-9012-3456"},
		{"PAN", okPIN, ""},
	}
	for _, tt := range tests {
		b, err := FormatPINBlock0(tt.pin, tt.pan)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("%q/%q: err = %v, want FieldError on %s", tt.pin, tt.pan, err, tt.field)
		}
		if b != (PINBlock{}) {
			t.Errorf("%q/%q: non-zero block returned with error", tt.pin, tt.pan)
		}
		msg := err.Error()
		for _, secret := range []string{tt.pin, tt.pan} {
			if len(secret) >= 4 && strings.Contains(msg, secret) {
				t.Errorf("error %q contains input %q", msg, secret)
			}
		}
	}
}

func TestEncryptPINBlock(t *testing.T) {
	// Published DES/3DES block vectors reused as PIN blocks:
	// FIPS PUB 81 ECB example ("Now is t" -> 3FA40E8A984D4815) and the
	// 2-key 3DES encryption of zeros under 0123456789ABCDEF FEDCBA9876543210.
	var nowIs PINBlock
	copy(nowIs[:], "Now is t")
	tests := []struct {
		key   string
		clear PINBlock
		want  string
	}{
		{"0123456789ABCDEF", nowIs, "3FA40E8A984D4815"},
		{"0123456789ABCDEF FEDCBA9876543210", PINBlock{}, "08D7B4FB629D0885"},
		{"0123456789ABCDEF FEDCBA9876543210 0123456789ABCDEF", PINBlock{}, "08D7B4FB629D0885"},
	}
	for _, tt := range tests {
		got, err := EncryptPINBlock(tt.clear, mustHex(t, tt.key))
		if err != nil {
			t.Fatal(err)
		}
		if g := fmt.Sprintf("%X", got[:]); g != tt.want {
			t.Errorf("key %s: got %s want %s", tt.key, g, tt.want)
		}
	}
	// Round trip of a real PIN block under a 3-key 3DES key.
	plain, _ := FormatPINBlock0("123456", "1234567890123456")
	key := testData(24, 3)
	enc, err := EncryptPINBlock(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := des.NewTripleDESCipher(key)
	var dec PINBlock
	c.Decrypt(dec[:], enc[:])
	if dec != plain || enc == plain {
		t.Fatal("3DES round trip failed")
	}
	for _, n := range []int{0, 7, 12, 32} {
		if _, err := EncryptPINBlock(plain, make([]byte, n)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("key len %d: err %v", n, err)
		}
	}
}

func TestPINBlockNeverPrinted(t *testing.T) {
	b, _ := FormatPINBlock0("123456", "1234567890123456")
	leaks := []string{"0612713176fedcba", "0612713176FEDCBA", "06 12 71", "[6 18 113", "6,18,113", "0x6, 0x12"}
	check := func(where, out string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(out, l) {
				t.Errorf("%s output %q leaks %q", where, out, l)
			}
		}
		if !strings.Contains(out, "PINBlock(********)") {
			t.Errorf("%s output %q lacks the mask", where, out)
		}
	}
	type holder struct{ PB PINBlock }
	check("fmt", fmt.Sprintf("%v %+v %#v %s %x", b, b, b, b, b))
	check("fmt more", fmt.Sprintf("%X %d %q % x %v %v %+v", b, b, b, b, &b, []PINBlock{b}, holder{b}))
	if b.String() != "PINBlock(********)" || b.GoString() != b.String() {
		t.Error("String/GoString not masked")
	}

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("pin", "pb", b, "ptr", &b, slog.Any("any", b))
	check("slog JSON", buf.String())
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("pin", "pb", b)
	check("slog text", buf.String())
}

package iso

import (
	"fmt"
	"log/slog"
)

// PINBlock is an 8-byte PIN block, clear or enciphered. A clear block
// yields the PIN to anyone holding the PAN, and even an enciphered one is
// sensitive (PCI PIN requirements forbid logging it), so String, GoString,
// Format (every fmt verb, %x included) and LogValue print only
// "PINBlock(********)". Use b[:] to put the bytes into a message.
//
// fmt cannot call methods on unexported struct fields; keep PIN blocks in
// exported fields or variables if the enclosing value might be printed.
type PINBlock [8]byte

const maskedPINBlock = "PINBlock(********)"

// String returns the masked form; see PINBlock.
func (PINBlock) String() string { return maskedPINBlock }

// GoString makes %#v masked; otherwise fmt would print the array elements.
func (PINBlock) GoString() string { return maskedPINBlock }

// Format makes every verb print the masked form; without it %x, %X and %d
// would format the array bytes, bypassing String.
func (PINBlock) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(maskedPINBlock)) }

// LogValue keeps log/slog handlers from encoding the array.
func (PINBlock) LogValue() slog.Value { return slog.StringValue(maskedPINBlock) }

// MarshalText keeps encoding/json and friends from writing the block's bytes.
func (PINBlock) MarshalText() ([]byte, error) { return []byte(maskedPINBlock), nil }

// FormatPINBlock0 builds the clear ISO 9564-1 format 0 PIN block (the
// ANSI X9.8 format; IBM documentation, "ANSI X9.8" PIN block format, gives
// the rule). Two 8-byte fields are XORed:
//
//	PIN field: 0, PIN length, PIN digits, filled with F to 16 nibbles
//	PAN field: 0000, then the rightmost 12 PAN digits excluding the
//	           check digit (the last digit)
//
// Mixing in the PAN makes equal PINs on different cards encipher to
// different blocks, which defeats dictionaries of enciphered PIN blocks.
//
// pin must be 4 to 12 digits and pan 13 to 19 digits. Errors are
// *FieldError and deliberately omit the values, and even the PIN length:
// errors are logged, and both are cardholder data.
func FormatPINBlock0(pin, pan string) (PINBlock, error) {
	if len(pin) < 4 || len(pin) > 12 || !IsDigits(pin) {
		return PINBlock{}, &FieldError{Field: "PIN", Reason: "must be 4 to 12 decimal digits"}
	}
	if len(pan) < 13 || len(pan) > 19 || !IsDigits(pan) {
		return PINBlock{}, &FieldError{Field: "PAN", Reason: "must be 13 to 19 decimal digits"}
	}

	var pinField [16]byte // one nibble per element
	pinField[0] = 0
	pinField[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		if i-2 < len(pin) {
			pinField[i] = pin[i-2] - '0'
		} else {
			pinField[i] = 0xF
		}
	}
	var panField [16]byte // 0000 + 12 digits
	digits := pan[len(pan)-13 : len(pan)-1]
	for i := 0; i < 12; i++ {
		panField[4+i] = digits[i] - '0'
	}

	var b PINBlock
	for i := range b {
		b[i] = (pinField[2*i]^panField[2*i])<<4 | (pinField[2*i+1] ^ panField[2*i+1])
	}
	clear(pinField[:]) // best effort: do not leave the PIN on the stack
	return b, nil
}

// EncryptPINBlock enciphers a clear PIN block under the PIN key (TPK/PIK):
// single DES for an 8-byte key, 3DES-EDE for 16 (K1 K2 K1) or 24 bytes,
// one ECB block, as ISO 9564 and CUP field 52 expect. The clear input is
// taken by value, so the caller still owns (and should wipe) its copy.
func EncryptPINBlock(clearBlock PINBlock, tpk []byte) (PINBlock, error) {
	c, err := newDESCipher("PIN key", tpk)
	if err != nil {
		return PINBlock{}, err
	}
	var out PINBlock
	c.Encrypt(out[:], clearBlock[:])
	return out, nil
}

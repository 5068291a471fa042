package reversal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/posswitch/posswitch/iso"
)

// ErrNoDataKey: the journal holds no key to decrypt PANs with.
var ErrNoDataKey = errors.New("reversal: no data key; only masked PANs are kept")

// sealPAN encrypts a PAN with AES-GCM under the data key, bound to its record
// id (as additional data) so a ciphertext cannot be moved to another record.
// Without a key it stores nothing.
func (j *Journal) sealPAN(id uint64, pan iso.PAN) ([]byte, error) {
	if j.key == nil {
		return nil, nil
	}
	gcm, err := j.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, []byte(pan.Digits()), u64(id)), nil
}

// PAN decrypts a record's PAN: for a batch upload that needs it, never for
// display (use MaskedPAN).
func (j *Journal) PAN(r Record) (iso.PAN, error) {
	if j.key == nil {
		return "", ErrNoDataKey
	}
	if len(r.PANCipher) == 0 {
		return "", fmt.Errorf("%w: record %d holds no PAN", ErrNotFound, r.ID)
	}
	gcm, err := j.gcm()
	if err != nil {
		return "", err
	}
	n := gcm.NonceSize()
	if len(r.PANCipher) < n {
		return "", fmt.Errorf("%w: PAN of record %d", ErrCorrupt, r.ID)
	}
	clear, err := gcm.Open(nil, r.PANCipher[:n], r.PANCipher[n:], u64(r.ID))
	if err != nil {
		return "", fmt.Errorf("%w: PAN of record %d does not decrypt under this key", ErrCorrupt, r.ID)
	}
	return iso.PAN(clear), nil
}

func (j *Journal) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(j.key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// HasDataKey reports whether the journal was opened with a data key, so
// that it keeps full PANs (encrypted) for the messages that need them
// after the fact.
func (j *Journal) HasDataKey() bool { return j.key != nil }

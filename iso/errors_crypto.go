package iso

import "errors"

// Sentinel errors for the cryptographic helpers. They are sentinels rather
// than typed errors because callers branch on the category (reject the
// message, restart sign-on, fix configuration) and never need the details;
// the wrapping error adds context such as lengths, but never key, PIN, PAN
// or MAC bytes, so any error in this package is safe to log.
var (
	// ErrMACMismatch means a received MAC differs from the one computed
	// over the same MAC block: the message was altered, or the two sides
	// hold different MAC keys. The message must not be acted upon.
	ErrMACMismatch = errors.New("iso: MAC mismatch")

	// ErrKeyCheckValue means a key delivered by the host decrypted to a
	// value whose check value differs from the one the host sent, so the
	// terminal master key or the transmission is wrong. Installing such a
	// key would make every later PIN block and MAC unusable.
	ErrKeyCheckValue = errors.New("iso: key check value mismatch")

	// ErrKeyLength means a key (or wrapped key) has a length the
	// algorithm cannot use. It is a configuration error, not a protocol one.
	ErrKeyLength = errors.New("iso: invalid key length")

	// ErrNoTrackKey means track data had to be enciphered or deciphered
	// and there is no track-data key (TDK) for it: a sign-on under another
	// scheme than 004, or a host that does not know the terminal's TDK.
	ErrNoTrackKey = errors.New("iso: no track-data key")
)

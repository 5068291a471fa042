package iso

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrBadReply is matched by every *ReplyError: a message came back that does
// not belong to the request or cannot be trusted. A terminal treats it like
// no reply at all: the outcome is unknown and the request needs recovery.
var ErrBadReply = errors.New("iso: reply does not match the request")

// ReplyError names the check a reply failed. It carries no field values.
type ReplyError struct {
	Check string // "MTI", "F3", "F11", "F41", "F42", "F4", "MAC"
	Err   error  // ErrMACMismatch for a MAC that did not verify
}

func (e *ReplyError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("iso: reply check %s failed: %v", e.Check, e.Err)
	}
	return "iso: reply check " + e.Check + " failed"
}

func (e *ReplyError) Unwrap() error        { return e.Err }
func (e *ReplyError) Is(target error) bool { return target == ErrBadReply }

// ResponseMTI is the MTI a host answers req with: the function digit plus
// one and the repeat flag cleared (0200→0210, 0401→0410, 0421→0430).
func ResponseMTI(req string) string {
	if len(req) != 4 {
		return ""
	}
	b := []byte(req)
	b[2]++
	b[3] = '0'
	return string(b)
}

// CheckReply tells whether reply answers req and can be trusted (the checks
// CaoEnXin/LiaoYang_POS Src/trancomm.c ProcRspPacket makes): MTI = request's + 10; F3, F11 and F41 echoed; F42 echoed on an
// approval; F4 echoed unless the host approved part of the amount (10); and
// when the request was MACed, an approval must carry a MAC that verifies
// under mac. Declines are not MACed by CUP hosts, so their MAC is not
// required. A nil error means the reply may be acted on.
func CheckReply(req, reply *Message, mac MAC) error {
	if reply.MTI != ResponseMTI(req.MTI) {
		return &ReplyError{Check: "MTI"}
	}
	for _, id := range []int{3, 11, 41} {
		if want, ok := req.Get(id); ok && reply.Value(id) != want {
			return &ReplyError{Check: fmt.Sprintf("F%d", id)}
		}
	}
	code := ResponseCode(reply.Value(39))
	if want, ok := req.Get(42); ok && code.Approved() && reply.Value(42) != want {
		return &ReplyError{Check: "F42"}
	}
	if want, ok := req.Get(4); ok && code != CodePartialApproval {
		if got, present := reply.Get(4); present && got != want {
			return &ReplyError{Check: "F4"}
		}
	}
	if macFieldOf(req) == 0 || !code.Approved() {
		return nil
	}
	return verifyMessageMAC(reply, mac)
}

// VerifyMessageMAC checks the MAC of a message decoded from bytes (a host
// checking a terminal's request): the MAC field must be present and verify
// under mac over every byte before it. Failures are *ReplyError with Check
// "MAC"; a wrong MAC wraps ErrMACMismatch.
func VerifyMessageMAC(m *Message, mac MAC) error { return verifyMessageMAC(m, mac) }

// macFieldOf returns 64 or 128 when m carries a MAC, else 0.
func macFieldOf(m *Message) int {
	switch {
	case m.Has(128):
		return 128
	case m.Has(64):
		return 64
	}
	return 0
}

// verifyMessageMAC checks the MAC of a decoded message against its raw bytes:
// the MAC field is always the last field, so the MAC block is every byte
// before it.
func verifyMessageMAC(m *Message, mac MAC) error {
	id := macFieldOf(m)
	if id == 0 {
		return &ReplyError{Check: "MAC", Err: errors.New("approval carries no MAC")}
	}
	if mac == nil {
		return &ReplyError{Check: "MAC", Err: ErrNoMACKey}
	}
	got, err := hex.DecodeString(m.Value(id))
	if err != nil || len(m.raw) == 0 {
		return &ReplyError{Check: "MAC", Err: errors.New("MAC field unreadable or message not decoded from bytes")}
	}
	wire := len(m.Value(id)) // hex-text MAC: 16 wire bytes
	if m.binaryMAC {
		wire = len(got)
	}
	if wire > len(m.raw) {
		return &ReplyError{Check: "MAC", Err: errors.New("message shorter than its MAC")}
	}
	if err := VerifyMAC(mac, m.raw[:len(m.raw)-wire], got); err != nil {
		return &ReplyError{Check: "MAC", Err: err}
	}
	return nil
}

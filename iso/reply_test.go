package iso_test

import (
	"errors"
	"testing"

	"github.com/posswitch/posswitch/iso"
)

// TestCheckReplyRefusesWhatDoesNotBelong: a reply that differs from the
// recorded good one in any checked field is refused, and a MAC failure is
// told apart (it drives reversal reason A0 in CUP).
func TestCheckReplyRefusesWhatDoesNotBelong(t *testing.T) {
	for name, tc := range dialects(t) {
		d := tc.d
		mac, _ := d.NewMAC(macKey(d))
		ex := spell(t, d, tc.fixtures[0]) // an approved sale
		macID := 64
		cases := []struct {
			check  string
			tamper func(m *iso.Message)
			isMAC  bool
		}{
			{"MTI", func(m *iso.Message) { m.MTI = "0230" }, false},
			{"F3", func(m *iso.Message) { m.Set(3, "200000") }, false},
			{"F11", func(m *iso.Message) { m.Set(11, "000999") }, false},
			{"F41", func(m *iso.Message) { m.Set(41, "OTHER001") }, false},
			{"F42", func(m *iso.Message) { m.Set(42, "000000000000000") }, false},
			{"F4", func(m *iso.Message) { m.Set(4, "000000000001") }, false},
			{"MAC", func(m *iso.Message) { m.Set(39, "A2") }, true}, // signed as 00, altered after signing
		}
		for _, c := range cases {
			t.Run(name+"/"+c.check, func(t *testing.T) {
				reply := decode(t, d, ex.replyFrame, mac)
				c.tamper(reply)
				var body []byte
				if c.isMAC { // re-pack without re-signing: keep the old MAC
					body = encodeKeepingMAC(t, d, reply, macID)
				} else {
					var err error
					if body, err = d.Encode(reply, mac); err != nil {
						t.Fatal(err)
					}
				}
				got, err := d.Decode(body)
				if err != nil {
					t.Fatal(err)
				}
				err = iso.CheckReply(ex.req, got, mac)
				var re *iso.ReplyError
				if !errors.As(err, &re) || !errors.Is(err, iso.ErrBadReply) || re.Check != c.check {
					t.Fatalf("err = %v, want ReplyError %s", err, c.check)
				}
				if errors.Is(err, iso.ErrMACMismatch) != c.isMAC {
					t.Errorf("errors.Is(err, ErrMACMismatch) = %v, want %v", !c.isMAC, c.isMAC)
				}
			})
		}
		t.Run(name+"/partial approval may change F4", func(t *testing.T) {
			reply := decode(t, d, ex.replyFrame, mac)
			reply.Set(39, string(iso.CodePartialApproval))
			reply.Set(4, "000000000100")
			body, err := d.Encode(reply, mac)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := d.Decode(body)
			if err := iso.CheckReply(ex.req, got, mac); err != nil {
				t.Fatalf("partial approval refused: %v", err)
			}
		})
		t.Run(name+"/approval without MAC", func(t *testing.T) {
			reply := decode(t, d, ex.replyFrame, mac)
			reply.Unset(64)
			body, err := d.Encode(reply, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := d.Decode(body)
			if err := iso.CheckReply(ex.req, got, mac); !errors.Is(err, iso.ErrBadReply) {
				t.Fatalf("unsigned approval accepted: %v", err)
			}
		})
		t.Run(name+"/decline needs no MAC", func(t *testing.T) {
			ex := spell(t, d, tc.fixtures[1]) // declined sale, unsigned
			got := decode(t, d, ex.replyFrame, mac)
			if got.Has(64) {
				t.Fatal("a decline was signed")
			}
			if err := iso.CheckReply(ex.req, got, mac); err != nil {
				t.Fatalf("decline refused: %v", err)
			}
		})
		t.Run(name+"/wrong MAC key", func(t *testing.T) {
			other, _ := d.NewMAC(testTMK[:len(macKey(d))])
			got := decode(t, d, ex.replyFrame, mac)
			if err := iso.CheckReply(ex.req, got, other); !errors.Is(err, iso.ErrMACMismatch) {
				t.Fatalf("err = %v, want ErrMACMismatch", err)
			}
		})
	}
}

func TestResponseMTI(t *testing.T) {
	for req, want := range map[string]string{"0200": "0210", "0220": "0230", "0400": "0410", "0401": "0410",
		"0420": "0430", "0421": "0430", "0500": "0510", "0800": "0810", "0820": "0830", "0320": "0330", "12": ""} {
		if got := iso.ResponseMTI(req); got != want {
			t.Errorf("ResponseMTI(%s) = %q, want %q", req, got, want)
		}
	}
}

// decode reads a frame back into a message, as a terminal does.
func decode(t *testing.T, d iso.Dialect, frame []byte, _ iso.MAC) *iso.Message {
	t.Helper()
	fr, err := d.Framing().ParseFrame(frame)
	if err != nil {
		t.Fatal(err)
	}
	m, err := d.Decode(fr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encodeKeepingMAC packs m with its current MAC value instead of a new one,
// as an attacker altering a signed message would: a MAC "key" that always
// answers the old MAC.
func encodeKeepingMAC(t *testing.T, d iso.Dialect, m *iso.Message, id int) []byte {
	t.Helper()
	old := m.Value(id)
	body, err := d.Encode(m, replayMAC(mustHex(old)))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

type replayMAC []byte

func (r replayMAC) Sum([]byte) []byte { return r }
func (r replayMAC) Size() int         { return len(r) }

package switchtest_test

import (
	"crypto/des"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// Requests laid by hand from the published CUP terminal layout, sent over
// TCP to the host, which must refuse what a real CUP host refuses.
//
// Frame (CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReqPacket): 2-byte binary
// length, TPDU 60 0000 0000, header 60 31 00 00 00 00, then the message:
// MTI as 2 BCD bytes, one 8-byte binary bitmap, then the fields in order
// (Src/pack8583.c iPackElement): n as BCD, fixed n right-aligned, LL/LLL
// lengths as BCD, variable n of odd length left-aligned with the pad nibble
// 0 last, F22 left-aligned, an/ans as ASCII, b as raw bytes.

// field is one field as it goes on the wire.
type field struct {
	id  int
	hex string
}

// cupSale is a keyed sale of CNY 10.00 from tid with STAN stan (6 digits).
func cupSale(tid, stan string) []field {
	return []field{
		{2, "16" + "4111111111111111"}, // n..19 LLVAR: BCD length 16, PAN (published test card)
		{3, "000000"},                  // n6 processing code: sale
		{4, "000000001000"},            // n12 amount in fen: 10.00
		{11, stan},                     // n6 STAN
		{14, "3012"},                   // n4 expiry YYMM
		{22, "0120"},                   // n3 entry mode 012 (manual, no PIN), left-aligned: pad nibble last
		{25, "00"},                     // n2 POS condition: normal
		{41, hex.EncodeToString([]byte(tid))},
		{42, hex.EncodeToString([]byte("898310048161234"))}, // ans15 merchant
		{49, hex.EncodeToString([]byte("156"))},             // an3 currency CNY
		// n..017 LLLVAR: BCD length 0011, then "22000001000" (60.1 22 sale,
		// 60.2 batch 000001, 60.3 000) left-aligned, pad nibble 0 last
		// (S1 TrTable {POS_SALE,"00","22","000"}, SetCommField60).
		{60, "0011" + "220000010000"},
	}
}

// cupBody lays MTI, bitmap and fields (bit n of the bitmap, counted from
// 1 at the most significant bit, marks field n), and with mak appends F64:
// the CUP ECB MAC over every byte from the MTI to the last field before it.
func cupBody(t *testing.T, fields []field, mak []byte) []byte {
	t.Helper()
	var bitmap [8]byte
	var data []byte
	for _, f := range fields {
		bitmap[(f.id-1)/8] |= 0x80 >> ((f.id - 1) % 8)
		b, err := hex.DecodeString(f.hex)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if mak != nil {
		bitmap[7] |= 0x01 // field 64
	}
	body := append([]byte{0x02, 0x00}, bitmap[:]...) // MTI 0200 as BCD
	body = append(body, data...)
	if mak != nil {
		body = append(body, cupECBMAC(t, mak, body)...)
	}
	return body
}

// cupECBMAC is the CUP "ECB" MAC as the specification publishes it (S1
// Src/pospin.c CalMAC; worked vector in solo123/pgate
// test/integration/pos_mac_test.rb): XOR the zero-padded 8-byte blocks into
// R; H = the 16 uppercase hex characters of R; encrypt H[0:8] under the
// MAK; XOR with H[8:16]; encrypt again; the MAC is the first 8 uppercase
// hex characters of the result, as ASCII. Single DES: the MAK is 8 bytes.
func cupECBMAC(t *testing.T, mak, block []byte) []byte {
	t.Helper()
	c, err := des.NewCipher(mak)
	if err != nil {
		t.Fatal(err)
	}
	var r [8]byte
	for i, b := range block {
		r[i%8] ^= b
	}
	h := []byte(strings.ToUpper(hex.EncodeToString(r[:])))
	e := make([]byte, 8)
	c.Encrypt(e, h[:8])
	for i := range e {
		e[i] ^= h[8+i]
	}
	c.Encrypt(e, e)
	return []byte(strings.ToUpper(hex.EncodeToString(e))[:8])
}

// cupFrame wraps a body: 2-byte length, TPDU 60 0000 0000, CUP header.
func cupFrame(body []byte) []byte {
	head := []byte{0x60, 0x00, 0x00, 0x00, 0x00, 0x60, 0x31, 0x00, 0x00, 0x00, 0x00}
	out := binary.BigEndian.AppendUint16(nil, uint16(len(head)+len(body)))
	return append(append(out, head...), body...)
}

// exchange sends one frame and returns the decoded reply, or nil when the
// host closed the connection instead.
func exchange(t *testing.T, h *switchtest.Host, d iso.Dialect, frame []byte) *iso.Message {
	t.Helper()
	c, err := net.Dial("tcp", h.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	fr, err := d.Framing().ReadFrame(c)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	m, err := d.Decode(fr.Body)
	if err != nil {
		t.Fatalf("decoding the reply: %v", err)
	}
	return m
}

var testMAK = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}

func without(fs []field, id int) []field {
	var out []field
	for _, f := range fs {
		if f.id != id {
			out = append(out, f)
		}
	}
	return out
}

func replace(fs []field, id int, hexValue string) []field {
	out := append([]field(nil), fs...)
	for i := range out {
		if out[i].id == id {
			out[i].hex = hexValue
		}
	}
	return out
}

func TestCUPHostRefusesWhatARealHostRefuses(t *testing.T) {
	d := dialects(t)["cup"]
	h := switchtest.NewHost(t, d, switchtest.WithTerminals("TERM0001", "TERM0002"))
	h.InstallMAK("TERM0001", testMAK) // TERM0002 is registered but never signs on

	// The layout of the full sale, laid field by field above, has this
	// bitmap: fields 2 3 4 | 11 14 | 22 | 25 | - | 41 42 | 49 | 60 64.
	if got := hex.EncodeToString(cupBody(t, cupSale("TERM0001", "000200"), testMAK)[2:10]); got != "7024048000c08011" {
		t.Fatalf("bitmap %s", got)
	}
	flipMAC := func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }

	// Each case has its own STAN, so none is a duplicate of another.
	cases := []struct {
		name string
		stan string
		body func(stan string) []byte
		want iso.ResponseCode // "": the connection is closed
	}{
		{"correct sale", "000201", func(s string) []byte { return cupBody(t, cupSale("TERM0001", s), testMAK) }, iso.CodeApproved},
		// F64 is M for a sale (chfenix/iso8583 iso8583_cups.xml "consum"); A0
		// "MAC校验错" (S1 Src/globalvar.c sRetErrInfo).
		{"no F64", "000202", func(s string) []byte { return cupBody(t, cupSale("TERM0001", s), nil) }, iso.CodeMACError},
		{"wrong F64", "000203", func(s string) []byte { return flipMAC(cupBody(t, cupSale("TERM0001", s), testMAK)) }, iso.CodeMACError},
		// F4 is M for a sale (iso8583_cups.xml "consum"); 30 format error.
		{"no F4", "000204", func(s string) []byte { return cupBody(t, without(cupSale("TERM0001", s), 4), testMAK) }, iso.CodeFormatError},
		// A registered terminal that never signed on: the host holds no MAC
		// key for it; A0 "请重新签到" sends it to sign on, with a MAC or without.
		{"never signed on", "000205", func(s string) []byte { return cupBody(t, cupSale("TERM0002", s), testMAK) }, iso.CodeMACError},
		{"never signed on, no F64", "000206", func(s string) []byte { return cupBody(t, cupSale("TERM0002", s), nil) }, iso.CodeMACError},
		// Not registered: 97 "终端未登记" (sRetErrInfo).
		{"unknown terminal", "000207", func(s string) []byte { return cupBody(t, cupSale("TERM0099", s), nil) }, iso.CodeTerminalNotRegistered},
		// F60 announces 18 digits, over its maximum of 17 (n..017): the
		// field does not decode, but MTI, F11 and F41 before it do: 30.
		{"LLL over the maximum", "000208", func(s string) []byte {
			return cupBody(t, replace(cupSale("TERM0001", s), 60, "0018"+"220000010000000000"), testMAK)
		}, iso.CodeFormatError},
		// A BCD nibble A in F11: the STAN cannot be read, so no reply can
		// name it: the host drops the connection.
		{"nibble A in F11", "00020A", func(s string) []byte { return cupBody(t, cupSale("TERM0001", s), testMAK) }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply := exchange(t, h, d, cupFrame(tc.body(tc.stan)))
			if tc.want == "" {
				if reply != nil {
					t.Fatalf("got reply %v, want the connection closed", reply)
				}
				return
			}
			if reply == nil {
				t.Fatal("connection closed, want a reply")
			}
			if reply.MTI != "0210" || reply.Value(11) != tc.stan || iso.ResponseCode(reply.Value(39)) != tc.want {
				t.Errorf("reply MTI %s F11 %s F39 %s, want 0210 %s %s", reply.MTI, reply.Value(11), reply.Value(39), tc.stan, tc.want)
			}
		})
	}
	if txns := h.Transactions(); len(txns) != 1 || txns[0].STAN != 201 || txns[0].State != switchtest.Approved {
		t.Errorf("ledger %+v, want only the correct sale", txns)
	}
	s := h.ServerStats()
	if s.BadMAC != 2 || s.NotSignedOn != 2 || s.UnknownTerminal != 1 || s.FormatErrors != 2 || s.Dropped != 1 {
		t.Errorf("server stats %+v", s)
	}
}

func TestISO87HostRefusesWhatARealHostRefuses(t *testing.T) {
	d := dialects(t)["iso87"]
	h := switchtest.NewHost(t, d, switchtest.WithTerminals("TERM0001"))
	h.InstallMAK("TERM0001", append(append([]byte(nil), testMAK...), testMAK...))
	cases := []struct {
		name  string
		frame []byte
		stan  string
		want  iso.ResponseCode
	}{
		// A financial request without F64: 63 security violation (ISO 8583:1987
		// response code list, e.g. the GICC list).
		{"no MAC", iso87Frame("TERM0001", "000301", 0), "000301", iso.CodeSecurityViolation},
		// F4 is set on every financial request (resza/MAB source/tranproc.c
		// SetCommReqField): 30 format error.
		{"no F4", iso87Frame("TERM0001", "000302", 4), "000302", iso.CodeFormatError},
		// Not registered: 03 invalid merchant.
		{"unknown terminal", iso87Frame("TERM0099", "000303", 0), "000303", iso.CodeInvalidMerchant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reply := exchange(t, h, d, tc.frame)
			if reply == nil {
				t.Fatal("connection closed, want a reply")
			}
			if reply.MTI != "0210" || reply.Value(11) != tc.stan || iso.ResponseCode(reply.Value(39)) != tc.want {
				t.Errorf("reply MTI %s F11 %s F39 %s, want 0210 %s %s", reply.MTI, reply.Value(11), reply.Value(39), tc.stan, tc.want)
			}
		})
	}
	if n := len(h.Transactions()); n != 0 {
		t.Errorf("the ledger holds %d transactions, want none", n)
	}
}

func iso87Frame(tid, stan string, skip int) []byte {
	now := time.Now().UTC()
	fields := []struct {
		id    int
		value string
	}{
		{2, "16" + "4111111111111111"}, // IFA_LLNUM 19: 2 ASCII length digits, PAN (published test card)
		{3, "000000"},                  // IFA_NUMERIC 6 processing code: sale
		{4, "000000001000"},            // IFA_NUMERIC 12 amount
		{7, now.Format("0102150405")},  // IFA_NUMERIC 10 transmission date and time MMDDhhmmss
		{11, stan},                     // IFA_NUMERIC 6 STAN
		{14, "3012"},                   // IFA_NUMERIC 4 expiry YYMM
		{22, "011"},                    // IFA_NUMERIC 3 entry mode: keyed, terminal can take a PIN
		{24, "107"},                    // IFA_NUMERIC 3 NII (resza/MAB source/tranproc.c SetCommReqField; EDC-ANDROID-SUNMI PackTrans "107")
		{25, "00"},                     // IFA_NUMERIC 2 POS condition
		{41, tid},                      // IF_CHAR 8 terminal
		{42, "898310048161234"},        // IF_CHAR 15 merchant
		{49, "156"},                    // IF_CHAR 3 currency
		{62, "006" + stan},             // IFA_LLLCHAR 999 invoice n6 (MAB PackInvoice), here the STAN
	}
	var bitmap [8]byte
	var data strings.Builder
	for _, f := range fields {
		if f.id == skip {
			continue
		}
		bitmap[(f.id-1)/8] |= 0x80 >> ((f.id - 1) % 8)
		data.WriteString(f.value)
	}
	// MTI as 4 ASCII digits, the bitmap as 16 hex characters (posswitch's
	// ISO87 default), then the fields; 2-byte binary length, no TPDU.
	body := "0200" + strings.ToUpper(hex.EncodeToString(bitmap[:])) + data.String()
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(body))), body...)
}

// TestSignOffEndsTheSession: after a sign-off the host holds no working
// keys for the terminal; the Terminal signs on again by itself before its
// next sale, which the host approves.
func TestSignOffEndsTheSession(t *testing.T) {
	for name, d := range dialects(t) {
		t.Run(name, func(t *testing.T) {
			h := switchtest.NewHost(t, d)
			term, _ := terminal(t, h, d, "TERM0001")
			if !h.SignedOn("TERM0001") {
				t.Fatal("not signed on after Start")
			}
			if err := term.SignOff(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if h.SignedOn("TERM0001") {
				t.Fatal("still signed on at the host after a sign-off")
			}
			if _, err := term.Sale(ctx(t), "01", cny(1000), visa); err != nil {
				t.Fatalf("sale after sign-off: %v", err)
			}
			if !h.SignedOn("TERM0001") || h.ServerStats().NotSignedOn != 0 {
				t.Errorf("signed on %v, refusals %+v", h.SignedOn("TERM0001"), h.ServerStats())
			}
		})
	}
}

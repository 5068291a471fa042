package switchtest_test

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// A CUP terminal signs on under each key scheme over TCP against the
// simulator, which issues fixed keys; the 0810 must carry the key block
// byte for byte as the CUP specification lays it out, and the next sale
// must be MACed with single DES under the 8-byte MAK.
//
// The blocks were computed with the OpenSSL 3.0 command line, not by
// posswitch ("enc" is `openssl enc <cipher> -nopad -K <key> -provider
// legacy -provider default` over the hex shown; a check value is the first
// 4 bytes of the key's encryption of 0000000000000000):
//
//	001 (TMK 0123456789ABCDEF):
//	  89350AC8555D0A21 = enc -des-ecb 0123456789ABCDEF, PIK 89ABCDEF01234567; CV 00B8CC69
//	  2B86C06A5ECB1E33 = enc -des-ecb 0123456789ABCDEF, MAK 2222222222222222; CV 00962B60 (single DES)
//	003/004 (TMK 0123456789ABCDEFFEDCBA9876543210):
//	  3EB3B72576BBBE832532DF5DD75880D3 = enc -des-ede, PIK 11223344556677888877665544332211; CV 491510CA (3DES)
//	  B4ABA2BB791C50E7 = enc -des-ede, MAK 2222222222222222; then 8 x 00; CV 00962B60 (single DES)
//	  BDBE59C77CF56415BAB6EAD19B49AD8C = enc -des-ede, TDK 0F1E2D3C4B5A69788796A5B4C3D2E1F0; CV 819DB114 (004 only)
//
// Layout sources: chfenix/iso8583 src/main/java/cn/agiledata/iso8583/
// entity/SignResponse.java (quotes the spec), CaoEnXin/LiaoYang_POS
// Src/pospin.c LogonDivKey, alon0808/ProjectAfcApp code/AfcCore/UnionPay/
// qpboc_8583.c.
var cupSchemes = []struct {
	scheme        iso.KeyScheme
	tmk, pik, tdk string
	block         string
}{
	{iso.KeysSingleDES, "0123456789ABCDEF", "89ABCDEF01234567", "",
		"89350AC8555D0A21" + "00B8CC69" + "2B86C06A5ECB1E33" + "00962B60"},
	{iso.KeysDoubleDES, "0123456789ABCDEFFEDCBA9876543210", "11223344556677888877665544332211", "",
		"3EB3B72576BBBE832532DF5DD75880D3" + "491510CA" + "B4ABA2BB791C50E7" + "0000000000000000" + "00962B60"},
	{iso.KeysDoubleDESTrack, "0123456789ABCDEFFEDCBA9876543210", "11223344556677888877665544332211", "0F1E2D3C4B5A69788796A5B4C3D2E1F0",
		"3EB3B72576BBBE832532DF5DD75880D3" + "491510CA" + "B4ABA2BB791C50E7" + "0000000000000000" + "00962B60" +
			"BDBE59C77CF56415BAB6EAD19B49AD8C" + "819DB114"},
}

const cupMAK = "2222222222222222"

// A UnionPay sandbox test card, swiped: 33 characters of track 2.
var swiped = iso.Card{Track2: "6200000000000005=2812101123456789", Entry: iso.EntryMode{Method: iso.EntryMagstripe}}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishedCUPMAC is the CUP "ECB" MAC written from its published steps
// (solo123/pgate test/integration/pos_mac_test.rb), single DES under the
// 8-byte MAK, independent of the iso package.
func publishedCUPMAC(t *testing.T, mak, mab []byte) []byte {
	t.Helper()
	c, err := des.NewCipher(mak)
	if err != nil {
		t.Fatal(err)
	}
	var x [8]byte
	for i, b := range mab {
		x[i%8] ^= b
	}
	h := []byte(strings.ToUpper(hex.EncodeToString(x[:])))
	var e [8]byte
	c.Encrypt(e[:], h[:8])
	for i := range e {
		e[i] ^= h[8+i]
	}
	c.Encrypt(e[:], e[:])
	return []byte(strings.ToUpper(hex.EncodeToString(e[:]))[:8])
}

func TestCUPSignOnEverySchemeOverTCP(t *testing.T) {
	if got := string(publishedCUPMAC(t, unhex(t, cupMAK), unhex(t, "1234567890ABCDEFABCDEF1234567890"))); got != "E267B6E2" {
		t.Fatalf("the test's MAC gives %s on the published vector, want E267B6E2", got)
	}
	d := dialects(t)["cup"]
	for _, sc := range cupSchemes {
		t.Run(fmt.Sprint(sc.scheme), func(t *testing.T) {
			tmk := unhex(t, sc.tmk)
			h := switchtest.NewHost(t, d, switchtest.WithTMK(tmk), switchtest.WithRecording(),
				switchtest.WithWorkingKeys(func(s iso.KeyScheme) (pik, mak, tdk []byte) {
					if s != sc.scheme {
						t.Errorf("sign-on asked for scheme %v, want %v", s, sc.scheme)
					}
					if sc.tdk != "" {
						tdk = unhex(t, sc.tdk)
					}
					return unhex(t, sc.pik), unhex(t, cupMAK), tdk
				}))
			var mu sync.Mutex
			var f62 string
			term := cupTerminal(t, h, d, tmk, sc.scheme, isoswitch.WithTrace(func(dir string, m *iso.Message) {
				if dir == "recv" && m.MTI == "0810" {
					mu.Lock()
					f62 = m.Value(62)
					mu.Unlock()
				}
			}))
			mu.Lock()
			if f62 != sc.block {
				t.Errorf("0810 F62\n got %s\nwant %s", f62, sc.block)
			}
			mu.Unlock()
			if _, err := term.Sale(ctx(t), "01", cny(1234), swiped); err != nil {
				t.Fatal(err)
			}

			sale := recordedRequest(t, h, d, "0200")
			body := sale.Raw()
			if got, want := body[len(body)-8:], publishedCUPMAC(t, unhex(t, cupMAK), body[:len(body)-8]); string(got) != string(want) {
				t.Errorf("sale F64 = %s, want %s (single DES under the 8-byte MAK)", got, want)
			}
			clearTrack := "6200000000000005D2812101123456789"
			f53 := sale.Value(53)
			if sc.tdk != "" {
				// 367EA99B770DEF51 = enc -des-ede 0F1E2D3C4B5A69788796A5B4C3D2E1F0 over
				// D281210112345678, the 8 packed bytes before the track's last byte.
				if got := sale.Value(35); got == clearTrack || got != "6200000000000005367EA99B770DEF519" {
					t.Errorf("F35 on the wire = %s, want the track enciphered under the TDK", got)
				}
				if f53 != "0610000000000000" {
					t.Errorf("F53 = %s, want 0610000000000000", f53)
				}
			} else {
				if got := sale.Value(35); got != clearTrack {
					t.Errorf("F35 = %s, want the clear track", got)
				}
				want := map[iso.KeyScheme]string{iso.KeysSingleDES: "0000000000000000", iso.KeysDoubleDES: "0600000000000000"}[sc.scheme]
				if f53 != want {
					t.Errorf("F53 = %s, want %s", f53, want)
				}
			}
			txns := h.Transactions()
			if len(txns) != 1 || txns[0].PAN != "6200000000000005" || txns[0].State != switchtest.Approved {
				t.Errorf("host ledger = %+v, want one approved sale of the card's PAN", txns)
			}
		})
	}
}

// recordedRequest is the first request of the host's recording with mti,
// decoded (raw bytes kept).
func recordedRequest(t *testing.T, h *switchtest.Host, d iso.Dialect, mti string) *iso.Message {
	t.Helper()
	path := filepath.Join(t.TempDir(), "session.txtar")
	if err := h.WriteRecording(path); err != nil {
		t.Fatal(err)
	}
	xs, err := switchtest.ReadRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range xs {
		m, err := d.Decode(x.Request)
		if err == nil && m.MTI == mti {
			return m
		}
	}
	t.Fatalf("no %s was sent", mti)
	return nil
}

func cupTerminal(t *testing.T, h *switchtest.Host, d iso.Dialect, tmk []byte, s iso.KeyScheme, opts ...isoswitch.Option) *isoswitch.Terminal {
	t.Helper()
	j, err := reversal.Open(filepath.Join(t.TempDir(), "journal.db"), reversal.WithDataKey(bytes.Repeat([]byte{0x5a}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	opts = append([]isoswitch.Option{isoswitch.WithTimeout(2 * time.Second), isoswitch.WithKeyScheme(s)}, opts...)
	term, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.Addr, Terminal: "TERM0009", Merchant: "898310048161234",
		MasterKey: tmk, Journal: j}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	if err := term.Start(ctx(t), "01"); err != nil {
		t.Fatal(err)
	}
	return term
}

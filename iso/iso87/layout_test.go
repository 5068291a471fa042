package iso87_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// Hand-laid ISO87 terminal-profile bodies, written from the published
// layouts: field formats of jpos/jPOS
// jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java (ASCII
// numerics, LL/LLL lengths as ASCII digits; posswitch's default bitmap is
// 16 hex characters), field usage of resza/MAB source/tranproc.c
// (SetCommReqField, PackInvoice, TransVoid, TransSettleSubNew,
// TransUpLoad) and source/global.c glTranConfig. The MAC (F64, 16 hex
// characters) is the last field; the test signs the hand-laid prefix with
// the fixture MAK, so the bytes before it are entirely the test's.
var iso87Layouts = []struct {
	name string
	env  iso.Envelope
	req  iso.Request
	body string // everything but the MAC
	// check is what the host must read back.
	check func(t *testing.T, env iso.Envelope, r iso.Request)
}{
	{
		name: "sale",
		env:  env(42),
		req:  iso.SaleRequest{Amount: usd, Card: iso.Card{Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe}}},
		body: "0200" + // MTI: financial request (glTranConfig "SALE")
			"3238058020C08015" + // bitmap: 3 4 7 11 12 13 22 24 25 35 41 42 49 60 62 64
			"000000" + // F3 purchase
			"000000012345" + // F4 n12
			"0314103015" + // F7 MMDDhhmmss
			"000042" + // F11 STAN
			"103015" + "0314" + // F12 hhmmss, F13 MMDD
			"021" + // F22 magstripe, terminal can take a PIN (position 3 = capability)
			"000" + // F24 NII (no TPDU configured)
			"00" + // F25 POS condition: normal
			"33" + "4111111111111111=2812101123456789" + // F35 LL track 2
			"TERM0001" + "898310048161234" + // F41 ans8, F42 ans15
			"840" + // F49
			"006" + "000007" + // F60 LLL batch n6
			"006" + "000042", // F62 LLL invoice n6 = the STAN (PackInvoice)
		check: func(t *testing.T, _ iso.Envelope, r iso.Request) {
			s := r.(iso.SaleRequest)
			if s.Amount != usd || s.Card.Track2 != testTrack2 || s.Card.Entry.Method != iso.EntryMagstripe || s.Card.Entry.PINEntered {
				t.Errorf("sale read as %+v", s)
			}
		},
	},
	{
		name: "void",
		env:  env(46),
		req: iso.VoidRequest{Original: iso.Original{STAN: 41, Batch: 7, Time: fixtureTime.Add(-time.Hour), RRN: "307310000041",
			AuthCode: "Z9Y8X7", Amount: usd}},
		body: "0200" + // MTI 0200, not a 0400: glTranConfig {"VOID","0200","020000",...}
			"323805800CC08015" + // bitmap: 3 4 7 11 12 13 22 24 25 37 38 41 42 49 60 62 64
			"020000" + // F3 void (EDC-ANDROID-SUNMI TransConstant: void processing code 020000)
			"000000012345" + // F4 the original amount
			"0314103015" + // F7
			"000046" + // F11 the void's own STAN
			"093015" + "0314" + // F12/F13 of the original (TransVoid reloads the log)
			"011" + // F22 keyed (no card read), PIN-capable terminal
			"000" + // F24
			"00" + // F25 stays the POS condition code
			"307310000041" + // F37 original RRN
			"Z9Y8X7" + // F38 original auth code
			"TERM0001" + "898310048161234" + "840" +
			"006" + "000007" + // F60 batch
			"006" + "000041", // F62 the original's invoice (its STAN)
		check: func(t *testing.T, _ iso.Envelope, r iso.Request) {
			v := r.(iso.VoidRequest)
			if v.Original.RRN != "307310000041" || v.Original.AuthCode != "Z9Y8X7" || v.Original.Invoice != 41 || v.Original.Amount != usd || v.Card != nil {
				t.Errorf("void read as %+v", v)
			}
		},
	},
	{
		name: "settlement",
		env:  env(60),
		req: iso.SettlementRequest{Currency: iso.USD,
			Totals: iso.Totals{Domestic: iso.ClassTotals{DebitCount: 2, DebitAmount: 13245, CreditCount: 1, CreditAmount: 5000}}},
		body: "0500" +
			"2220010000C08013" + // bitmap: 3 7 11 24 41 42 49 60 63 64
			"920000" + // F3 settlement request (TransSettleSubNew, first try)
			"0314103015" + "000060" + "000" +
			"TERM0001" + "898310048161234" + "840" +
			"006" + "000007" + // F60 batch n6
			"090" + // F63 LLL 90: "%03d%12.12s%03d%12.12s", then 60 zeros
			"002" + "000000013245" + "001" + "000000005000" + strings.Repeat("0", 60),
		check: func(t *testing.T, env iso.Envelope, r iso.Request) {
			s := r.(iso.SettlementRequest)
			if s.AfterUpload || s.Totals.Domestic != (iso.ClassTotals{DebitCount: 2, DebitAmount: 13245, CreditCount: 1, CreditAmount: 5000}) || env.Batch != 7 {
				t.Errorf("settlement read as %+v in batch %s", s, env.Batch)
			}
		},
	},
	{
		name: "batch_upload",
		env:  env(61),
		req: iso.BatchUploadRequest{Entries: []iso.BatchEntry{{Kind: iso.KindSale, STAN: 42, Time: fixtureTime.Add(-2 * time.Hour),
			Amount: usd, RRN: "307310000042", AuthCode: "A1B2C3", PAN: panVisa, Entry: iso.EntryMagstripe}}},
		body: "0320" +
			"723805800EC08015" + // bitmap: 2 3 4 7 11 12 13 22 24 25 37 38 39 41 42 49 60 62 64
			"16" + "4111111111111111" + // F2 LL PAN
			"000001" + // F3 the sale's 000000 with its last digit 1 (TransUpLoad)
			"000000012345" + "0314103015" +
			"000061" + // F11 the upload's STAN
			"083015" + "0314" + // F12/F13 of the sale
			"021" + "000" + "00" + // F22, F24, F25
			"307310000042" + "A1B2C3" + // F37, F38 of the sale
			"00" + // F39 the sale's response code
			"TERM0001" + "898310048161234" + "840" +
			"022" + "0200" + "000042" + "            " + // F60: original MTI, STAN, 12 spaces ("%06ld%12s")
			"006" + "000042", // F62 the sale's invoice
		check: func(t *testing.T, env iso.Envelope, r iso.Request) {
			e := r.(iso.BatchUploadRequest).Entries[0]
			if env.Batch != 0 {
				t.Errorf("the host read batch %s from a 0320's F60 (original MTI and STAN)", env.Batch)
			}
			if e.Kind != iso.KindSale || e.STAN != 42 || e.RRN != "307310000042" || e.Entry != iso.EntryMagstripe || e.Invoice != 42 || e.PAN != panVisa {
				t.Errorf("upload read as %+v", e)
			}
		},
	},
}

// TestISO87TerminalLayouts: the terminal profile spells each message
// exactly as laid by hand above, and a host reads the hand-laid bytes back.
func TestISO87TerminalLayouts(t *testing.T) {
	d, err := iso87.New(iso.WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	mac, err := d.NewMAC(testMAK)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range iso87Layouts {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.body + strings.ToUpper(hex.EncodeToString(mac.Sum([]byte(tc.body))))
			m, err := d.BuildRequest(tc.env, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Encode(m, mac)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != want {
				t.Errorf("encoded\n got %q\nwant %q", got, want)
			}
			read, err := d.Decode([]byte(want))
			if err != nil {
				t.Fatal(err)
			}
			env, r, err := d.ParseRequest(read)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, env, r)
		})
	}
}

// TestISO87BalanceOfSeveralAmounts: F54 is ans..120, up to six 20-character
// additional amounts (jPOS ISO87APackager IFA_LLLCHAR(120)); the balance is
// the available one (amount type 02), wherever it stands.
func TestISO87BalanceOfSeveralAmounts(t *testing.T) {
	d, _ := iso87.New(iso.WithClock(fixedClock))
	req, err := d.BuildRequest(env(45), iso.BalanceInquiryRequest{Card: iso.Card{PAN: panVisa, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}, Currency: iso.USD})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := iso.MessageFromFields(map[string]string{"0": "0210", "3": "310000", "11": "000045", "39": "00", "41": "TERM0001",
		// account 00, type 01 ledger balance, USD, credit 1000.00; then type 02 available, credit 9988.77
		"54": "0001840C000000100000" + "0002840C000000998877"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := d.ParseResponse(req, reply)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.(iso.FinancialResponse).Balance; b == nil || *b != (iso.Amount{Minor: 998877, Currency: iso.USD}) {
		t.Errorf("balance %v, want the available 9988.77", b)
	}
	reply.Set(54, strings.Repeat("0002840C000000000001", 7))
	if _, err := d.ParseResponse(req, reply); err == nil {
		t.Error("seven amounts in F54 were accepted")
	}
}

// TestISO87HostToHostVoidLayout: the host-to-host void is a 0400 whose F39
// says customer cancellation (ISO 8583:1987 response code 17) and whose F25
// stays the POS condition 00 (F25 17 is "returned item"); F90 names the
// original (n42: MTI, STAN, F7, two zero-filled institution IDs).
func TestISO87HostToHostVoidLayout(t *testing.T) {
	d, _ := iso87.New(iso.WithClock(fixedClock), iso87.WithProfile(iso87.ProfileHostToHost))
	mac, _ := d.NewMAC(testMAK)
	body := "0400" +
		"B23800800EC080100000004000000001" + // bitmaps: 1 3 4 7 11 12 13 25 37 38 39 41 42 49 60; 90 128
		"000000" + "000000012345" + "0314103015" + "000046" + "103015" + "0314" +
		"00" + // F25 POS condition, not 17
		"307310000041" + "Z9Y8X7" +
		"17" + // F39 customer cancellation
		"TERM0001" + "898310048161234" + "840" +
		"006" + "000007" +
		"0200" + "000041" + "0314093015" + strings.Repeat("0", 22) // F90
	want := body + strings.ToUpper(hex.EncodeToString(mac.Sum([]byte(body))))
	m, err := d.BuildRequest(env(46), iso.VoidRequest{Original: iso.Original{STAN: 41, Batch: 7, Time: fixtureTime.Add(-time.Hour),
		RRN: "307310000041", AuthCode: "Z9Y8X7", Amount: usd}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.Encode(m, mac)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("encoded\n got %q\nwant %q", got, want)
	}
	read, err := d.Decode([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if _, r, err := d.ParseRequest(read); err != nil || r.Kind() != iso.KindVoid || r.(iso.VoidRequest).Original.STAN != 41 {
		t.Errorf("host read %v (%v), want the void of STAN 41", r, err)
	}
	// A recovery reversal carries no F37: with F39 17 it is still a reversal.
	read.Unset(37)
	if _, r, err := d.ParseRequest(read); err != nil || r.Kind() != iso.KindReversal {
		t.Errorf("a 0400 with F39 17 and no F37 read as %v (%v), want a reversal", r, err)
	}
}

// TestISO87TerminalOptions: F24 comes from WithNII or the TPDU's
// destination; F22's third digit is the terminal's PIN capability.
func TestISO87TerminalOptions(t *testing.T) {
	sale := iso.SaleRequest{Amount: usd, Card: iso.Card{PAN: panVisa, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}}
	tpdu, _ := iso87.New(iso.WithFraming(iso.Framing{Prefix: iso.LengthBinary2, TPDU: true}), iso.WithTPDU(iso.TPDU{0x60, 0x01, 0x07, 0x00, 0x00}))
	if m, _ := tpdu.BuildRequest(env(1), sale); m.Value(24) != "107" {
		t.Errorf("F24 %q from TPDU 6001070000, want 107", m.Value(24))
	}
	nii, _ := iso87.New(iso87.WithNII("023"))
	if m, _ := nii.BuildRequest(env(1), sale); m.Value(24) != "023" || m.Value(22) != "011" {
		t.Errorf("F24 %q F22 %q, want 023 and 011", m.Value(24), m.Value(22))
	}
	noPad, _ := iso87.New(iso87.WithPINEntryCapability(false))
	if m, _ := noPad.BuildRequest(env(1), sale); m.Value(22) != "012" {
		t.Errorf("F22 %q from a terminal without a PIN pad, want 012", m.Value(22))
	}
	withPIN := sale
	withPIN.Card.Entry.PINEntered, withPIN.Card.PINBlock = true, pinBlock(t)
	if _, err := noPad.BuildRequest(env(1), withPIN); err == nil {
		t.Error("a PIN block from a terminal without PIN entry capability was built")
	}
	h2h, _ := iso87.New(iso87.WithProfile(iso87.ProfileHostToHost))
	if m, _ := h2h.BuildRequest(env(1), sale); m.Has(24) || m.Has(62) {
		t.Errorf("host-to-host sale carries F24/F62: %s", m)
	}
	for _, o := range []iso.Option{iso87.WithProfile(iso87.ProfileTerminal), iso87.WithNII("107"), iso87.WithPINEntryCapability(true)} {
		if _, err := cup.New(o); err == nil {
			t.Error("CUP took an ISO87-only option")
		}
	}
	if _, err := iso87.New(iso87.WithNII("1O7")); err == nil {
		t.Error("a non-numeric NII was accepted")
	}
}

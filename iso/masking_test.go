package iso_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/posswitch/posswitch/iso"
)

// TestCardDataPrintsMasked: every way a value can be printed, logged or
// marshalled shows the masked form only.
func TestCardDataPrintsMasked(t *testing.T) {
	pb := pinBlock(t)
	card := iso.Card{PAN: panVisa, Expiry: "2812", Track2: testTrack2, Entry: iso.EntryMode{Method: iso.EntryMagstripe, PINEntered: true}, PINBlock: pb}
	values := []any{panVisa, testTrack2, testCode, card, &card, iso.Expiry("2812"), *pb,
		iso.SaleRequest{Amount: usd, Card: card}, iso.PaymentCodeSaleRequest{Amount: usd, Code: testCode}}
	secrets := []string{panVisa.Digits(), "2812101123456789", string(testCode), strings.ToUpper(hex.EncodeToString(pb[:])),
		strings.ToLower(hex.EncodeToString(pb[:]))}
	for _, v := range values {
		var out bytes.Buffer
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		slog.New(slog.NewJSONHandler(&out, nil)).Info("card", "v", v)
		slog.New(slog.NewTextHandler(&out, nil)).Info("card", "v", v)
		js, _ := json.Marshal(v)
		out.Write(js)
		for _, s := range secrets {
			if strings.Contains(out.String(), s) {
				t.Errorf("%T printed a secret:\n%s", v, out.String())
			}
		}
	}
	if got := panVisa.Masked(); got != "411111******1111" {
		t.Errorf("Masked() = %q, want first 6 and last 4", got)
	}
	if got := testCode.Masked(); got != "134567********6789" {
		t.Errorf("payment code masked as %q", got)
	}
}

// TestDumpsOfEveryFixtureLeakNothing: the masked dump, one-line form and
// slog value of every recorded request and reply carry no PAN, track, PIN
// block, payment code or key material in the clear.
func TestDumpsOfEveryFixtureLeakNothing(t *testing.T) {
	secrets := []string{panVisa.Digits(), panMaster.Digits(), panUnionPay.Digits(), "2812101123456789", string(testCode)}
	pb := pinBlock(t)
	secrets = append(secrets, strings.ToUpper(hex.EncodeToString(pb[:])))
	for name, tc := range dialects(t) {
		for _, f := range tc.fixtures {
			ex := spell(t, tc.d, f)
			for _, frame := range [][]byte{ex.reqFrame, ex.replyFrame} {
				m := decode(t, tc.d, frame, nil)
				var out bytes.Buffer
				out.WriteString(m.Dump())
				fmt.Fprintf(&out, "%v %+v %s", m, m, m)
				slog.New(slog.NewJSONHandler(&out, nil)).Info("msg", "m", m)
				keyFields := []int{62, 125}
				for _, id := range keyFields {
					if v, ok := m.Get(id); ok && len(v) > 8 {
						secrets = append(secrets, v[:16])
					}
				}
				for _, s := range secrets {
					if strings.Contains(out.String(), s) {
						t.Errorf("%s %s: dump shows %q in the clear:\n%s", name, f.name, s, out.String())
					}
				}
			}
		}
	}
}

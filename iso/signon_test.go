package iso_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// TestSignOnKeysUnwrapUnderTheTMK: the working keys a sign-on reply carries
// come out clear under the terminal master key, and a key whose check value
// does not match is refused.
func TestSignOnKeysUnwrapUnderTheTMK(t *testing.T) {
	for name, tc := range dialects(t) {
		var f fixture
		for _, x := range tc.fixtures {
			if x.name == "sign_on" {
				f = x
			}
		}
		ex := spell(t, tc.d, f)
		resp, err := tc.d.ParseResponse(ex.req, decode(t, tc.d, ex.replyFrame, nil))
		if err != nil {
			t.Fatal(err)
		}
		keys := resp.(iso.SignOnResponse).Keys
		mak, err := iso.UnwrapKey(testTMK, keys.MAK)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(mak, macKey(tc.d)) {
			t.Errorf("%s: unwrapped MAK differs from the one the host wrapped", name)
		}
		bad := keys.PIK
		bad.CheckValue = append([]byte{bad.CheckValue[0] ^ 0xFF}, bad.CheckValue[1:]...)
		if _, err := iso.UnwrapKey(testTMK, bad); !errors.Is(err, iso.ErrKeyCheckValue) {
			t.Errorf("%s: a key with a wrong check value was accepted: %v", name, err)
		}
		if _, err := iso.UnwrapKey(testMAK, keys.PIK); !errors.Is(err, iso.ErrKeyCheckValue) {
			t.Errorf("%s: keys unwrapped under the wrong TMK were accepted: %v", name, err)
		}
	}
}

// TestFieldsRoundTrip: the fixture form of a message (Fields) reads back
// into the same message, and bad keys are refused.
func TestFieldsRoundTrip(t *testing.T) {
	for _, tc := range dialects(t) {
		for _, f := range tc.fixtures {
			m := spell(t, tc.d, f).req
			back, err := iso.MessageFromFields(m.Fields())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m.Fields(), back.Fields()); diff != "" {
				t.Errorf("%s: %s", f.name, diff)
			}
		}
	}
	for _, bad := range []string{"1", "129", "x", "02", "-3"} {
		if _, err := iso.MessageFromFields(map[string]string{"0": "0200", bad: "1"}); !errors.Is(err, iso.ErrInvalidInput) {
			t.Errorf("key %q accepted: %v", bad, err)
		}
	}
}

package iso_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

var update = flag.Bool("update", false, "rewrite the recorded fixtures in ../testdata from the typed values")

// dialects under test, with the fixed clock the fixtures were recorded at.
func dialects(t testing.TB) map[string]struct {
	d        iso.Dialect
	fixtures []fixture
} {
	cupD, err := cup.New(iso.WithClock(fixedClock), iso.WithTPDU(iso.TPDU{0x60, 0x00, 0x32, 0x00, 0x00}))
	if err != nil {
		t.Fatal(err)
	}
	i87, err := iso87.New(iso.WithClock(fixedClock))
	if err != nil {
		t.Fatal(err)
	}
	h2h, err := iso87.New(iso.WithClock(fixedClock), iso87.WithProfile(iso87.ProfileHostToHost))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]struct {
		d        iso.Dialect
		fixtures []fixture
	}{
		"cup":       {cupD, cupFixtures(t)},
		"iso87":     {i87, iso87Fixtures(t)},
		"iso87_h2h": {h2h, iso87HostToHostFixtures(t)},
	}
}

// exchange is a fixture spelled: the request and reply messages and frames.
type exchange struct {
	req, reply           *iso.Message
	reqFrame, replyFrame []byte
}

func spell(t testing.TB, d iso.Dialect, f fixture) exchange {
	t.Helper()
	mac, err := d.NewMAC(macKey(d))
	if err != nil {
		t.Fatal(err)
	}
	req, err := d.BuildRequest(f.env, f.req)
	if err != nil {
		t.Fatalf("%s: build request: %v", f.name, err)
	}
	if f.reverse != nil {
		if f.reverse.repeat {
			req, err = d.Repeat(req, f.reverse.attempt)
		} else {
			req, err = d.Reversal(req, f.reverse.reason, f.reverse.attempt)
		}
		if err != nil {
			t.Fatalf("%s: reversal: %v", f.name, err)
		}
	}
	body, err := d.Encode(req, mac)
	if err != nil {
		t.Fatalf("%s: encode request: %v", f.name, err)
	}
	reqFrame, err := d.Framing().AppendFrame(nil, d.Frame(body))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := d.BuildResponse(req, f.resp)
	if err != nil {
		t.Fatalf("%s: build response: %v", f.name, err)
	}
	replyBody, err := d.Encode(reply, mac)
	if err != nil {
		t.Fatalf("%s: encode response: %v", f.name, err)
	}
	replyFrame, err := d.Framing().AppendFrame(nil, d.ReplyFrame(d.Frame(body), replyBody))
	if err != nil {
		t.Fatal(err)
	}
	return exchange{req, reply, reqFrame, replyFrame}
}

// TestGoldenFixtures checks every recorded fixture three ways: the typed
// value encodes to exactly the recorded frame; the recorded frame decodes to
// exactly the recorded fields; and the decoded message parses back to the
// typed value (a host reading the request, a terminal reading the reply,
// which must also pass CheckReply).
func TestGoldenFixtures(t *testing.T) {
	for name, tc := range dialects(t) {
		for _, f := range tc.fixtures {
			t.Run(name+"/"+f.name, func(t *testing.T) {
				ex := spell(t, tc.d, f)
				base := filepath.Join("..", "testdata", name, f.name)
				if *update {
					writeFixture(t, tc.d, base, ex.reqFrame)
					writeFixture(t, tc.d, base+"_response", ex.replyFrame)
				}
				req := checkFixture(t, tc.d, base, ex.reqFrame)
				reply := checkFixture(t, tc.d, base+"_response", ex.replyFrame)

				gotEnv, gotReq, err := tc.d.ParseRequest(req)
				if err != nil {
					t.Fatalf("host cannot parse the request: %v", err)
				}
				wantSTAN := f.env.STAN
				if !req.Has(11) { // CUP's echo carries no trace number
					wantSTAN = 0
				}
				if gotEnv.STAN != wantSTAN || gotEnv.Terminal != f.env.Terminal || gotEnv.Merchant != f.env.Merchant {
					t.Errorf("envelope = %+v, want STAN/TID/MID of %+v", gotEnv, f.env)
				}
				if f.reverse == nil {
					if diff := cmp.Diff(hostView(tc.d, f.req), gotReq, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("request round trip (-sent +read):\n%s", diff)
					}
				}

				mac, _ := tc.d.NewMAC(macKey(tc.d))
				if err := iso.CheckReply(ex.req, reply, mac); err != nil {
					t.Fatalf("reply fails its own checks: %v", err)
				}
				gotResp, err := tc.d.ParseResponse(ex.req, reply)
				if err != nil {
					t.Fatalf("terminal cannot parse the reply: %v", err)
				}
				if diff := cmp.Diff(f.resp, gotResp, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("response round trip (-sent +read):\n%s", diff)
				}
			})
		}
	}
}

// hostView is the request as a host can read it back: the wire does not
// carry everything a terminal knows (CUP sends no request time; a CUP upload
// record no kind, RRN or time; an ISO87 refund only the original RRN).
func terminalProfile(d iso.Dialect) bool {
	p, ok := d.(interface{ Profile() iso87.Profile })
	return ok && p.Profile() == iso87.ProfileTerminal
}

func invoiceOf(i iso.Invoice, s iso.STAN) iso.Invoice {
	if i == 0 {
		return iso.Invoice(s)
	}
	return i
}

func hostView(d iso.Dialect, r iso.Request) iso.Request {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location()) }
	switch r := r.(type) {
	case iso.VoidRequest:
		if d.Name() == "CUP" {
			r.Original.Time = time.Time{} // F61 of a void: batch and trace only
		} else if terminalProfile(d) {
			// F12/F13, F37, F38 and F62 (the invoice, the STAN when none
			// was given); the original's STAN does not travel.
			r.Original = iso.Original{Time: r.Original.Time, RRN: r.Original.RRN, AuthCode: r.Original.AuthCode,
				Amount: r.Original.Amount, Invoice: invoiceOf(r.Original.Invoice, r.Original.STAN)}
		} else {
			r.Original.Batch = 0 // F90 carries no batch
		}
		return r
	case iso.RefundRequest:
		if d.Name() == "CUP" { // F37 and F61: RRN, batch, trace, MMDD
			r.Original = iso.Original{RRN: r.Original.RRN, Batch: r.Original.Batch, STAN: r.Original.STAN, Time: day(r.Original.Time)}
		} else { // F37 only, and no card organisation
			r.Original = iso.Original{RRN: r.Original.RRN}
			r.CardOrg = ""
		}
		return r
	case iso.BatchUploadRequest:
		if terminalProfile(d) { // F62 carries the invoice, the STAN when none was given
			e := r.Entries[0]
			e.Invoice = invoiceOf(e.Invoice, e.STAN)
			return iso.BatchUploadRequest{Entries: []iso.BatchEntry{e}}
		}
		if d.Name() != "CUP" || r.Entries[0].Kind == iso.KindRefund {
			return r
		}
		// A packed record carries the class flag (00 / 01), not the
		// organisation.
		es := make([]iso.BatchEntry, len(r.Entries))
		for i, e := range r.Entries {
			e.CardOrg = iso.CardOrgCUP
			if r.Entries[i].Foreign() {
				e.CardOrg = iso.CardOrgForeign
			}
			es[i] = e
		}
		return iso.BatchUploadRequest{Entries: es}
	}
	return r
}

func writeFixture(t *testing.T, d iso.Dialect, base string, frame []byte) {
	t.Helper()
	js := fieldsJSON(t, decode(t, d, frame, nil))
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".hex", []byte(strings.ToUpper(hex.EncodeToString(frame))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkFixture compares a spelled frame with base.hex, decodes base.hex and
// compares its fields with base.json, and returns the decoded message.
func checkFixture(t *testing.T, d iso.Dialect, base string, frame []byte) *iso.Message {
	t.Helper()
	hexText, err := os.ReadFile(base + ".hex")
	if err != nil {
		t.Fatalf("missing fixture (run go test ./iso -update): %v", err)
	}
	recorded, err := hex.DecodeString(strings.TrimSpace(string(hexText)))
	if err != nil {
		t.Fatalf("%s.hex: %v", base, err)
	}
	if !bytes.Equal(frame, recorded) {
		t.Errorf("%s.hex: encoding differs\n got %X\nwant %X", base, frame, recorded)
	}
	fr, err := d.Framing().ParseFrame(recorded)
	if err != nil {
		t.Fatalf("%s.hex: %v", base, err)
	}
	m, err := d.Decode(fr.Body)
	if err != nil {
		t.Fatalf("%s.hex: %v", base, err)
	}
	var want map[string]string
	js, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &want); err != nil {
		t.Fatalf("%s.json: %v", base, err)
	}
	if diff := cmp.Diff(want, m.Fields()); diff != "" {
		t.Errorf("%s: decoded fields differ from the .json (-json +decoded):\n%s", base, diff)
	}
	return m
}

// fieldsJSON writes the fixture JSON in field-number order ("0" the MTI
// first), one field a line, so a diff of a fixture reads like the message.
func fieldsJSON(t *testing.T, m *iso.Message) []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	ids := append([]int{0}, m.IDs()...)
	fields := m.Fields()
	for i, id := range ids {
		k, _ := json.Marshal(strconv.Itoa(id))
		v, err := json.Marshal(fields[strconv.Itoa(id)])
		if err != nil {
			t.Fatal(err)
		}
		sep := ",\n"
		if i == len(ids)-1 {
			sep = "\n"
		}
		fmt.Fprintf(&b, "  %s: %s%s", k, v, sep)
	}
	b.WriteString("}")
	return b.Bytes()
}

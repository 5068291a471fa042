package iso_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/moov-io/iso8583"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	"github.com/posswitch/posswitch/iso/iso87"
)

// Benchmarks of the typed API against moov-io's own reflection path for the
// same sale exchange and the same MessageSpec. Each benchmark has the
// sub-benchmarks <dialect>/typed and <dialect>/moov:
//
//	EncodeSaleRequest   terminal: BuildRequest + Encode (with MAC)   vs  NewMessage + Marshal + Pack
//	DecodeSaleResponse  terminal: Decode + ParseResponse             vs  NewMessage + Unpack + Unmarshal
//	EncodeSaleResponse  host:     BuildResponse + Encode (with MAC)  vs  NewMessage + Marshal + Pack
//	DecodeSaleRequest   host:     Decode + ParseRequest              vs  NewMessage + Unpack + Unmarshal
//
// moov's path does not compute a MAC: its struct is given the MAC value the
// typed path computed, so both produce the same bytes, and the typed encode
// figures carry the extra work of the MAC (a DES chain over the message).
// Neither decode path verifies the MAC (CheckReply is not part of them).
// TestBenchmarkPathsAgree checks that both paths of every benchmark turn the
// same values into the same bytes and back.

// The sale as a moov-io user would declare it for each dialect's spec: one
// struct field per wire field, holding the wire text (numeric fields with
// their zero padding, as the specs define no padder) or, for fields the spec
// declares binary, the raw bytes.

type cupSaleRequest struct {
	MTI            string `iso8583:"0"`
	ProcessingCode string `iso8583:"3"`
	Amount         string `iso8583:"4"`
	STAN           string `iso8583:"11"`
	EntryMode      string `iso8583:"22"`
	ConditionCode  string `iso8583:"25"`
	PINCaptureCode string `iso8583:"26"`
	Track2         string `iso8583:"35"`
	TerminalID     string `iso8583:"41"`
	MerchantID     string `iso8583:"42"`
	Currency       string `iso8583:"49"`
	PINBlock       []byte `iso8583:"52"`
	SecurityInfo   string `iso8583:"53"`
	Private60      string `iso8583:"60"`
	MAC            []byte `iso8583:"64"`
}

type cupSaleResponse struct {
	MTI            string `iso8583:"0"`
	ProcessingCode string `iso8583:"3"`
	Amount         string `iso8583:"4"`
	STAN           string `iso8583:"11"`
	LocalTime      string `iso8583:"12"`
	LocalDate      string `iso8583:"13"`
	ConditionCode  string `iso8583:"25"`
	RRN            string `iso8583:"37"`
	AuthCode       string `iso8583:"38"`
	ResponseCode   string `iso8583:"39"`
	TerminalID     string `iso8583:"41"`
	MerchantID     string `iso8583:"42"`
	Currency       string `iso8583:"49"`
	Private60      string `iso8583:"60"`
	MAC            []byte `iso8583:"64"`
}

// ISO87 in its default hex-text mode: the bitmap and the b fields (52, 64)
// are hex text in the spec, so they are strings here.

type iso87SaleRequest struct {
	MTI              string `iso8583:"0"`
	ProcessingCode   string `iso8583:"3"`
	Amount           string `iso8583:"4"`
	TransmissionTime string `iso8583:"7"`
	STAN             string `iso8583:"11"`
	LocalTime        string `iso8583:"12"`
	LocalDate        string `iso8583:"13"`
	EntryMode        string `iso8583:"22"`
	NII              string `iso8583:"24"`
	ConditionCode    string `iso8583:"25"`
	Track2           string `iso8583:"35"`
	TerminalID       string `iso8583:"41"`
	MerchantID       string `iso8583:"42"`
	Currency         string `iso8583:"49"`
	PINBlock         string `iso8583:"52"`
	Batch            string `iso8583:"60"`
	Invoice          string `iso8583:"62"`
	MAC              string `iso8583:"64"`
}

type iso87SaleResponse struct {
	MTI              string `iso8583:"0"`
	ProcessingCode   string `iso8583:"3"`
	Amount           string `iso8583:"4"`
	TransmissionTime string `iso8583:"7"`
	STAN             string `iso8583:"11"`
	LocalTime        string `iso8583:"12"`
	LocalDate        string `iso8583:"13"`
	NII              string `iso8583:"24"`
	ConditionCode    string `iso8583:"25"`
	RRN              string `iso8583:"37"`
	AuthCode         string `iso8583:"38"`
	ResponseCode     string `iso8583:"39"`
	TerminalID       string `iso8583:"41"`
	MerchantID       string `iso8583:"42"`
	Currency         string `iso8583:"49"`
	Batch            string `iso8583:"60"`
	Invoice          string `iso8583:"62"`
	MAC              string `iso8583:"64"`
}

// saleCase is one dialect's sale exchange, spelled once outside the timed
// loops: the typed values, the messages and bodies the typed path produced,
// and the moov structs filled with the same wire values.
type saleCase struct {
	name string // d.Name(): the sub-benchmark prefix
	d    iso.Dialect
	spec *iso8583.MessageSpec // the dialect's own spec
	mac  iso.MAC

	env  iso.Envelope
	req  iso.SaleRequest
	resp iso.FinancialResponse

	reqMsg    *iso.Message // as the terminal sent it (MAC filled in)
	hostReq   *iso.Message // reqBody decoded, as the host reads it
	reqBody   []byte
	replyBody []byte

	moovReq, moovResp       any        // pointers to the filled structs
	newMoovReq, newMoovResp func() any // pointers to empty ones

	typedReqFields, typedReplyFields map[string]string // what the typed path sent
}

func saleCases(tb testing.TB) []*saleCase {
	tb.Helper()
	cupD, err := cup.New(iso.WithClock(fixedClock))
	if err != nil {
		tb.Fatal(err)
	}
	i87, err := iso87.New(iso.WithClock(fixedClock))
	if err != nil {
		tb.Fatal(err)
	}
	return []*saleCase{
		newSaleCase(tb, cupD, specOf(tb, cupD), cupFixtures(tb),
			func() any { return new(cupSaleRequest) }, func() any { return new(cupSaleResponse) }),
		newSaleCase(tb, i87, specOf(tb, i87), iso87Fixtures(tb),
			func() any { return new(iso87SaleRequest) }, func() any { return new(iso87SaleResponse) }),
	}
}

// specOf is the moov-io spec d packs with.
func specOf(tb testing.TB, d iso.Dialect) *iso8583.MessageSpec {
	spec, ok := iso.SpecOf(d)
	if !ok {
		tb.Fatal("no spec")
	}
	return spec
}

func newSaleCase(tb testing.TB, d iso.Dialect, spec *iso8583.MessageSpec, fixtures []fixture, newReq, newResp func() any) *saleCase {
	tb.Helper()
	var f *fixture
	for i := range fixtures {
		if fixtures[i].name == "sale" {
			f = &fixtures[i]
		}
	}
	if f == nil {
		tb.Fatalf("%s: no sale fixture", d.Name())
	}
	c := &saleCase{name: d.Name(), d: d, spec: spec, env: f.env,
		req: f.req.(iso.SaleRequest), resp: f.resp.(iso.FinancialResponse), newMoovReq: newReq, newMoovResp: newResp}
	var err error
	if c.mac, err = d.NewMAC(macKey(d)); err != nil {
		tb.Fatal(err)
	}
	if c.reqMsg, err = d.BuildRequest(c.env, c.req); err != nil {
		tb.Fatal(err)
	}
	if c.reqBody, err = d.Encode(c.reqMsg, c.mac); err != nil {
		tb.Fatal(err)
	}
	if c.hostReq, err = d.Decode(c.reqBody); err != nil {
		tb.Fatal(err)
	}
	reply, err := d.BuildResponse(c.hostReq, c.resp)
	if err != nil {
		tb.Fatal(err)
	}
	if c.replyBody, err = d.Encode(reply, c.mac); err != nil {
		tb.Fatal(err)
	}
	c.typedReqFields, c.typedReplyFields = c.reqMsg.Fields(), reply.Fields()

	c.moovReq, c.moovResp = newReq(), newResp()
	if err := fillFromMessage(c.moovReq, c.reqMsg); err != nil {
		tb.Fatalf("%s: %v", d.Name(), err)
	}
	if err := fillFromMessage(c.moovResp, reply); err != nil {
		tb.Fatalf("%s: %v", d.Name(), err)
	}
	return c
}

// fillFromMessage sets every iso8583-tagged field of the struct v points to
// from m's wire text (hex-decoded for []byte fields) and fails unless the
// struct's tags are exactly m's fields: the moov path must carry the same
// message, no field more or less.
func fillFromMessage(v any, m *iso.Message) error {
	rv := reflect.ValueOf(v).Elem()
	tagged := map[string]bool{}
	for i := range rv.NumField() {
		tag := rv.Type().Field(i).Tag.Get("iso8583")
		id, err := strconv.Atoi(tag)
		if err != nil {
			return fmt.Errorf("%s.%s: tag %q", rv.Type(), rv.Type().Field(i).Name, tag)
		}
		text, ok := m.MTI, true
		if id != 0 {
			text, ok = m.Get(id)
		}
		if !ok {
			return fmt.Errorf("%s tags F%d, which the typed message does not carry", rv.Type(), id)
		}
		switch fv := rv.Field(i); fv.Kind() {
		case reflect.String:
			fv.SetString(text)
		case reflect.Slice:
			raw, err := hex.DecodeString(text)
			if err != nil {
				return fmt.Errorf("F%d: %v", id, err)
			}
			fv.SetBytes(raw)
		default:
			return fmt.Errorf("%s.%s: unsupported kind %s", rv.Type(), rv.Type().Field(i).Name, fv.Kind())
		}
		tagged[tag] = true
	}
	for k := range m.Fields() {
		if !tagged[k] {
			return fmt.Errorf("the typed message carries F%s, which %s does not tag", k, rv.Type())
		}
	}
	return nil
}

// wireFields is the inverse of fillFromMessage: the struct's fields in the
// shape of Message.Fields (binary values as uppercase hex), empty ones left
// out as moov leaves them unset.
func wireFields(v any) map[string]string {
	rv := reflect.ValueOf(v).Elem()
	out := map[string]string{}
	for i := range rv.NumField() {
		fv := rv.Field(i)
		if fv.IsZero() {
			continue
		}
		text := fv.String()
		if fv.Kind() == reflect.Slice {
			text = strings.ToUpper(hex.EncodeToString(fv.Bytes()))
		}
		out[rv.Type().Field(i).Tag.Get("iso8583")] = text
	}
	return out
}

// moovPack is the moov path of an encode benchmark.
func moovPack(spec *iso8583.MessageSpec, v any) ([]byte, error) {
	msg := iso8583.NewMessage(spec)
	if err := msg.Marshal(v); err != nil {
		return nil, err
	}
	return msg.Pack()
}

// moovUnpack is the moov path of a decode benchmark.
func moovUnpack(spec *iso8583.MessageSpec, body []byte, v any) error {
	msg := iso8583.NewMessage(spec)
	if err := msg.Unpack(body); err != nil {
		return err
	}
	return msg.Unmarshal(v)
}

// Sinks keep the benchmarked results alive.
var (
	sinkBytes    []byte
	sinkResponse iso.Response
	sinkRequest  iso.Request
	sinkEnvelope iso.Envelope
	sinkAny      any
)

// TestBenchmarkPathsAgree makes the benchmarks compare like with like: for
// every benchmark, the typed and the moov path turn the same sale into the
// same bytes (encode) and the same bytes into the same field values (decode),
// and the typed path's typed result is the fixture's.
func TestBenchmarkPathsAgree(t *testing.T) {
	for _, c := range saleCases(t) {
		t.Run(c.name, func(t *testing.T) {
			// EncodeSaleRequest
			m, err := c.d.BuildRequest(c.env, c.req)
			if err != nil {
				t.Fatal(err)
			}
			typed, err := c.d.Encode(m, c.mac)
			if err != nil {
				t.Fatal(err)
			}
			moov, err := moovPack(c.spec, c.moovReq)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(typed, moov) {
				t.Errorf("request encode differs\ntyped %X\n moov %X", typed, moov)
			}

			// EncodeSaleResponse
			reply, err := c.d.BuildResponse(c.hostReq, c.resp)
			if err != nil {
				t.Fatal(err)
			}
			typed, err = c.d.Encode(reply, c.mac)
			if err != nil {
				t.Fatal(err)
			}
			moov, err = moovPack(c.spec, c.moovResp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(typed, moov) {
				t.Errorf("response encode differs\ntyped %X\n moov %X", typed, moov)
			}

			// DecodeSaleResponse
			got, err := c.d.Decode(c.replyBody)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.d.ParseResponse(c.reqMsg, got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(iso.Response(c.resp), resp, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("typed response (-fixture +decoded):\n%s", diff)
			}
			moovResp := c.newMoovResp()
			if err := moovUnpack(c.spec, c.replyBody, moovResp); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got.Fields(), wireFields(moovResp)); diff != "" {
				t.Errorf("response decode: field values differ (-typed +moov):\n%s", diff)
			}
			if diff := cmp.Diff(c.typedReplyFields, wireFields(moovResp)); diff != "" {
				t.Errorf("response decode: moov does not read back what was sent (-sent +moov):\n%s", diff)
			}

			// DecodeSaleRequest
			got, err = c.d.Decode(c.reqBody)
			if err != nil {
				t.Fatal(err)
			}
			env, req, err := c.d.ParseRequest(got)
			if err != nil {
				t.Fatal(err)
			}
			if env.STAN != c.env.STAN || env.Terminal != c.env.Terminal || env.Merchant != c.env.Merchant {
				t.Errorf("envelope = %+v, want STAN/TID/MID of %+v", env, c.env)
			}
			if diff := cmp.Diff(iso.Request(c.req), req, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("typed request (-sent +decoded):\n%s", diff)
			}
			moovReq := c.newMoovReq()
			if err := moovUnpack(c.spec, c.reqBody, moovReq); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got.Fields(), wireFields(moovReq)); diff != "" {
				t.Errorf("request decode: field values differ (-typed +moov):\n%s", diff)
			}
			if diff := cmp.Diff(c.typedReqFields, wireFields(moovReq)); diff != "" {
				t.Errorf("request decode: moov does not read back what was sent (-sent +moov):\n%s", diff)
			}
		})
	}
}

// benchPair runs one operation through both paths as sub-benchmarks
// "<dialect>/typed" and "<dialect>/moov", so benchstat can set them side by
// side.
func benchPair(b *testing.B, name string, typed, moov func() error) {
	for _, p := range []struct {
		path string
		op   func() error
	}{{"typed", typed}, {"moov", moov}} {
		b.Run(name+"/"+p.path, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := p.op(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// moovEncode is moov's reflection path for encoding: Marshal a struct, Pack.
func moovEncode(spec *iso8583.MessageSpec, v any) func() error {
	return func() (err error) {
		msg := iso8583.NewMessage(spec)
		if err := msg.Marshal(v); err != nil {
			return err
		}
		sinkBytes, err = msg.Pack()
		return err
	}
}

// moovDecode is moov's reflection path for decoding: Unpack, Unmarshal.
func moovDecode(spec *iso8583.MessageSpec, body []byte, newStruct func() any) func() error {
	return func() error {
		s := newStruct()
		msg := iso8583.NewMessage(spec)
		if err := msg.Unpack(body); err != nil {
			return err
		}
		sinkAny = s
		return msg.Unmarshal(s)
	}
}

// BenchmarkEncodeSaleRequest is the terminal sending a sale.
func BenchmarkEncodeSaleRequest(b *testing.B) {
	for _, c := range saleCases(b) {
		benchPair(b, c.name, func() error {
			m, err := c.d.BuildRequest(c.env, c.req)
			if err == nil {
				sinkBytes, err = c.d.Encode(m, c.mac)
			}
			return err
		}, moovEncode(c.spec, c.moovReq))
	}
}

// BenchmarkDecodeSaleResponse is the terminal reading the host's reply.
func BenchmarkDecodeSaleResponse(b *testing.B) {
	for _, c := range saleCases(b) {
		benchPair(b, c.name, func() error {
			reply, err := c.d.Decode(c.replyBody)
			if err == nil {
				sinkResponse, err = c.d.ParseResponse(c.reqMsg, reply)
			}
			return err
		}, moovDecode(c.spec, c.replyBody, c.newMoovResp))
	}
}

// BenchmarkEncodeSaleResponse is the host answering a sale.
func BenchmarkEncodeSaleResponse(b *testing.B) {
	for _, c := range saleCases(b) {
		benchPair(b, c.name, func() error {
			reply, err := c.d.BuildResponse(c.hostReq, c.resp)
			if err == nil {
				sinkBytes, err = c.d.Encode(reply, c.mac)
			}
			return err
		}, moovEncode(c.spec, c.moovResp))
	}
}

// BenchmarkDecodeSaleRequest is the host reading a sale.
func BenchmarkDecodeSaleRequest(b *testing.B) {
	for _, c := range saleCases(b) {
		benchPair(b, c.name, func() error {
			m, err := c.d.Decode(c.reqBody)
			if err == nil {
				sinkEnvelope, sinkRequest, err = c.d.ParseRequest(m)
			}
			return err
		}, moovDecode(c.spec, c.reqBody, c.newMoovReq))
	}
}

package iso

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
)

// codec packs a Message into bytes with a moov-io MessageSpec and back.
//
// It drives moov's field packers one field at a time instead of going through
// iso8583.Message, for two reasons: decoding must notice trailing bytes
// (iso8583.Message ignores them), and the typed path must not pay for a map
// and a mutex per message when the wire model already holds the values.
type codec struct {
	spec      *iso8583.MessageSpec
	bitmap    encoding.Encoder // how the bitmap is spelled (binary or hex text)
	bitmapSz  int              // bytes of one bitmap before encoding: 8
	secondary bool             // fields 65–128 exist (secondary bitmap allowed)
	binary    [129]bool        // field holds raw bytes: wire text is their hex
	redact    func(id int, value string) string
}

func newCodec(spec *iso8583.MessageSpec, secondary bool, redact func(int, string) string) *codec {
	c := &codec{spec: spec, secondary: secondary, bitmapSz: 8, redact: redact}
	c.bitmap = spec.Fields[1].Spec().Enc
	for id, f := range spec.Fields {
		if _, ok := f.(*field.Binary); ok && id >= 2 {
			c.binary[id] = true
		}
	}
	return c
}

// encode packs m. Values are the wire text the builders produced; a value the
// spec refuses (wrong length, bad digit) is a builder bug or bad input that
// slipped past validation, reported with the field number and no content.
func (c *codec) encode(m *Message) ([]byte, error) {
	out := make([]byte, 0, 256)
	mti, err := c.packField(0, m.MTI)
	if err != nil {
		return nil, err
	}
	m.redact = c.redact
	out = append(out, mti...)

	bits := make([]byte, 2*c.bitmapSz)
	n := c.bitmapSz
	for _, f := range m.fields {
		if _, ok := c.spec.Fields[f.id]; !ok || f.id == 65 || (f.id > 64 && !c.secondary) {
			return nil, InvalidField(fmt.Sprintf("F%d", f.id), "not defined in this dialect")
		}
		if f.id > 64 {
			n = 2 * c.bitmapSz
		}
		bits[(f.id-1)/8] |= 0x80 >> ((f.id - 1) % 8)
	}
	if n > c.bitmapSz {
		bits[0] |= 0x80 // a secondary bitmap follows
	}
	enc, err := c.bitmap.Encode(bits[:n])
	if err != nil {
		return nil, Malformed(1, "cannot encode bitmap")
	}
	out = append(out, enc...)

	for _, f := range m.fields {
		p, err := c.packField(f.id, f.value)
		if err != nil {
			return nil, err
		}
		out = append(out, p...)
	}
	return out, nil
}

func (c *codec) packField(id int, value string) ([]byte, error) {
	f := field.NewInstanceOf(c.spec.Fields[id])
	// Set the value directly: SetBytes would copy it through a []byte and
	// back, two allocations per field.
	switch f := f.(type) {
	case *field.String:
		f.SetValue(value)
	case *field.Binary:
		raw, err := hex.DecodeString(value)
		if err != nil {
			return nil, InvalidField(fmt.Sprintf("F%d", id), "binary field is not hex text")
		}
		f.SetValue(raw)
	default:
		if err := f.SetBytes([]byte(value)); err != nil {
			return nil, InvalidField(fmt.Sprintf("F%d", id), "refused by the field spec")
		}
	}
	p, err := f.Pack()
	if err != nil {
		return nil, InvalidField(fmt.Sprintf("F%d", id), "does not fit %s", describe(f.Spec()))
	}
	return p, nil
}

func describe(s *field.Spec) string {
	return fmt.Sprintf("%s (max %d)", s.Description, s.Length)
}

// decode unpacks body into a Message. Every failure is a *MalformedError
// naming the field; no byte of the input is echoed in it.
func (c *codec) decode(body []byte) (m *Message, err error) {
	defer func() {
		// moov's encoders are not ours to audit; a panic on hostile bytes
		// must still come back as a malformed message, not crash a host.
		if r := recover(); r != nil {
			m, err = nil, Malformed(-1, "decoder panic on malformed input")
		}
	}()
	mtiField := field.NewInstanceOf(c.spec.Fields[0])
	off, err := mtiField.Unpack(body)
	if err != nil {
		return nil, Malformed(0, "cannot read MTI")
	}
	mti, _ := mtiField.String()
	if len(mti) != 4 || !IsDigits(mti) {
		return nil, Malformed(0, "MTI is not four digits")
	}

	bm := field.NewInstanceOf(c.spec.Fields[1]).(*field.Bitmap)
	read, err := bm.Unpack(body[off:])
	if err != nil {
		return nil, Malformed(1, "cannot read bitmap")
	}
	off += read
	last := bm.Len()
	if last > 128 || (!c.secondary && last > 64) {
		return nil, Malformed(1, "bitmap announces a third or unexpected secondary bitmap")
	}

	m = &Message{MTI: mti}
	for id := 2; id <= last; id++ {
		if !bm.IsSet(id) || bm.IsBitmapPresenceBit(id) {
			continue
		}
		spec, ok := c.spec.Fields[id]
		if !ok {
			return nil, Malformed(id, "field not defined in this dialect")
		}
		f := field.NewInstanceOf(spec)
		read, err := f.Unpack(body[off:])
		if err != nil {
			var pad *padError
			if errors.As(err, &pad) {
				return nil, Malformed(id, "%s", pad.Error())
			}
			return nil, Malformed(id, "cannot read %s", describe(f.Spec()))
		}
		off += read
		text, err := f.String() // Binary fields answer uppercase hex
		if err != nil {
			return nil, Malformed(id, "cannot read value")
		}
		m.fields = append(m.fields, fieldValue{id, text})
	}
	if off != len(body) {
		return nil, Malformed(-1, "%d bytes after the last field", len(body)-off)
	}
	m.raw = body
	m.redact = c.redact
	m.binaryMAC = c.binary[64] || c.binary[128]
	return m, nil
}

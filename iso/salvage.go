package iso

import "github.com/moov-io/iso8583/field"

// salvage is decode that stops at the first field it cannot read and keeps
// what came before it (see Salvage). Nothing is validated beyond what each
// field's own decoder checks; the result is for echoing a request's
// identifying fields in a format-error reply, not for acting on.
func (c *codec) salvage(body []byte) (m *Message) {
	defer func() {
		if r := recover(); r != nil {
			m = nil // hostile bytes: nothing is salvaged
		}
	}()
	mtiField := field.NewInstanceOf(c.spec.Fields[0])
	off, err := mtiField.Unpack(body)
	if err != nil {
		return nil
	}
	mti, _ := mtiField.String()
	if len(mti) != 4 || !IsDigits(mti) {
		return nil
	}
	bm := field.NewInstanceOf(c.spec.Fields[1]).(*field.Bitmap)
	read, err := bm.Unpack(body[off:])
	if err != nil {
		return nil
	}
	off += read
	m = &Message{MTI: mti, redact: c.redact}
	last := bm.Len()
	if last > 128 || (!c.secondary && last > 64) {
		return m
	}
	for id := 2; id <= last; id++ {
		if !bm.IsSet(id) || bm.IsBitmapPresenceBit(id) {
			continue
		}
		spec, ok := c.spec.Fields[id]
		if !ok {
			return m
		}
		f := field.NewInstanceOf(spec)
		read, err := f.Unpack(body[off:])
		if err != nil {
			return m
		}
		off += read
		text, err := f.String()
		if err != nil {
			return m
		}
		m.fields = append(m.fields, fieldValue{id, text})
	}
	return m
}

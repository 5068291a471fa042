package iso

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// Message is one ISO 8583 message in wire text: the MTI and each field's
// value as it stands on the wire, numeric fields with their zero padding and
// binary fields as uppercase hex. It is the form recorded fixtures use, the
// form reply checks compare, and the form a reversal is copied from. It knows
// nothing about any dialect; a Dialect turns it into bytes and back.
//
// Message prints masked (see Dump), so logging one never leaks card data.
type Message struct {
	MTI    string
	fields []fieldValue // sorted by ID, IDs 2–128
	raw    []byte       // body bytes this message was decoded from or encoded to
	// binaryMAC: the MAC field travels as raw bytes (CUP), not hex text, so
	// it occupies half its wire-text length at the end of raw.
	binaryMAC bool
	// redact masks a field's value for display. The dialect that encoded or
	// decoded the message sets its own (it knows where its PANs are); until
	// then the conservative default applies.
	redact func(id int, value string) string
}

type fieldValue struct {
	id    int
	value string
}

// NewMessage returns an empty message of the given MTI.
func NewMessage(mti string) *Message { return &Message{MTI: mti} }

// Get returns field id's wire text and whether it is present.
func (m *Message) Get(id int) (string, bool) {
	i, ok := m.find(id)
	if !ok {
		return "", false
	}
	return m.fields[i].value, true
}

// Value returns field id's wire text, or "" when absent.
func (m *Message) Value(id int) string {
	v, _ := m.Get(id)
	return v
}

// Has reports whether field id is present.
func (m *Message) Has(id int) bool { _, ok := m.find(id); return ok }

// Set stores field id's wire text, replacing any earlier value.
func (m *Message) Set(id int, value string) {
	if id < 2 || id > 128 {
		panic(fmt.Sprintf("iso: field %d is not a data field", id)) // programming error in a builder
	}
	i, ok := m.find(id)
	if ok {
		m.fields[i].value = value
		return
	}
	if m.fields == nil {
		m.fields = make([]fieldValue, 0, 24) // a POS message rarely has more
	}
	m.fields = append(m.fields, fieldValue{})
	copy(m.fields[i+1:], m.fields[i:])
	m.fields[i] = fieldValue{id, value}
	m.raw = nil
}

// Unset removes field id if present.
func (m *Message) Unset(id int) {
	if i, ok := m.find(id); ok {
		m.fields = append(m.fields[:i], m.fields[i+1:]...)
		m.raw = nil
	}
}

// IDs returns the present field numbers in ascending order.
func (m *Message) IDs() []int {
	ids := make([]int, len(m.fields))
	for i, f := range m.fields {
		ids[i] = f.id
	}
	return ids
}

// Clone returns a deep copy.
func (m *Message) Clone() *Message {
	c := &Message{MTI: m.MTI, fields: make([]fieldValue, len(m.fields)), redact: m.redact}
	copy(c.fields, m.fields)
	return c
}

// Raw returns the body bytes this message was last decoded from or encoded
// to, or nil after a change. MAC verification needs the exact bytes.
func (m *Message) Raw() []byte { return m.raw }

// Fields returns every field as a map from field number to wire text, with
// "0" for the MTI: the shape of a recorded fixture's JSON.
func (m *Message) Fields() map[string]string {
	out := make(map[string]string, len(m.fields)+1)
	out["0"] = m.MTI
	for _, f := range m.fields {
		out[fmt.Sprint(f.id)] = f.value
	}
	return out
}

// MessageFromFields is the inverse of Fields.
func MessageFromFields(fields map[string]string) (*Message, error) {
	m := &Message{MTI: fields["0"]}
	ids := make([]int, 0, len(fields))
	for k := range fields {
		var id int
		if _, err := fmt.Sscan(k, &id); err != nil || fmt.Sprint(id) != k || id == 1 || id > 128 || id < 0 {
			return nil, InvalidField("fields", "key %q is not a field number", k)
		}
		if id >= 2 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		m.fields = append(m.fields, fieldValue{id, fields[fmt.Sprint(id)]})
	}
	return m, nil
}

func (m *Message) find(id int) (int, bool) {
	i := sort.Search(len(m.fields), func(i int) bool { return m.fields[i].id >= id })
	return i, i < len(m.fields) && m.fields[i].id == id
}

// Dump renders the message field by field with sensitive values masked:
// PANs and payment codes keep first 6 / last 4, expiry, tracks, PIN data and
// key material are starred out entirely.
func (m *Message) Dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MTI %s\n", m.MTI)
	for _, f := range m.fields {
		fmt.Fprintf(&b, "  F%-3d %s\n", f.id, m.show(f.id, f.value))
	}
	return b.String()
}

// String is the one-line masked form.
func (m *Message) String() string {
	var b strings.Builder
	b.WriteString(m.MTI)
	for _, f := range m.fields {
		fmt.Fprintf(&b, " %d=%s", f.id, m.show(f.id, f.value))
	}
	return b.String()
}

// Format makes every fmt verb print the masked one-line form.
func (m *Message) Format(f fmt.State, verb rune) {
	formatMasked(f, verb, m.String(), "iso.Message("+m.String()+")")
}

// LogValue logs the message as a group of masked fields.
func (m *Message) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(m.fields)+1)
	attrs = append(attrs, slog.String("mti", m.MTI))
	for _, f := range m.fields {
		attrs = append(attrs, slog.String(fmt.Sprintf("f%d", f.id), m.show(f.id, f.value)))
	}
	return slog.GroupValue(attrs...)
}

func (m *Message) show(id int, v string) string {
	if m.redact != nil {
		return m.redact(id, v)
	}
	return RedactDefault(id, v)
}

// Fields whose content is cardholder or secret data, and how to show them.
// The table is conservative and the same for every dialect: a field that is
// secret in one dialect's use (F62 keys in a CUP 0810, F125 keys in an ISO87
// 0810) is starred out in all of them.
var redactions = map[int]func(string) string{
	2:   func(v string) string { return maskMiddle(v, 6, 4) }, // PAN
	14:  starAll,                                              // expiry
	35:  starAll,                                              // track 2
	36:  starAll,                                              // track 3
	45:  starAll,                                              // track 1
	52:  starAll,                                              // PIN block
	55:  starAll,                                              // ICC data may carry track-2 equivalent
	48:  redactTLVCodes,                                       // ISO87 payment code; CUP upload records
	59:  redactTLVCodes,                                       // CUP payment code
	62:  starAll,                                              // CUP working keys / terminal info
	125: starAll,                                              // ISO87 working keys
}

// RedactDefault spells field id's value v for logs and String() with the
// conservative table (PANs masked; tracks, PIN block, keys and MAC hidden;
// payment codes masked): for messages no dialect has
// encoded or decoded yet.
func RedactDefault(id int, v string) string {
	if f, ok := redactions[id]; ok {
		return f(v)
	}
	return v
}

func starAll(v string) string { return fmt.Sprintf("**** (%d)", len(v)) }

// redactTLVCodes masks the payment-code tag of a private TLV field and leaves
// other tags readable; text that is not our TLV is starred out.
func redactTLVCodes(v string) string {
	tags, err := ParseTLV(v)
	if err != nil {
		return starAll(v)
	}
	for i := range tags {
		if tags[i].Tag == TagPaymentCode {
			tags[i].Value = maskMiddle(tags[i].Value, 6, 4)
		}
	}
	return FormatTLV(tags)
}

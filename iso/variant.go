package iso

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Variant is one acquirer's own spelling of a shipped dialect, as data: a
// host that speaks CUP or ISO87 but formats one field its own way, wants a
// field on every request, answers refusals with its own codes or spells
// the QR order differently. Pass it to the dialect's constructor with
// WithVariant; the result is a Dialect like any other, and a simulator
// built with the same options (switchtest.NewHost) answers as that host.
//
// The zero Variant changes nothing. Validation happens when the dialect is
// built: a field the spec does not define, a rule on the MTI or bitmap, a
// code that is not two characters is a *FieldError from the constructor.
type Variant struct {
	// Name names the variant in the message spec (SpecOf(d).Name becomes
	// "<dialect spec> / <Name>"). Dialect.Name stays the dialect's.
	Name string

	// Fields replaces or adds field formats in the dialect's message spec,
	// by field number (2–128, not 65), with moov-io field specs: e.g. an
	// F63 with an ASCII LLL length instead of CUP's BCD one. The dialect's
	// builders keep writing the same text; the spec decides its bytes.
	Fields map[int]field.Field

	// Rules add fields to, or remove them from, the requests the dialect
	// builds, after the dialect has spelled them and before they are
	// signed: the MAC covers them.
	Rules []FieldRule

	// Codes replaces the response code a host answers a refusal with
	// (HostRules.RefusalCode), e.g. RefuseMAC: "A0".
	Codes map[Refusal]ResponseCode

	// QR, when set, replaces the dialect's QR order mapping (as
	// WithQROrderMapping).
	QR *QROrderMapping
}

// FieldRule is one field a variant adds to, or removes from, requests.
//
// With Value set, every request of the rule's kinds carries Field with the
// text Value returns (the text the spec packs: digits for n, hex for b),
// replacing what the dialect wrote there, and a host built with the same
// variant refuses such a request without it (HostRules.MandatoryFields).
// With Value nil, the field is removed from those requests.
//
// A reversal is built from the original message, not from an Envelope: it
// carries the rule's field exactly as the original carried it, so the host
// can match the two (and a removing rule on KindReversal removes it). A
// repeat is a copy of its original and so already follows the rules.
type FieldRule struct {
	Field int
	// Kinds are the request kinds the rule applies to; empty: every
	// request the dialect builds (reversals included).
	Kinds []Kind
	// Value spells the field for one request. An error refuses the
	// request before anything is built or sent; a *FieldError is returned
	// as is, any other error is wrapped in one naming the field.
	Value func(env Envelope, r Request) (string, error)
}

func (r FieldRule) applies(k Kind) bool { return len(r.Kinds) == 0 || slices.Contains(r.Kinds, k) }

// WithVariant applies v to the dialect being built (see Variant). It may
// be combined with the dialect's other options; field formats apply after
// all of them (so also after WithBinaryBitmap).
func WithVariant(v Variant) Option {
	return func(b *Base) error {
		for id := range v.Fields {
			if id < 2 || id > 128 || id == 65 {
				return InvalidField("Variant.Fields", "field %d cannot be replaced: only data fields 2–128 but 65", id)
			}
			if v.Fields[id] == nil {
				return InvalidField("Variant.Fields", "field %d has no spec", id)
			}
		}
		for i, r := range v.Rules {
			if r.Field < 2 || r.Field > 128 || r.Field == 65 || r.Field == 64 || r.Field == 128 {
				return InvalidField(fmt.Sprintf("Variant.Rules[%d].Field", i), "field %d is not a data field a rule may set (MAC fields are the dialect's)", r.Field)
			}
		}
		for why, c := range v.Codes {
			if len(c) != 2 || !printable(string(c)) {
				return InvalidField("Variant.Codes", "the code for %s must be two characters", why)
			}
		}
		if v.QR != nil {
			if err := WithQROrderMapping(*v.QR)(b); err != nil {
				return err
			}
		}
		b.variant = v
		return nil
	}
}

// finishVariant applies the variant's field formats to the codec once
// every option has run, and checks its rules name fields the spec has.
func (b *Base) finishVariant() error {
	v := b.variant
	if len(v.Fields) > 0 || v.Name != "" {
		spec := &iso8583.MessageSpec{Name: b.codec.spec.Name, Fields: maps.Clone(b.codec.spec.Fields)}
		if v.Name != "" {
			spec.Name += " / " + v.Name
		}
		for id, f := range v.Fields {
			spec.Fields[id] = f
		}
		b.codec = newCodec(spec, b.codec.secondary, b.codec.redact)
	}
	for i, r := range v.Rules {
		if _, ok := b.codec.spec.Fields[r.Field]; !ok || (r.Field > 64 && !b.codec.secondary) {
			return InvalidField(fmt.Sprintf("Variant.Rules[%d].Field", i), "field %d is not in this dialect's spec (add it in Variant.Fields)", r.Field)
		}
	}
	return nil
}

// ApplyRules runs the variant's rules on a request the dialect built.
func (b *Base) ApplyRules(env Envelope, r Request, m *Message) (*Message, error) {
	for _, rule := range b.variant.Rules {
		if !rule.applies(r.Kind()) {
			continue
		}
		if rule.Value == nil {
			m.Unset(rule.Field)
			continue
		}
		v, err := rule.Value(env, r)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return nil, err
			}
			return nil, InvalidField(fmt.Sprintf("F%d", rule.Field), "%v", err)
		}
		m.Set(rule.Field, v)
	}
	return m, nil
}

// CarryRules gives a reversal or repeat of orig the rule fields orig
// carried (and removes the fields rules remove from kind).
func (b *Base) CarryRules(orig, m *Message, kind Kind) {
	for _, rule := range b.variant.Rules {
		if rule.Value == nil {
			if rule.applies(kind) {
				m.Unset(rule.Field)
			}
			continue
		}
		if v, ok := orig.Get(rule.Field); ok {
			m.Set(rule.Field, v)
		}
	}
}

// VariantMandatory adds the fields the variant's rules put on requests of
// kind k to a dialect's mandatory fields, and drops those they remove.
func (b *Base) VariantMandatory(k Kind, fields []int) []int {
	if len(b.variant.Rules) == 0 {
		return fields
	}
	out := slices.Clone(fields)
	for _, rule := range b.variant.Rules {
		if !rule.applies(k) {
			continue
		}
		if rule.Value == nil {
			out = slices.DeleteFunc(out, func(id int) bool { return id == rule.Field })
		} else if !slices.Contains(out, rule.Field) {
			out = append(out, rule.Field)
		}
	}
	slices.Sort(out)
	return out
}

// VariantCode is the variant's code for a refusal, if it has one.
func (b *Base) VariantCode(why Refusal) (ResponseCode, bool) {
	c, ok := b.variant.Codes[why]
	return c, ok
}

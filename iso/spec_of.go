package iso

import "github.com/moov-io/iso8583"

// SpecOf returns the moov-io MessageSpec a shipped dialect packs with, for
// tools built on moov-io (iso8583-connection's own reader, describe,
// field-level inspection). ok is false for a dialect that does not
// embed a Base (or otherwise have a Spec method). The spec is shared: do not modify it.
func SpecOf(d Dialect) (spec *iso8583.MessageSpec, ok bool) {
	if s, ok := d.(interface{ Spec() *iso8583.MessageSpec }); ok {
		return s.Spec(), true
	}
	return nil, false
}

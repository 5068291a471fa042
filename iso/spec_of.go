package iso

import "github.com/moov-io/iso8583"

// SpecOf returns the moov-io MessageSpec a shipped dialect packs with, for
// tools built on moov-io (iso8583-connection's own reader, describe,
// field-level inspection). ok is false for dialects posswitch did not
// ship. The spec is shared: do not modify it.
func SpecOf(d Dialect) (spec *iso8583.MessageSpec, ok bool) {
	switch d := d.(type) {
	case *cupDialect:
		return d.codec.spec, true
	case *iso87Dialect:
		return d.codec.spec, true
	}
	return nil, false
}

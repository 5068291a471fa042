package isoswitch

import (
	"sync/atomic"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// Terminals says which terminals a host knows (its terminal and merchant
// registration). A Server with Terminals refuses every other terminal with
// the dialect's unknown-terminal code (CUP 97, ISO87 03).
type Terminals interface {
	Known(terminal iso.TerminalID) bool
}

// TerminalSet is a fixed Terminals.
type TerminalSet map[iso.TerminalID]bool

// Known reports whether tid is in the set.
func (s TerminalSet) Known(tid iso.TerminalID) bool { return s[tid] }

// ServerStats counts what a Server refused on its own, before any Handler
// saw it.
type ServerStats struct {
	// Dropped: frames whose body did not decode and whose MTI, F11 or F41
	// could not be read either; the connection was closed.
	Dropped uint64
	// FormatErrors: requests answered 30 (undecodable, unknown to the
	// dialect, or missing a mandatory field).
	FormatErrors    uint64
	UnknownTerminal uint64 // answered CUP 97 / ISO87 03
	NotSignedOn     uint64 // answered CUP A0 / ISO87 63: no working key at the host
	BadMAC          uint64 // answered CUP A0 / ISO87 63: MAC missing or not verifying
}

type serverCounters struct {
	dropped, formatErrors, unknownTerminal, notSignedOn, badMAC atomic.Uint64
}

// Stats returns the counts so far.
func (s *Server) Stats() ServerStats {
	c := &s.stats
	return ServerStats{Dropped: c.dropped.Load(), FormatErrors: c.formatErrors.Load(),
		UnknownTerminal: c.unknownTerminal.Load(), NotSignedOn: c.notSignedOn.Load(), BadMAC: c.badMAC.Load()}
}

// refusal decides whether a parsed request is refused, in the order a host
// checks: the format, then who sent it, then its keys and MAC. 0: served.
func (s *Server) refusal(c *Call, haveKey bool) iso.Refusal {
	rules, ok := s.Dialect.(iso.HostRules)
	if !ok || s.Permissive {
		return 0
	}
	for _, id := range rules.MandatoryFields(c.Request) {
		if !c.Message.Has(id) {
			return iso.RefuseFormat
		}
	}
	if s.Terminals != nil && !s.Terminals.Known(c.Envelope.Terminal) {
		return iso.RefuseUnknownTerminal
	}
	if s.Keys == nil {
		return 0 // nothing to check keys and MACs against
	}
	kind := c.Request.Kind()
	switch {
	case rules.SignOnRequired(kind) && !haveKey:
		return iso.RefuseNotSignedOn
	case rules.MACRequired(kind) && !c.HasMAC:
		return iso.RefuseMAC
	case c.HasMAC && !c.MACValid:
		return iso.RefuseMAC
	}
	return 0
}

// refuse answers a refused request with the dialect's code for why, spelt
// as a decline of its kind (so it echoes what a reply to it echoes), or as
// a bare reply when the request is too incomplete for that.
func (s *Server) refuse(c *Call, why iso.Refusal) ([]byte, error) {
	switch why {
	case iso.RefuseFormat:
		s.stats.formatErrors.Add(1)
	case iso.RefuseUnknownTerminal:
		s.stats.unknownTerminal.Add(1)
	case iso.RefuseNotSignedOn:
		s.stats.notSignedOn.Add(1)
	case iso.RefuseMAC:
		s.stats.badMAC.Add(1)
	}
	code := s.Dialect.(iso.HostRules).RefusalCode(why)
	s.logger().Info("request refused", "kind", c.Request.Kind().String(), "terminal", string(c.Envelope.Terminal),
		"stan", c.Envelope.STAN.String(), "why", why.String(), "code", string(code))
	if reply, err := s.Dialect.BuildResponse(c.Message, Decline(c.Request, code)); err == nil {
		if body, err := s.Dialect.Encode(reply, nil); err == nil {
			return body, nil
		}
	}
	return s.codeReply(c.Message, code)
}

// undecodable answers a body that did not decode: 30 with the request's
// identifying fields echoed when its MTI, F11 and F41 can be read (and the
// reply encodes), nil when the connection should be dropped.
func (s *Server) undecodable(body []byte) []byte {
	m := iso.Salvage(s.Dialect, body)
	if m == nil || !m.Has(11) || !m.Has(41) {
		return nil
	}
	reply, err := s.formatError(m)
	if err != nil {
		return nil
	}
	s.stats.formatErrors.Add(1)
	return reply
}

// Decline is the typed reply of r's kind carrying code: what a Handler (or
// the Server refusing a request) answers when it does not act on r.
func Decline(r iso.Request, code iso.ResponseCode) iso.Response {
	rep := iso.Reply{Code: code, HostTime: time.Now()}
	switch r.Kind() {
	case iso.KindSignOn:
		return iso.SignOnResponse{Reply: rep}
	case iso.KindReversal:
		return iso.ReversalResponse{Reply: rep}
	case iso.KindSettlement:
		return iso.SettlementResponse{Reply: rep, Verdict: iso.VerdictError, Domestic: iso.VerdictError, Foreign: iso.VerdictError}
	case iso.KindBatchUpload, iso.KindBatchUploadEnd:
		return iso.BatchUploadResponse{Reply: rep, End: r.Kind() == iso.KindBatchUploadEnd}
	case iso.KindSignOff, iso.KindEcho:
		return iso.NetworkResponse{Reply: rep, Of: r.Kind()}
	case iso.KindQROrderCreate, iso.KindQROrderQuery, iso.KindQROrderClose:
		return iso.QROrderResponse{Reply: rep, Of: r.Kind()}
	}
	return iso.FinancialResponse{Reply: rep, Of: r.Kind()}
}

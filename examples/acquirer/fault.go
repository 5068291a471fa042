package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// faultActions names switchtest's fault actions on the command line, in the
// words an operator of the simulator would use.
var faultActions = map[string]switchtest.FaultAction{
	"delay":        switchtest.Delay,
	"drop":         switchtest.Drop,
	"close-before": switchtest.CloseBefore,
	"close-after":  switchtest.CloseAfter,
	"garble":       switchtest.Garble,
	"twice":        switchtest.Twice,
	"wrong-stan":   switchtest.WrongSTAN,
	"break-mac":    switchtest.BreakMAC,
}

// faultKinds names the message kinds a fault can target; "any" is every
// kind (switchtest's zero Kind).
var faultKinds = map[string]iso.Kind{
	"any":              0,
	"sale":             iso.KindSale,
	"payment-code":     iso.KindPaymentCodeSale,
	"balance":          iso.KindBalanceInquiry,
	"void":             iso.KindVoid,
	"refund":           iso.KindRefund,
	"reversal":         iso.KindReversal,
	"settlement":       iso.KindSettlement,
	"batch-upload":     iso.KindBatchUpload,
	"batch-upload-end": iso.KindBatchUploadEnd,
	"sign-on":          iso.KindSignOn,
	"sign-off":         iso.KindSignOff,
	"echo":             iso.KindEcho,
	"qr-create":        iso.KindQROrderCreate,
	"qr-query":         iso.KindQROrderQuery,
	"qr-close":         iso.KindQROrderClose,
}

// parseFault reads one -fault value, action[=param]:kind[:probability], for
// example "drop:sale", "delay=45s:sale" or "garble:sale:0.2". Only delay
// takes a parameter (how long), and it requires one: a delay of nothing is
// no fault. Probability is in (0, 1]; without it the fault fires every time.
func parseFault(s string) (switchtest.Fault, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return switchtest.Fault{}, fmt.Errorf("want action[=param]:kind[:probability], as in drop:sale")
	}
	name, param, hasParam := strings.Cut(parts[0], "=")
	action, ok := faultActions[name]
	if !ok {
		return switchtest.Fault{}, fmt.Errorf("unknown action %q (want one of %s)", name, names(faultActions))
	}
	kind, ok := faultKinds[parts[1]]
	if !ok {
		return switchtest.Fault{}, fmt.Errorf("unknown kind %q (want one of %s)", parts[1], names(faultKinds))
	}
	f := switchtest.Fault{Action: action, Kind: kind}
	switch {
	case action == switchtest.Delay && !hasParam:
		return f, fmt.Errorf("delay needs a duration, as in delay=45s:sale")
	case action == switchtest.Delay:
		d, err := time.ParseDuration(param)
		if err != nil || d <= 0 {
			return f, fmt.Errorf("delay %q is not a positive duration", param)
		}
		f.Delay = d
	case hasParam:
		return f, fmt.Errorf("%s takes no parameter", name)
	}
	if len(parts) == 3 {
		p, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || !(p > 0 && p <= 1) {
			return f, fmt.Errorf("probability %q is not a number in (0, 1]", parts[2])
		}
		f.Probability = p
	}
	return f, nil
}

// describeFault spells a fault back for the start-up banner.
func describeFault(f switchtest.Fault) string {
	action := nameOf(faultActions, f.Action)
	if f.Action == switchtest.Delay {
		action += " " + f.Delay.String()
	}
	kind := nameOf(faultKinds, f.Kind)
	if f.Probability > 0 && f.Probability < 1 {
		return fmt.Sprintf("%s on %s, probability %g", action, kind, f.Probability)
	}
	return fmt.Sprintf("%s on every %s", action, kind)
}

func names[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}

func nameOf[V comparable](m map[string]V, v V) string {
	for k, x := range m {
		if x == v {
			return k
		}
	}
	return "?"
}

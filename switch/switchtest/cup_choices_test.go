package switchtest_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/iso/cup"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// sent records the requests a terminal sends, by kind.
type sent struct {
	d  iso.Dialect
	mu sync.Mutex
	m  map[iso.Kind][]*iso.Message
}

func (s *sent) option() isoswitch.Option {
	return isoswitch.WithTrace(func(dir string, m *iso.Message) {
		if dir != "send" {
			return
		}
		if _, req, err := s.d.ParseRequest(m); err == nil {
			s.mu.Lock()
			s.m[req.Kind()] = append(s.m[req.Kind()], m.Clone())
			s.mu.Unlock()
		}
	})
}

func (s *sent) of(k iso.Kind) []*iso.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*iso.Message(nil), s.m[k]...)
}

// TestCUPVoidReversalF61OverTCP: with WithVoidReversalF61(Void) the
// reversal of a void whose reply was lost carries the void's batch and
// its own trace in F61 (CaoEnXin/LiaoYang_POS Src/trancomm.c
// MakeReversalPack); by default the void's F61, the sale's batch and
// trace. Either way the host reverses the void and the sale can be voided
// again.
func TestCUPVoidReversalF61OverTCP(t *testing.T) {
	for name, c := range map[string]struct {
		opts []iso.Option
		own  bool
	}{
		"default": {nil, false},
		"void":    {[]iso.Option{cup.WithVoidReversalF61(cup.VoidReversalF61Void)}, true},
	} {
		t.Run(name, func(t *testing.T) {
			d, err := cup.New(c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			h := switchtest.NewHost(t, d, switchtest.WithFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindVoid, Times: 1}))
			rec := &sent{d: d, m: map[iso.Kind][]*iso.Message{}}
			term, _ := terminal(t, h, d, "TERM0031", rec.option())
			sale, err := term.Sale(ctx(t), "01", cny(2500), visa)
			if err != nil {
				t.Fatal(err)
			}
			_, err = term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN})
			if !errors.Is(err, isoswitch.ErrOutcomeUnknown) {
				t.Fatalf("void with its reply dropped: %v", err)
			}
			if err := term.Drain(ctx(t)); err != nil {
				t.Fatal(err)
			}
			voids, revs := rec.of(iso.KindVoid), rec.of(iso.KindReversal)
			if len(voids) == 0 || len(revs) == 0 {
				t.Fatalf("%d voids, %d reversals sent", len(voids), len(revs))
			}
			v := voids[0]
			want := sale.Batch.String() + sale.STAN.String() // the void's own F61
			if c.own {
				want = v.Value(60)[2:8] + v.Value(11)
			}
			if got := revs[0].Value(61); got != want || revs[0].Value(11) != v.Value(11) {
				t.Errorf("reversal F61 %q F11 %s, want %q and the void's trace %s", got, revs[0].Value(11), want, v.Value(11))
			}
			if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN}); err != nil {
				t.Errorf("voiding again after the reversal: %v", err)
			}
		})
	}
}

// TestCUPPaymentCodeVoidEntryOverTCP: a payment-code sale's void carries
// no PAN and F22 032, the sale's own entry mode (alon0808/ProjectAfcApp
// code/AfcCore/UnionPay/qpboc_8583.c), not 012, and the host voids it.
func TestCUPPaymentCodeVoidEntryOverTCP(t *testing.T) {
	d, err := cup.New()
	if err != nil {
		t.Fatal(err)
	}
	h := switchtest.NewHost(t, d)
	rec := &sent{d: d, m: map[iso.Kind][]*iso.Message{}}
	term, _ := terminal(t, h, d, "TERM0032", rec.option())
	sale, err := term.PaymentCodeSale(ctx(t), "01", cny(1800), "134567890123456789")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: sale.STAN}); err != nil {
		t.Fatal(err)
	}
	voids := rec.of(iso.KindVoid)
	if len(voids) != 1 {
		t.Fatalf("%d voids sent", len(voids))
	}
	if v := voids[0]; v.Has(2) || v.Has(35) || v.Value(22) != "032" {
		t.Errorf("payment-code void F2 %v F35 %v F22 %q, want no PAN and 032", v.Has(2), v.Has(35), v.Value(22))
	}
}

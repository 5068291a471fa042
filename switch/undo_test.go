package isoswitch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

var (
	cashier    = isoswitch.Credentials{Operator: "01", Password: "4711"}
	supervisor = isoswitch.Credentials{Operator: "00", Password: "s3cret-sup"}
)

func operators(t *testing.T) *isoswitch.Operators {
	ops := isoswitch.NewOperators(isoswitch.WithBcryptCost(bcrypt.MinCost))
	if err := ops.Add("01", isoswitch.RoleCashier, "4711"); err != nil {
		t.Fatal(err)
	}
	if err := ops.Add("00", isoswitch.RoleSupervisor, "s3cret-sup"); err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestVoidNeedsAnAuthorisedOperatorAndHappensOnce: a cashier may not void;
// the supervisor voids once; a second void is refused and says why.
func TestVoidNeedsAnAuthorisedOperatorAndHappensOnce(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
			sale, err := term.Sale(ctx5(t), "01", cny10, visa)
			if err != nil {
				t.Fatal(err)
			}
			_, err = term.Void(ctx5(t), cashier, isoswitch.Original{STAN: sale.STAN})
			var ae *isoswitch.AuthError
			if !errors.Is(err, isoswitch.ErrUnauthorised) || !errors.As(err, &ae) {
				t.Fatalf("cashier void: %v", err)
			}
			_, err = term.Void(ctx5(t), isoswitch.Credentials{Operator: "00", Password: "wrong"}, isoswitch.Original{STAN: sale.STAN})
			if !errors.Is(err, isoswitch.ErrUnauthorised) {
				t.Fatalf("wrong password: %v", err)
			}
			void, err := term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: sale.STAN})
			if err != nil {
				t.Fatal(err)
			}
			if void.Operator != "00" || void.MaskedPAN != sale.MaskedPAN || void.Amount != sale.Amount {
				t.Errorf("void result %+v", void)
			}
			if s, _ := j.Get(sale.RecordID); s.VoidedBy != void.RecordID {
				t.Errorf("sale not marked voided")
			}
			_, err = term.Void(ctx5(t), supervisor, isoswitch.Original{STAN: sale.STAN})
			var na *isoswitch.NotAllowedError
			if !errors.As(err, &na) || !errors.Is(err, isoswitch.ErrNotAllowed) {
				t.Fatalf("second void: %v", err)
			}
			_, err = term.Refund(ctx5(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()}, cny10, visa)
			if !errors.As(err, &na) {
				t.Errorf("refund of an open-batch sale: %v", err)
			}
		})
	}
}

// TestRefundAfterSettlement: a settled sale is refunded, not voided, and
// never for more than is left.
func TestRefundAfterSettlement(t *testing.T) {
	d := dialectsUnderTest(t)["cup"]
	h := startHost(t, d)
	term, j := newTerminal(t, h, isoswitch.WithAuthoriser(operators(t)))
	sale, err := term.Sale(ctx5(t), "01", cny10, visa)
	if err != nil {
		t.Fatal(err)
	}
	// The batch closes at the host (Settle is the terminal's call for it).
	j.SetBatchStatus(sale.Batch, reversal.BatchSettling)
	if err := j.CloseBatch(sale.Batch, 0); err != nil {
		t.Fatal(err)
	}
	_, err = term.Void(ctx5(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()})
	var na *isoswitch.NotAllowedError
	if !errors.As(err, &na) || na.Instead != "refund it" {
		t.Fatalf("void of a settled sale: %v", err)
	}
	part := iso.Amount{Minor: 400, Currency: iso.CNY}
	if _, err := term.Refund(ctx5(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()}, part, visa); err != nil {
		t.Fatal(err)
	}
	_, err = term.Refund(ctx5(t), supervisor, isoswitch.Original{RRN: sale.RRN, Date: time.Now()}, iso.Amount{Minor: 601, Currency: iso.CNY}, visa)
	if !errors.As(err, &na) {
		t.Fatalf("refund above what is left: %v", err)
	}
	if s, _ := j.Get(sale.RecordID); s.Refundable() != 600 {
		t.Errorf("refundable %d", s.Refundable())
	}
}

// TestReverseWhenTheTerminalCannotComplete: the application reports a
// printer failure after an approval; the sale is reversed.
func TestReverseWhenTheTerminalCannotComplete(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, _ := newTerminal(t, h)
			sale, err := term.Sale(ctx5(t), "01", cny10, visa)
			if err != nil {
				t.Fatal(err)
			}
			res, err := term.Reverse(ctx5(t), sale.RecordID)
			if err != nil {
				t.Fatal(err)
			}
			if res.RecordID != sale.RecordID {
				t.Errorf("reversed record %d", res.RecordID)
			}
			got := h.requests()
			last := h.seen[len(h.seen)-1]
			want := map[string]string{"cup": "06", "iso87": "22", "iso87_h2h": "22"}[name]
			if got[len(got)-1] != "0400" || last.Value(39) != want {
				t.Errorf("last message %s with reason %s, want a 0400 with %s", got[len(got)-1], last.Value(39), want)
			}
		})
	}
}

// TestBalanceAndPaymentCode: the other two customer calls.
func TestBalanceAndPaymentCode(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			term, j := newTerminal(t, h)
			bal, err := term.BalanceInquiry(ctx5(t), "01", visa, iso.CNY)
			if err != nil {
				t.Fatal(err)
			}
			if bal.Balance == nil || bal.Balance.Minor != 123456 {
				t.Errorf("balance %+v", bal.Balance)
			}
			pc, err := term.PaymentCodeSale(ctx5(t), "01", cny10, "134567890123456789")
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := j.Get(pc.RecordID); r.Kind != iso.KindPaymentCodeSale || r.MaskedPAN != "134567********6789" {
				t.Errorf("payment-code record %+v", r)
			}
			entries, _, _ := j.Entries(pc.Batch)
			if len(entries) != 1 {
				t.Errorf("the inquiry must not be in the batch: %d entries", len(entries))
			}
		})
	}
}

// TestRefusedWithoutAnAuthoriser: nothing that needs an authorised operator
// happens when none is configured.
func TestRefusedWithoutAnAuthoriser(t *testing.T) {
	h := startHost(t, dialectsUnderTest(t)["iso87"])
	term, _ := newTerminal(t, h)
	sale, _ := term.Sale(ctx5(t), "01", cny10, visa)
	if _, err := term.Void(context.Background(), supervisor, isoswitch.Original{STAN: sale.STAN}); !errors.Is(err, isoswitch.ErrUnauthorised) {
		t.Errorf("void without an authoriser: %v", err)
	}
}

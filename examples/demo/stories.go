package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

type story struct {
	title string
	run   func(context.Context, *day) error
}

var stories = []story{
	{"A card sale, printed as a receipt", cardSale},
	{"Revoking QR payments", revokingQR},
	{"A sale whose reply never comes", replyNeverComes},
	{"A host that answers late", hostAnswersLate},
	{"A crash right after sending", crashAfterSending},
	{"Settlement the host disagrees with", settlementDisagrees},
	{"Cancelling a payment from the settled batch", cancelSettled},
	{"The day's cancellations, for audit", auditExport},
}

func cny(minor int64) iso.Amount { return iso.Amount{Minor: minor, Currency: iso.CNY} }

// firstSale is story 1's sale; story 7 cancels it after settlement.
var firstSale isoswitch.Result

func cardSale(ctx context.Context, d *day) error {
	r, err := d.term.Sale(ctx, "01", cny(2599), card)
	if err != nil {
		return err
	}
	receipt(r)
	firstSale = r
	return nil
}

func revokingQR(ctx context.Context, d *day) error {
	say("a) the customer changes their mind before scanning:")
	o, err := d.term.CreateQROrder(ctx, "01", cny(1800), 2*time.Minute)
	if err != nil {
		return err
	}
	say("   showing %s (order %s)", o.Payload, o.Ref)
	c, err := d.term.Cancel(ctx, supervisor, o.RecordID, nil)
	if err != nil || c.Action != isoswitch.CancelClosed {
		return fmt.Errorf("unpaid order: %v %v", c.Action, err)
	}
	say("   → %s: %s", c.Action, c.Why)

	say("b) the customer pays; the cashier tries to revoke it, then the supervisor:")
	o, err = d.term.CreateQROrder(ctx, "01", cny(4200), 2*time.Minute)
	if err != nil {
		return err
	}
	d.host.PayQR(o.Ref) // the wallet pays
	paid, err := d.term.WaitQROrder(ctx, o.RecordID, 50*time.Millisecond)
	if err != nil || paid.Status != iso.QRPaid {
		return fmt.Errorf("paid order: %v %v", paid.Status, err)
	}
	say("   paid: %s, ref %s", paid.Payment.Amount, paid.Payment.RRN)
	if _, err := d.term.Cancel(ctx, cashier, o.RecordID, nil); !errors.Is(err, isoswitch.ErrUnauthorised) {
		return fmt.Errorf("the cashier's revoke was not refused: %v", err)
	} else {
		say("   cashier: refused (%v)", err)
	}
	c, err = d.term.Cancel(ctx, supervisor, o.RecordID, nil)
	if err != nil || c.Action != isoswitch.CancelVoided {
		return fmt.Errorf("supervisor: %v %v", c.Action, err)
	}
	say("   supervisor → %s: %s", c.Action, c.Why)

	say("c) an order nobody scans runs out:")
	o, err = d.term.CreateQROrder(ctx, "01", cny(900), time.Second)
	if err != nil {
		return err
	}
	d.host.ExpireQR(o.Ref)
	if e, err := d.term.QueryQROrder(ctx, o.RecordID); err != nil || e.Status != iso.QRExpired {
		return fmt.Errorf("expiry: %v %v", e.Status, err)
	}
	c, err = d.term.Cancel(ctx, supervisor, o.RecordID, nil)
	if err != nil || c.Action != isoswitch.CancelNothing {
		return fmt.Errorf("expired order: %v %v", c.Action, err)
	}
	say("   → %s: %s", c.Action, c.Why)

	say("d) the customer shows a payment code; the terminal scans it, then it is voided:")
	p, err := d.term.PaymentCodeSale(ctx, "01", cny(1550), "134567890123456789")
	if err != nil {
		return err
	}
	v, err := d.term.Void(ctx, supervisor, isoswitch.Original{STAN: p.STAN})
	if err != nil {
		return err
	}
	say("   %s of %s (code %s) voided by operator %s", p.Kind, p.Amount, p.MaskedPAN, v.Operator)
	return nil
}

func replyNeverComes(ctx context.Context, d *day) error {
	d.host.SetFaults(1, switchtest.Fault{Action: switchtest.Drop, Kind: iso.KindSale, Times: 1})
	_, err := d.term.Sale(ctx, "01", cny(3300), card)
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		return fmt.Errorf("sale: %v", err)
	}
	say("no reply in time: %v", err)
	next, err := d.term.Sale(ctx, "01", cny(1200), card) // drains the reversal first
	if err != nil {
		return err
	}
	rec, _ := d.journal.Get(unknown.RecordID)
	if rec.State != reversal.StateReversed {
		return fmt.Errorf("the unanswered sale is %s", rec.State)
	}
	say("the next sale (trace %s) went only after the reversal was acknowledged: record %d is %s", next.STAN, rec.ID, rec.State)
	return nil
}

func hostAnswersLate(ctx context.Context, d *day) error {
	d.host.SetFaults(1, switchtest.Fault{Action: switchtest.Delay, Delay: 700 * time.Millisecond, Kind: iso.KindSale, Times: 1})
	_, err := d.term.Sale(ctx, "01", cny(5000), card)
	var unknown *isoswitch.OutcomeUnknownError
	if !errors.As(err, &unknown) {
		return fmt.Errorf("sale: %v", err)
	}
	say("deadline passed; the terminal reverses")
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, _ := d.journal.Get(unknown.RecordID)
		if len(rec.LateReplies) > 0 && rec.State == reversal.StateReversed {
			say("the approval came late (code %s, ref %s): kept for audit, ignored; the record stays %s",
				rec.LateReplies[0].Code, rec.LateReplies[0].RRN, rec.State)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("record %d: %s with %d late replies", rec.ID, rec.State, len(rec.LateReplies))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func crashAfterSending(ctx context.Context, d *day) error {
	d.host.SetFaults(1, switchtest.Fault{Action: switchtest.Delay, Delay: 5 * time.Second, Kind: iso.KindSale, Times: 1})
	type outcome struct {
		err error
	}
	done := make(chan outcome, 1)
	go func() { _, err := d.term.Sale(ctx, "01", cny(7700), card); done <- outcome{err} }()
	time.Sleep(100 * time.Millisecond) // the request is out; the reply is not back
	say("power fails: terminal and journal gone before the reply is journaled")
	d.crash()
	<-done
	if err := d.openTerminal(ctx); err != nil {
		return fmt.Errorf("restart: %v", err)
	}
	reversed, _ := d.journal.ByState(reversal.StateReversed)
	last := reversed[len(reversed)-1]
	if last.Amount != cny(7700) {
		return fmt.Errorf("the interrupted sale was not reversed at restart")
	}
	say("restart: the journal showed an unknown outcome; record %d (%s) is %s", last.ID, last.Amount, last.State)
	return nil
}

func settlementDisagrees(ctx context.Context, d *day) error {
	batch, _ := d.journal.OpenBatch()
	// The host holds a transaction the terminal never saw: the totals differ.
	d.host.Record(switchtest.Txn{Terminal: terminalID, Batch: batch, STAN: 999999, Kind: iso.KindSale, Amount: cny(1)})
	res, err := d.term.Settle(ctx, supervisor, func(done, total int) { say("uploading %d of %d", done, total) })
	if err != nil {
		return err
	}
	if res.Verdict != iso.VerdictOutOfBalance || res.NextBatch != d.host.Batch(terminalID) {
		return fmt.Errorf("settlement %+v", res)
	}
	say("host said %s; the batch was uploaded and closed: batch %s → %s", res.Verdict, res.Batch, res.NextBatch)
	// CUP totals are gross (CaoEnXin/LiaoYang_POS Src/posfiles.c
	// ComputeTransTotal with Src/ChkOption.c ChkIfDebitTxn and
	// ChkIfCreditTxn): every sale is a debit, a voided one included, and
	// every void is a credit, so a voided sale shows on both sides and
	// nets to nothing.
	t := res.Totals.Domestic
	voids, voided := 0, 0
	recs, err := d.journal.Find(func(r reversal.Record) bool { return r.Batch == res.Batch && r.State == reversal.StateApproved })
	if err != nil {
		return err
	}
	for _, r := range recs {
		switch {
		case r.Kind == iso.KindVoid:
			voids++
		case r.VoidedBy != 0:
			voided++
		}
	}
	if t.CreditCount != voids {
		return fmt.Errorf("%d credits for %d voids", t.CreditCount, voids)
	}
	say("totals, counted gross as CUP terminals count them: %d debits %s (every sale, the %d voided ones included),", t.DebitCount, cny(t.DebitAmount), voided)
	say("%d credits %s (the %d voids); net %s", t.CreditCount, cny(t.CreditAmount), voids, cny(t.Net()))
	return nil
}

func cancelSettled(ctx context.Context, d *day) error {
	c, err := d.term.Cancel(ctx, supervisor, firstSale.RecordID, &card)
	if err != nil || c.Action != isoswitch.CancelRefunded {
		return fmt.Errorf("%v %v", c.Action, err)
	}
	say("the first sale (%s) was settled, so cancelling it %s %s: %s", firstSale.Amount, c.Action, c.Result.Amount, c.Why)
	return nil
}

func auditExport(_ context.Context, d *day) error {
	say("every cancellation of the day, as CSV (masked PANs):")
	if err := d.journal.ExportCSV(os.Stdout, reversal.Cancellations); err != nil {
		return err
	}
	rows, err := d.journal.Find(reversal.Cancellations)
	if err != nil || len(rows) < 5 {
		return fmt.Errorf("%d cancellations (%v)", len(rows), err)
	}
	return nil
}

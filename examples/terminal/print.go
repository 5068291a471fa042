package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// Everything printed here comes from isoswitch.Result, SettleResult and
// reversal.Record, which hold masked PANs only: no path to stdout carries
// a clear card number.

const width = 40

func rule(title string) string {
	if title == "" {
		return strings.Repeat("-", width)
	}
	left := (width - len(title) - 2) / 2
	return strings.Repeat("-", max(left, 1)) + " " + title + " " + strings.Repeat("-", max(width-left-len(title)-2, 1))
}

// printReceipt prints what a POS slip shows.
func printReceipt(w io.Writer, cfg config, title string, r isoswitch.Result) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-10s %s\n", label, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w, rule(title))
	row("merchant", "%s", cfg.mid)
	row("terminal", "%s   operator %s", cfg.tid, dash(string(r.Operator)))
	row("card", "%s", dash(r.MaskedPAN))
	if r.Kind != iso.KindBalanceInquiry {
		row("amount", "%s", r.Amount)
	}
	if r.Balance != nil {
		row("balance", "%s", *r.Balance)
	}
	row("batch", "%s   trace %s", r.Batch, r.STAN)
	row("reference", "%s   auth %s", dash(string(r.RRN)), dash(string(r.AuthCode)))
	row("response", "%s %s", string(r.Code), r.Meaning)
	if !r.HostTime.IsZero() {
		row("time", "%s", r.HostTime.Local().Format(time.DateTime))
	}
	row("record", "%d", r.RecordID)
	fmt.Fprintln(w, rule(""))
}

// printSettlement prints the settlement report. Totals are in minor units
// of the batch's currency, which is the terminal's.
func printSettlement(w io.Writer, cfg config, res isoswitch.SettleResult) {
	money := func(minor int64) iso.Amount { return iso.Amount{Minor: minor, Currency: cfg.currency} }
	fmt.Fprintln(w, rule("SETTLEMENT"))
	fmt.Fprintf(w, "%-10s %s closed; next %s\n", "batch", res.Batch, res.NextBatch)
	fmt.Fprintf(w, "%-10s %s", "host", res.Verdict)
	if res.Uploaded > 0 {
		fmt.Fprintf(w, "; %d uploaded", res.Uploaded)
	}
	fmt.Fprintln(w)
	classes := []struct {
		name string
		t    iso.ClassTotals
	}{{"", res.Totals.Domestic}, {"foreign ", res.Totals.Foreign}}
	for i, c := range classes {
		if i > 0 && c.t == (iso.ClassTotals{}) {
			continue // most batches have no foreign cards
		}
		fmt.Fprintf(w, "%-10s %3d   %s\n", c.name+"debits", c.t.DebitCount, money(c.t.DebitAmount))
		fmt.Fprintf(w, "%-10s %3d   %s\n", c.name+"credits", c.t.CreditCount, money(c.t.CreditAmount))
	}
	fmt.Fprintln(w, rule(""))
}

// listJournal prints one line per record, oldest first.
func listJournal(w io.Writer, j *reversal.Journal) error {
	recs, err := j.Find(func(reversal.Record) bool { return true })
	if err != nil {
		return err
	}
	const format = "%-5v %-19s %-17s %-16s %15s %-19s %-6s %-12s %s\n"
	fmt.Fprintf(w, format, "ID", "TIME", "KIND", "STATE", "AMOUNT", "CARD", "STAN", "RRN", "OPERATOR")
	for _, r := range recs {
		fmt.Fprintf(w, format, r.ID, r.Created.Local().Format(time.DateTime), r.Kind, r.State, r.Amount,
			dash(r.MaskedPAN), r.STAN, dash(string(r.RRN)), dash(string(r.Operator)))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package switchtest_test

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
	"github.com/posswitch/posswitch/switch/switchtest"
)

// Published test card numbers only: a UnionPay BIN 62 card, MasterCard's and
// Visa's test cards.
var (
	unionPay = iso.Card{PAN: "6200000000000005", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	master   = iso.Card{PAN: "5555555555554444", Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
)

func stansOf(es []iso.BatchEntry) []iso.STAN {
	var out []iso.STAN
	for _, e := range es {
		out = append(out, e.STAN)
	}
	return out
}

// TestSettleByCardClass: a CUP batch with UnionPay and foreign cards, a void
// and refunds, settled over TCP against the host and a bbolt journal, the
// way CaoEnXin/LiaoYang_POS Src/tranproc.c PosSettleTran and PosBatchUp do:
//   - both classes balanced: nothing is uploaded, the upload end goes anyway
//     with 60.3 207 and F48 0000 ("二代平台对账平也需要批结束报文");
//   - foreign not balanced: only foreign records go up, the sales and the
//     void packed in one 0320, each refund alone in its own 0320, then the
//     end with 202 and the count; the domestic ones stay home;
//   - the connection cut between two upload messages: the next Settle
//     resumes at the exact message that was not acknowledged.
//
// The card organisation comes from the host's reply F63 and the totals per
// class equal the host's ledger.
func TestSettleByCardClass(t *testing.T) {
	d := dialects(t)["cup"]
	h := switchtest.NewHost(t, d)
	term, j := terminal(t, h, d, "TERM0007")

	d1, err := term.Sale(ctx(t), "01", cny(1000), unionPay)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := term.Sale(ctx(t), "01", cny(2000), visa)
	if err != nil {
		t.Fatal(err)
	}
	if d1.CardOrg != iso.CardOrgCUP || f1.CardOrg != iso.CardOrgVisa {
		t.Fatalf("card organisations from F63: %q %q, want CUP and VIS", d1.CardOrg, f1.CardOrg)
	}
	res, err := term.Settle(ctx(t), supervisor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Domestic != (isoswitch.ClassSettlement{Verdict: iso.VerdictBalanced}) ||
		res.Foreign != (isoswitch.ClassSettlement{Verdict: iso.VerdictBalanced}) || res.Uploaded != 0 {
		t.Errorf("balanced settlement: %+v", res)
	}
	if diff := cmp.Diff([]switchtest.Upload{{Terminal: "TERM0007", Batch: res.Batch, End: true, Balanced: true, Count: 0}},
		h.Uploads()); diff != "" {
		t.Errorf("balanced: want only the 207 end (-want +got):\n%s", diff)
	}
	if h.Batch("TERM0007") != res.NextBatch || res.NextBatch != res.Batch.Next() {
		t.Errorf("host batch %s, terminal %s", h.Batch("TERM0007"), res.NextBatch)
	}

	// Batch 2: a UnionPay sale, two foreign sales, a void of one, and a
	// refund each of batch 1's UnionPay and Visa sales.
	batch := res.NextBatch
	d2, _ := term.Sale(ctx(t), "01", cny(3000), unionPay)
	f2, _ := term.Sale(ctx(t), "01", cny(4000), visa)
	f3, err := term.Sale(ctx(t), "01", cny(500), master)
	if err != nil || f3.CardOrg != iso.CardOrgMC {
		t.Fatalf("MasterCard sale: %+v %v", f3, err)
	}
	v3, err := term.Void(ctx(t), supervisor, isoswitch.Original{STAN: f3.STAN})
	if err != nil || v3.CardOrg != iso.CardOrgMC {
		t.Fatalf("void: %+v %v", v3, err)
	}
	rf, err := term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: f1.RRN, Date: time.Now()}, cny(700), visa)
	if err != nil || rf.CardOrg != iso.CardOrgVisa {
		t.Fatalf("foreign refund: %+v %v", rf, err)
	}
	rd, err := term.Refund(ctx(t), supervisor, isoswitch.Original{RRN: d1.RRN, Date: time.Now()}, cny(300), unionPay)
	if err != nil {
		t.Fatalf("domestic refund: %v", err)
	}
	entries, _, err := j.Entries(batch)
	if err != nil {
		t.Fatal(err)
	}
	mine := d.Totals(entries)
	want := iso.Totals{
		Domestic: iso.ClassTotals{DebitCount: 1, DebitAmount: 3000, CreditCount: 1, CreditAmount: 300},
		Foreign:  iso.ClassTotals{DebitCount: 2, DebitAmount: 4500, CreditCount: 2, CreditAmount: 1200},
	}
	if diff := cmp.Diff(want, mine); diff != "" {
		t.Errorf("terminal totals per class (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(mine, h.Totals("TERM0007", batch)); diff != "" {
		t.Errorf("terminal and host ledger disagree per class (-terminal +host):\n%s", diff)
	}

	// A MasterCard sale the terminal never saw puts the foreign class out
	// of balance. The connection is cut when the refund upload (the second
	// upload message) goes.
	h.Record(switchtest.Txn{Terminal: "TERM0007", Batch: batch, STAN: 999, Kind: iso.KindSale, Amount: cny(1), CardOrg: iso.CardOrgMC})
	before := len(h.Uploads())
	cut := false
	res, err = term.Settle(ctx(t), supervisor, func(done, total int) {
		if done == 3 && total == 4 && !cut {
			cut = true
			h.SetFaults(1, switchtest.Fault{Action: switchtest.CloseBefore, Kind: iso.KindBatchUpload, Times: 1})
		}
	})
	if err == nil || !cut {
		t.Fatalf("the cut did not interrupt the upload: %+v %v", res, err)
	}
	first := h.Uploads()[before:]
	if len(first) != 2 || !cmp.Equal(stansOf(first[0].Entries), []iso.STAN{f2.STAN, f3.STAN, v3.STAN}) ||
		!cmp.Equal(stansOf(first[1].Entries), []iso.STAN{rf.STAN}) {
		t.Fatalf("before the cut: %+v", first)
	}
	res, err = term.Settle(ctx(t), supervisor, nil)
	if err != nil {
		t.Fatalf("resumed settlement: %v", err)
	}
	resumed := h.Uploads()[before+2:]
	wantResumed := []switchtest.Upload{
		{Terminal: "TERM0007", Batch: batch, Entries: []iso.BatchEntry{{Kind: iso.KindRefund, STAN: rf.STAN, Amount: cny(700),
			PAN: visa.PAN, CardOrg: iso.CardOrgVisa, Original: iso.Original{RRN: f1.RRN, Batch: f1.Batch, STAN: f1.STAN,
				Time: day(time.Now())}}}},
		{Terminal: "TERM0007", Batch: batch, End: true, Count: 4},
	}
	if diff := cmp.Diff(wantResumed, resumed); diff != "" {
		t.Errorf("resumed upload: want the refund again, then the 202 end (-want +got):\n%s", diff)
	}
	for _, u := range h.Uploads()[before:] {
		for _, e := range u.Entries {
			if e.STAN == d2.STAN || e.STAN == rd.STAN {
				t.Errorf("domestic record %s uploaded though its class balanced", e.STAN)
			}
		}
	}
	if res.Verdict != iso.VerdictOutOfBalance || res.Domestic != (isoswitch.ClassSettlement{Verdict: iso.VerdictBalanced}) ||
		res.Foreign != (isoswitch.ClassSettlement{Verdict: iso.VerdictOutOfBalance, Uploaded: 4}) || res.Uploaded != 4 {
		t.Errorf("settlement after the resumed upload: %+v", res)
	}
	if h.Batch("TERM0007") != res.NextBatch || res.NextBatch != batch.Next() {
		t.Errorf("host batch %s, terminal %s", h.Batch("TERM0007"), res.NextBatch)
	}
}

// day is a date as F61 carries it (MMDD: midnight of that day).
func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// rawExchange sends one hand-laid request to the host over its own TCP
// connection and returns the decoded reply.
func rawExchange(t *testing.T, d iso.Dialect, addr string, m *iso.Message) *iso.Message {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	body, err := d.Encode(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Framing().WriteFrame(c, d.Frame(body)); err != nil {
		t.Fatal(err)
	}
	fr, err := d.Framing().ReadFrame(c)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := d.Decode(fr.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

func handLaid(mti string, fields map[int]string) *iso.Message {
	m := &iso.Message{MTI: mti}
	for id, v := range fields {
		m.Set(id, v)
	}
	return m
}

// TestHostSettlementHandLaid: the host reads a 0500, a packed 0320 and the
// upload-end 0320 laid out by hand from CaoEnXin/LiaoYang_POS
// Src/tranproc.c and answers per card class.
func TestHostSettlementHandLaid(t *testing.T) {
	d := dialects(t)["cup"]
	h := switchtest.NewHost(t, d)
	term, _ := terminal(t, h, d, "TERM0008")
	if _, err := term.Sale(ctx(t), "01", cny(1000), unionPay); err != nil {
		t.Fatal(err)
	}
	if _, err := term.Sale(ctx(t), "01", cny(2000), visa); err != nil {
		t.Fatal(err)
	}
	batch := h.Batch("TERM0008").String()
	env := func(stan string) map[int]string {
		return map[int]string{11: stan, 41: "TERM0008", 42: "898310048161234"}
	}
	with := func(f map[int]string, more map[int]string) map[int]string {
		for k, v := range more {
			f[k] = v
		}
		return f
	}

	// 0500 F48, PosSettleTran "%s%03d%s%03d0%s%03d%s%03d0": per class
	// debit amount n12, debit count n3, credit amount n12, credit count n3,
	// a 0; domestic first. The foreign block says 19.99, not 20.00.
	f48 := "000000001000" + "001" + "000000000000" + "000" + "0" +
		"000000001999" + "001" + "000000000000" + "000" + "0"
	reply := rawExchange(t, d, h.Addr, handLaid("0500", with(env("000101"), map[int]string{
		48: f48, 49: "156", 60: "00" + batch + "201", 63: "01 "})))
	// 0510 F48: the same blocks with the result digit at offsets 30 and 61
	// (SaveRspPackData reads szField48[30] and [61]): 1 balanced, 2 not.
	wantF48 := "000000001000" + "001" + "000000000000" + "000" + "1" +
		"000000001999" + "001" + "000000000000" + "000" + "2"
	if reply.MTI != "0510" || reply.Value(48) != wantF48 {
		t.Fatalf("0510 %s F48 %q, want %q", reply.MTI, reply.Value(48), wantF48)
	}

	// A packed 0320 (BatchMagOnLineTrans): n2 count, then org flag n2 (01
	// foreign), trace n6, PAN n20 right-aligned zero-filled, amount n12.
	rec := "01" + "000002" + "00004111111111111111" + "000000002000"
	reply = rawExchange(t, d, h.Addr, handLaid("0320", with(env("000102"), map[int]string{
		48: "01" + rec, 49: "156", 60: "00" + batch + "201"})))
	if reply.MTI != "0330" || reply.Value(39) != "00" {
		t.Fatalf("packed upload answered %s %q", reply.MTI, reply.Value(39))
	}
	up := h.Uploads()
	if len(up) != 1 || len(up[0].Entries) != 1 || up[0].Entries[0].STAN != 2 || !up[0].Entries[0].Foreign() ||
		up[0].Entries[0].Amount != cny(2000) {
		t.Fatalf("host read the packed upload as %+v", up)
	}
	if h.Batch("TERM0008").String() != batch {
		t.Fatal("the host closed the batch before the upload end")
	}

	// The upload end (PosBatchUp): F48 "%04d" records uploaded, 60.3 202.
	reply = rawExchange(t, d, h.Addr, handLaid("0320", with(env("000103"), map[int]string{
		48: "0001", 60: "00" + batch + "202"})))
	if reply.MTI != "0330" || reply.Value(39) != "00" {
		t.Fatalf("upload end answered %s %q", reply.MTI, reply.Value(39))
	}
	up = h.Uploads()
	if len(up) != 2 || !up[1].End || up[1].Balanced || up[1].Count != 1 {
		t.Errorf("host read the end as %+v", up[len(up)-1])
	}
	if h.Batch("TERM0008").String() == batch {
		t.Error("the upload end did not close the batch")
	}
	for _, tx := range h.Transactions() {
		if !tx.Settled {
			t.Errorf("transaction %s not settled after the upload end", tx.STAN)
		}
	}

	// Both balanced: the 0510 says 1 and 1, and the 207 end closes.
	// (The host closed the batch behind the terminal's back, so the next
	// transaction is put in the host's ledger directly.)
	next := h.Batch("TERM0008")
	h.Record(switchtest.Txn{Terminal: "TERM0008", Batch: next, STAN: 7, Kind: iso.KindSale, Amount: cny(500), CardOrg: iso.CardOrgVisa})
	batch = next.String()
	f48 = "000000000000" + "000" + "000000000000" + "000" + "0" +
		"000000000500" + "001" + "000000000000" + "000" + "0"
	reply = rawExchange(t, d, h.Addr, handLaid("0500", with(env("000201"), map[int]string{
		48: f48, 49: "156", 60: "00" + batch + "201", 63: "01 "})))
	wantF48 = "000000000000" + "000" + "000000000000" + "000" + "1" +
		"000000000500" + "001" + "000000000000" + "000" + "1"
	if reply.Value(48) != wantF48 {
		t.Fatalf("balanced 0510 F48 %q, want %q", reply.Value(48), wantF48)
	}
	if h.Batch("TERM0008").String() != batch {
		t.Fatal("a CUP host closed a balanced batch before the upload end")
	}
	reply = rawExchange(t, d, h.Addr, handLaid("0320", with(env("000202"), map[int]string{
		48: "0000", 60: "00" + batch + "207"})))
	if reply.Value(39) != "00" || h.Batch("TERM0008").String() == batch {
		t.Errorf("207 end: %q, host batch %s", reply.Value(39), h.Batch("TERM0008"))
	}
	if up := h.Uploads(); !up[len(up)-1].Balanced {
		t.Errorf("207 end read as %+v", up[len(up)-1])
	}
}

package cup_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/posswitch/posswitch/iso"
)

// wantFields compares a message's fields with hand-laid field text.
func wantFields(t *testing.T, what string, m *iso.Message, mti string, want map[int]string) {
	t.Helper()
	if m.MTI != mti {
		t.Errorf("%s: MTI %s, want %s", what, m.MTI, mti)
	}
	got := map[int]string{}
	for _, id := range m.IDs() {
		got[id] = m.Value(id)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: fields (-want +got):\n%s", what, diff)
	}
}

// TestCUPRefundUploadFields: a refund goes up alone in a 0320 that repeats
// the refund (CaoEnXin/LiaoYang_POS Src/tranproc.c BatchSendOffTrans2_Refund:
// proc "200000", F37 the sale's RRN, F61 "%06d%06d%4.4s" batch, trace and
// date, F63 the card unit or "000"; its own trace in F11; Src/globalvar.c
// TrTable POS_REFUND_BAT {"00","25","000"}: 60.1 25, 60.3 000). The field
// text below is laid out by hand from those format strings.
func TestCUPRefundUploadFields(t *testing.T) {
	d := newCUP(t)
	orig := iso.Original{STAN: 41, Batch: 6, Time: time.Date(2026, 3, 9, 15, 0, 0, 0, time.UTC), RRN: "307310000041"}
	refund := iso.BatchEntry{Kind: iso.KindRefund, STAN: 17, Amount: iso.Amount{Minor: 5000, Currency: iso.CNY},
		PAN: panMaster, CardOrg: iso.CardOrgMC, Original: orig}
	m, err := d.BuildRequest(env(63), iso.BatchUploadRequest{Entries: []iso.BatchEntry{refund}})
	if err != nil {
		t.Fatal(err)
	}
	wantFields(t, "refund upload", m, "0320", map[int]string{
		2:  "5555555555554444",
		3:  "200000",
		4:  "000000005000",
		11: "000017", // the refund's own trace, not the envelope's 000063
		37: "307310000041",
		41: "TERM0001",
		42: "898310048161234",
		49: "156",
		60: "25" + "000007" + "000",
		61: "000006" + "000041" + "0309",
		63: "MCC",
	})
	refund.CardOrg, refund.Original = "", iso.Original{}
	m, err = d.BuildRequest(env(63), iso.BatchUploadRequest{Entries: []iso.BatchEntry{refund}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Value(63) != "000" || m.Value(61) != "000000000000" || m.Value(37) != "000000000000" {
		t.Errorf("refund upload without its sale: F37 %q F61 %q F63 %q; want zeros and \"000\"", m.Value(37), m.Value(61), m.Value(63))
	}

	// A host reads it back as one refund entry of the batch.
	body, err := d.Encode(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := d.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	e, r, err := d.ParseRequest(dm)
	if err != nil {
		t.Fatal(err)
	}
	up, ok := r.(iso.BatchUploadRequest)
	if !ok || len(up.Entries) != 1 || up.Entries[0].Kind != iso.KindRefund || up.Entries[0].STAN != 17 || e.STAN != 17 ||
		up.Entries[0].Amount.Minor != 5000 || up.Entries[0].CardOrg != "" {
		t.Errorf("host reads %#v (envelope STAN %s)", r, e.STAN)
	}

	// The packed form cannot carry a refund: its records have no kind.
	sale := iso.BatchEntry{Kind: iso.KindSale, STAN: 16, Amount: cny, CardOrg: iso.CardOrgCUP}
	_, err = d.BuildRequest(env(64), iso.BatchUploadRequest{Entries: []iso.BatchEntry{sale, refund}})
	var fe *iso.FieldError
	if !errors.As(err, &fe) || fe.Field != "Entries" {
		t.Errorf("packed refund: %v, want a FieldError on Entries", err)
	}
}

// TestCUPRefundF63: a refund names the original card's organisation in F63,
// "000" when the terminal does not know it (CaoEnXin/LiaoYang_POS
// Src/tranproc.c RefundTran; chfenix/iso8583
// src/main/resources/config/cups/iso8583_cups.xml refund: 63 M, "000").
func TestCUPRefundF63(t *testing.T) {
	d := newCUP(t)
	keyed := iso.Card{PAN: panVisa, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	orig := iso.Original{STAN: 41, Batch: 6, Time: fixtureTime.Add(-48 * time.Hour), RRN: "307310000041"}
	for org, want := range map[iso.CardOrg]string{iso.CardOrgVisa: "VIS", "": "000", iso.CardOrgCUP: "CUP"} {
		m, err := d.BuildRequest(env(47), iso.RefundRequest{Amount: cny, Card: keyed, Original: orig, CardOrg: org})
		if err != nil {
			t.Fatal(err)
		}
		if m.Value(63) != want {
			t.Errorf("refund of a %q card: F63 %q, want %q", org, m.Value(63), want)
		}
	}
	if _, err := d.BuildRequest(env(47), iso.RefundRequest{Amount: cny, Card: keyed, Original: orig, CardOrg: "visa"}); err == nil {
		t.Error("a card organisation that is not an3 upper case was accepted")
	}
}

// TestCUPReplyCardOrg: the card organisation is 63.1 of the reply
// (CaoEnXin/LiaoYang_POS Src/trancomm.c SaveRspPackData copies it to the
// card unit). The reply is laid out field by field, by hand.
func TestCUPReplyCardOrg(t *testing.T) {
	d := newCUP(t)
	card := iso.Card{PAN: panVisa, Expiry: "2812", Entry: iso.EntryMode{Method: iso.EntryManual}}
	req, err := d.BuildRequest(env(42), iso.SaleRequest{Amount: cny, Card: card})
	if err != nil {
		t.Fatal(err)
	}
	for f63, want := range map[string]iso.CardOrg{"VIS": iso.CardOrgVisa, "CUP": iso.CardOrgCUP, "JCB 01": iso.CardOrgJCB, "000": "", "": ""} {
		reply := &iso.Message{MTI: "0210"}
		for id, v := range map[int]string{3: "000000", 4: "000000012345", 11: "000042", 12: "103015", 13: "0314",
			37: "307310000042", 38: "A1B2C3", 39: "00", 41: "TERM0001", 42: "898310048161234", 49: "156"} {
			reply.Set(id, v)
		}
		if f63 != "" {
			reply.Set(63, f63)
		}
		r, err := d.ParseResponse(req, reply)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.(iso.FinancialResponse).CardOrg; got != want {
			t.Errorf("F63 %q: card organisation %q, want %q", f63, got, want)
		}
	}
	// A host names it the same way.
	m, err := d.BuildResponse(req, iso.FinancialResponse{Reply: iso.Reply{Code: iso.CodeApproved, RRN: "307310000042", AuthCode: "A1B2C3"},
		Of: iso.KindSale, Amount: cny, CardOrg: iso.CardOrgJCB})
	if err != nil {
		t.Fatal(err)
	}
	if m.Value(63) != "JCB" {
		t.Errorf("host reply F63 %q, want JCB", m.Value(63))
	}
}

// TestCUPUploadEndFields: the upload end is a 0320 with F48 "%04d", the
// records uploaded, and 60.3 202 after "not balanced", 207 when both classes
// balanced (CaoEnXin/LiaoYang_POS Src/tranproc.c PosBatchUp).
func TestCUPUploadEndFields(t *testing.T) {
	d := newCUP(t)
	for _, c := range []struct {
		req  iso.BatchUploadEndRequest
		want map[int]string
	}{
		{iso.BatchUploadEndRequest{Count: 3}, map[int]string{11: "000062", 41: "TERM0001", 42: "898310048161234", 48: "0003", 60: "00" + "000007" + "202"}},
		{iso.BatchUploadEndRequest{Count: 0, Balanced: true}, map[int]string{11: "000062", 41: "TERM0001", 42: "898310048161234", 48: "0000", 60: "00" + "000007" + "207"}},
	} {
		m, err := d.BuildRequest(env(62), c.req)
		if err != nil {
			t.Fatal(err)
		}
		wantFields(t, "upload end", m, "0320", c.want)
	}
}

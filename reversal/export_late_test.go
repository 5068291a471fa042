package reversal_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	"github.com/posswitch/posswitch/reversal"
)

// TestExportsShowLateReplies: a reply the terminal kept for audit after
// deciding the outcome shows in both exports, in arrival order, and a
// record without one shows none.
func TestExportsShowLateReplies(t *testing.T) {
	j := tjOpen(t)
	d := tjCUP(t)
	late := tjSale(t, j, d, 1200)
	quiet := tjSale(t, j, d, 1300)
	if _, err := j.MarkRecoveryPending(late.ID, iso.ReasonTimeout); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	if _, err := j.RecordLateReply(late.ID, reversal.LateReply{At: at, Code: "00", RRN: "000000000077", AuthCode: "A12345"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.RecordLateReply(late.ID, reversal.LateReply{At: at.Add(2 * time.Second), Code: "96"}); err != nil {
		t.Fatal(err)
	}

	var cs bytes.Buffer
	if err := j.ExportCSV(&cs, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := len(rows[0]) - 1
	if rows[0][col] != "late_replies" {
		t.Fatalf("last CSV column %q, want late_replies", rows[0][col])
	}
	byID := map[string]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r[col]
	}
	want := "2026-03-14T09:26:53Z|00|000000000077|A12345;2026-03-14T09:26:55Z|96||"
	if got := byID[itoa(late.ID)]; got != want {
		t.Errorf("CSV late replies %q, want %q", got, want)
	}
	if got := byID[itoa(quiet.ID)]; got != "" {
		t.Errorf("CSV late replies of a record without any: %q", got)
	}

	var jl bytes.Buffer
	if err := j.ExportJSONLines(&jl, nil); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(jl.String()), "\n") {
		var row struct {
			ID  uint64              `json:"id"`
			Raw []map[string]string `json:"late_replies"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		switch row.ID {
		case late.ID:
			if len(row.Raw) != 2 || row.Raw[0]["at"] != "2026-03-14T09:26:53Z" || row.Raw[0]["response_code"] != "00" ||
				row.Raw[0]["rrn"] != "000000000077" || row.Raw[0]["auth_code"] != "A12345" || row.Raw[1]["response_code"] != "96" {
				t.Errorf("JSONL late replies %v", row.Raw)
			}
		case quiet.ID:
			if strings.Contains(line, "late_replies") {
				t.Errorf("JSONL shows late replies for a record without any: %s", line)
			}
		}
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

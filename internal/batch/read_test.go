package batch

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func ev(id string, t string) string {
	return `{"event_id": "` + id + `", "page_name": "p", "event_timestamp": "` + t + `", "uuid": "u"}`
}

// TestLineHandling: over-long lines (also ones longer than a read buffer)
// are rejected without hurting their neighbours; CRLF, blank lines, a
// missing final newline and gzip input all count correctly.
func TestLineHandling(t *testing.T) {
	huge := `{"event_id": "h", "uuid": "u", "event_timestamp": "1", "page_name": "` + strings.Repeat("x", 10<<20) + `"}`
	cases := []struct {
		name     string
		data     string
		gz       bool
		records  int64
		events   int64
		rejected map[string]int64
	}{
		{"crlf and no final newline", ev("a", "1000") + "\r\n" + ev("b", "2000"), false, 2, 2, nil},
		{"blank line is an empty record", ev("a", "1000") + "\n\n" + ev("b", "2000") + "\n", false, 3, 2, map[string]int64{"empty_record": 1}},
		{"line over the limit", ev("a", "1000") + "\n" + `{"event_id": "x", "uuid": "u", "event_timestamp": "1", "page_name": "` + strings.Repeat("y", 3000) + `"}` + "\n" + ev("b", "2000") + "\n",
			false, 3, 2, map[string]int64{"line_too_long": 1}},
		{"line longer than the read buffer", ev("a", "1000") + "\n" + huge + "\n" + ev("b", "2000") + "\n", false, 3, 2, map[string]int64{"line_too_long": 1}},
		{"over-long last line without newline", ev("a", "1000") + "\n" + huge, false, 2, 1, map[string]int64{"line_too_long": 1}},
		{"gzip", ev("a", "1000") + "\n{bad\n" + ev("b", "2000") + "\n", true, 3, 2, map[string]int64{"invalid_json": 1}},
		{"empty file", "", false, 0, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.jsonl")
			data := []byte(tc.data)
			if tc.gz {
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(data)
				zw.Close()
				data = b.Bytes()
			}
			if err := os.WriteFile(in, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rej := filepath.Join(dir, "rej.jsonl")
			sum, err := Run(context.Background(), Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl"),
				Rejected: rej, MaxRecordBytes: 2048, Workers: 2, Rules: defaultRulesForTest()})
			if err != nil {
				t.Fatal(err)
			}
			if sum.RecordsRead != tc.records || sum.EventsInSessions != tc.events || !sum.InvariantHolds {
				t.Fatalf("records %d events %d, want %d %d: %+v", sum.RecordsRead, sum.EventsInSessions, tc.records, tc.events, sum)
			}
			if len(tc.rejected) > 0 || len(sum.RejectedByReason) > 0 {
				for k, v := range tc.rejected {
					if sum.RejectedByReason[k] != v {
						t.Fatalf("rejected %v, want %v", sum.RejectedByReason, tc.rejected)
					}
				}
			}
			b, _ := os.ReadFile(rej)
			if len(b) > 64<<10 {
				t.Fatalf("rejected file holds %d bytes: an over-long record must be cut to the limit", len(b))
			}
		})
	}
}

func TestStdinInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	sum, err := Run(context.Background(), Config{Inputs: []string{"-"}, Output: out, Workers: 1,
		Stdin: strings.NewReader(ev("a", "1000") + "\n" + ev("b", "9000000") + "\n"), Rules: defaultRulesForTest()})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sessions != 2 || sum.Inputs[0] != "-" {
		t.Fatalf("%+v", sum)
	}
}

func TestCancelledRunLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(ev("a", "1")+"\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "out.jsonl")
	if _, err := Run(ctx, Config{Inputs: []string{in}, Output: out, Rules: defaultRulesForTest()}); err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left files behind: %v", entries)
	}
}

// TestDevNullOutput: writing to a device must not replace it with a file.
func TestDevNullOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(ev("a", "1")+"\n"), 0o644)
	if _, err := Run(context.Background(), Config{Inputs: []string{in}, Output: os.DevNull, Rejected: os.DevNull, Rules: defaultRulesForTest()}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(os.DevNull)
	if err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s is now a regular file: %v", os.DevNull, err)
	}
}

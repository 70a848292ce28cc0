package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// csvRow is what readCSV passed to the visitor for one row, copied. Bad
// marks the nil-fields convention for rows that are not parseable CSV.
type csvRow struct {
	Raw                 string
	Bad                 bool
	UUID, EventID, Page string
	NoPage              bool // PageName was nil
	TS                  int64
	Reason              string // "" for rows that are not parseable CSV
	Line                int64
}

// csvMsSchema reads times strictly as epoch milliseconds, so the small
// numbers of these tests stay milliseconds.
var csvMsSchema = event.Schema{Format: event.MustTimeFormat("ms", "")}

func collectCSV(input string) ([]csvRow, error) {
	var out []csvRow
	err := readCSV(context.Background(), strings.NewReader(input), csvMsSchema, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
		r := csvRow{Raw: string(raw), Bad: f == nil, Line: line}
		if f != nil {
			r.Reason = reason.String()
		}
		if reason == event.OK {
			r.UUID, r.EventID, r.Page, r.NoPage, r.TS = string(f.UUID), string(f.EventID), string(f.PageName), f.PageName == nil, f.TimestampMs
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []csvRow
	}{
		{
			name: "header in another order, extra columns, quoted commas",
			input: "booking_details,uuid,extra,event_timestamp,page_name,event_id\n" +
				`"{""room"":1,""nights"":2}",u1,x,1700000000000,"home, sweet",e1` + "\n" +
				",u2,,1700000000001,search,e2\n",
			want: []csvRow{
				{Raw: `"{""room"":1,""nights"":2}",u1,x,1700000000000,"home, sweet",e1`,
					UUID: "u1", EventID: "e1", Page: "home, sweet", TS: 1700000000000, Reason: "ok", Line: 2},
				{Raw: ",u2,,1700000000001,search,e2", UUID: "u2", EventID: "e2", Page: "search", TS: 1700000000001, Reason: "ok", Line: 3},
			},
		},
		{
			name:  "no page_name or booking_details column, BOM and CRLF",
			input: "\ufeffuuid,event_id,event_timestamp\r\nu1,e1,5\r\n",
			want:  []csvRow{{Raw: "u1,e1,5", UUID: "u1", EventID: "e1", NoPage: true, TS: 5, Reason: "ok", Line: 2}},
		},
		{
			name: "timestamps",
			input: "uuid,event_id,event_timestamp,page_name\n" +
				"u,e1, 1700000000000 ,p\n" +
				"u,e2,17e11,p\n" +
				"u,e3,,p\n" +
				"u,e4,-5,p\n" +
				"u,e5,99999999999999999999,p\n" +
				"u,e6,1.5,p\n",
			want: []csvRow{
				{Raw: `u,e1," 1700000000000 ",p`, UUID: "u", EventID: "e1", Page: "p", TS: 1700000000000, Reason: "ok", Line: 2},
				{Raw: "u,e2,17e11,p", Reason: "time_not_number", Line: 3},
				{Raw: "u,e3,,p", Reason: "missing_time", Line: 4},
				{Raw: "u,e4,-5,p", Reason: "time_out_of_range", Line: 5},
				{Raw: "u,e5,99999999999999999999,p", Reason: "time_out_of_range", Line: 6},
				{Raw: "u,e6,1.5,p", Reason: "time_not_number", Line: 7},
			},
		},
		{
			name: "malformed rows are reported and the read goes on",
			input: "uuid,event_id,event_timestamp,page_name\n" +
				"u,e1,1,home, page\n" + // unquoted comma: one field too many
				"u,e2\n" + // too few fields
				"u,e3,3,p\n",
			want: []csvRow{
				{Raw: `u,e1,1,home," page"`, Bad: true, Line: 2},
				{Raw: "u,e2", Bad: true, Line: 3},
				{Raw: "u,e3,3,p", UUID: "u", EventID: "e3", Page: "p", TS: 3, Reason: "ok", Line: 4},
			},
		},
		{
			name: "multi-line field and lazy quotes",
			input: "uuid,event_id,event_timestamp,page_name\n" +
				"u,e1,1,\"two\nlines\"\n" +
				"u,e\"2,2,p\"q\n" +
				"\n" + // blank lines are skipped but counted
				",,3,\n",
			want: []csvRow{
				{Raw: "u,e1,1,\"two\nlines\"", UUID: "u", EventID: "e1", Page: "two\nlines", TS: 1, Reason: "ok", Line: 2},
				{Raw: `u,"e""2",2,"p""q"`, UUID: "u", EventID: `e"2`, Page: `p"q`, TS: 2, Reason: "ok", Line: 4},
				{Raw: ",,3,", Reason: "missing_user", Line: 6},
			},
		},
		{name: "empty input", input: "", want: nil},
		{name: "header only", input: "uuid,event_id,event_timestamp\n", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := collectCSV(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// The nil-fields rows must map to their own reason, not to missing_user.
func TestReadCSVRejectReasons(t *testing.T) {
	input := "uuid,event_id,event_timestamp\n,e,1\nu,,1\nu,e,x\nu,e\nu,e,1\n"
	var reasons []string
	err := readCSV(context.Background(), strings.NewReader(input), event.Schema{}, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
		if f == nil {
			reasons = append(reasons, "unparseable")
		} else {
			reasons = append(reasons, reason.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "missing_user missing_event_id bad_time_format unparseable ok"
	if got := strings.Join(reasons, " "); got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
}

func TestReadCSVErrors(t *testing.T) {
	cases := []struct {
		name  string
		input io.Reader
		want  []string
	}{
		{"missing columns",
			strings.NewReader("page_name,uuid,booking_details\nhome,u,x\n"),
			[]string{"lacks required column(s) event_id, event_timestamp", "found: page_name, uuid, booking_details"}},
		{"runaway quote",
			io.MultiReader(strings.NewReader("uuid,event_id,event_timestamp\nu,e,1\nu,\""), endless('a')),
			[]string{"after line 2", "over 100000 bytes", "unterminated quote"}},
		{"read error",
			io.MultiReader(strings.NewReader("uuid,event_id,event_timestamp\nu,e,1\n"), failing{}),
			[]string{"after line 2", "disk on fire"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readCSVLimit(context.Background(), tc.input, event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error { return nil }, 100_000)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestReadCSVStops(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("uuid,event_id,event_timestamp\n")
	for i := 0; i < 3*csvCtxEvery; i++ {
		fmt.Fprintf(&sb, "u,e%d,%d\n", i, i)
	}
	input := sb.String()

	stop := errors.New("stop")
	calls := 0
	err := readCSV(context.Background(), strings.NewReader(input), event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("visitor error: got %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = readCSV(ctx, strings.NewReader(input), event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error {
		calls++
		if calls == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls >= 3*csvCtxEvery {
		t.Errorf("cancelled context: got %v after %d calls", err, calls)
	}
}

func BenchmarkReadCSV(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("event_id,page_name,event_timestamp,booking_details,uuid\n")
	const n = 100_000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "evt-%010d,product,%d,\"{\"\"room\"\":%d}\",%08d-0000-4000-8000-%012d\n", i, 1700000000000+i*100, i%7, i%5000, i%5000)
	}
	input := sb.String()
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		err := readCSV(context.Background(), strings.NewReader(input), event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The memory guard counts from the end of the last record, so many records
// near the limit are fine.
func TestReadCSVLimitIsPerRecord(t *testing.T) {
	big := strings.Repeat("p", 60_000)
	input := "uuid,event_id,event_timestamp,page_name\n" + strings.Repeat("u,e,1,\""+big+"\n\"\n", 5)
	n := 0
	err := readCSVLimit(context.Background(), strings.NewReader(input), event.Schema{}, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
		n++
		if f == nil || len(f.PageName) != len(big)+1 || line != int64(2*n) {
			return fmt.Errorf("row %d at line %d: unexpected", n, line)
		}
		return nil
	}, 100_000)
	if err != nil || n != 5 {
		t.Fatalf("got %d rows, err %v", n, err)
	}
}

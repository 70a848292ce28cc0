package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sessionize/sessionize/internal/event"
)

func TestReadParquetTimestampTypes(t *testing.T) {
	type want struct {
		ms   int64
		ok   bool
		json string // event_timestamp as it appears in raw
	}
	dictStr := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	cases := []struct {
		name   string
		tsType arrow.DataType
		ts     []string // "null" writes a null
		want   []want
	}{
		{"int64", arrow.PrimitiveTypes.Int64,
			[]string{"1700000000000", "0", "-5", "null"},
			[]want{{1700000000000, true, "1700000000000"}, {0, true, "0"}, {0, false, "-5"}, {0, false, "null"}}},
		{"int32", arrow.PrimitiveTypes.Int32,
			[]string{"2000000000", "-1"},
			[]want{{2000000000, true, "2000000000"}, {0, false, "-1"}}},
		{"uint64", arrow.PrimitiveTypes.Uint64,
			[]string{"1700000000000", "18446744073709551615"},
			[]want{{1700000000000, true, "1700000000000"}, {0, false, "18446744073709551615"}}},
		{"timestamp ms", arrow.FixedWidthTypes.Timestamp_ms,
			[]string{"1700000000123"},
			[]want{{1700000000123, true, "1700000000123"}}},
		// Parquet has no seconds unit: the writer stores them as ms.
		{"timestamp s", arrow.FixedWidthTypes.Timestamp_s,
			[]string{"1700000000"},
			[]want{{1700000000000, true, "1700000000000"}}},
		{"timestamp us", arrow.FixedWidthTypes.Timestamp_us,
			[]string{"1700000000123999"},
			[]want{{1700000000123, true, "1700000000123999"}}},
		{"timestamp ns", arrow.FixedWidthTypes.Timestamp_ns,
			[]string{"1700000000123999999", "-1"},
			[]want{{1700000000123, true, "1700000000123999999"}, {0, false, "-1"}}},
		{"string", arrow.BinaryTypes.String,
			[]string{"1700000000000", "1.7e12", " 17", "", "-5", "null"},
			[]want{{1700000000000, true, `"1700000000000"`}, {0, false, `"1.7e12"`}, {0, false, `" 17"`},
				{0, false, `""`}, {0, false, `"-5"`}, {0, false, "null"}}},
		{"large string", arrow.BinaryTypes.LargeString,
			[]string{"42"}, []want{{42, true, `"42"`}}},
		{"binary", arrow.BinaryTypes.Binary,
			[]string{"42", "x"}, []want{{42, true, `"42"`}, {0, false, `"x"`}}},
		{"dictionary string", dictStr,
			[]string{"42", "42", "x"}, []want{{42, true, `"42"`}, {42, true, `"42"`}, {0, false, `"x"`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([]testEventRow, len(tc.ts))
			for i, ts := range tc.ts {
				rows[i] = testEventRow{UUID: "u", EventID: fmt.Sprint("e", i), PageName: "p", TS: ts}
				if ts == "null" {
					rows[i].Nulls = []string{"event_timestamp"}
				}
			}
			path := filepath.Join(t.TempDir(), "in.parquet")
			if err := writeParquetEventsSchema(path, testEventSchema(tc.tsType), rows, 0); err != nil {
				t.Fatal(err)
			}
			got, err := collectParquet(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rows, want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Fields.TimestampMs != w.ms || g.TSOK != w.ok {
					t.Errorf("row %d: ts = %d, %v; want %d, %v", i, g.Fields.TimestampMs, g.TSOK, w.ms, w.ok)
				}
				wantRaw := fmt.Sprintf(`{"uuid":"u","event_id":"e%d","page_name":"p","event_timestamp":%s}`, i, w.json)
				if g.Raw != wantRaw {
					t.Errorf("row %d: raw = %s, want %s", i, g.Raw, wantRaw)
				}
				if g.Line != int64(i+1) {
					t.Errorf("row %d: line = %d", i, g.Line)
				}
			}
		})
	}
}

func TestReadParquetNullsAndEscaping(t *testing.T) {
	rows := []testEventRow{
		{UUID: "u1", EventID: "e1", PageName: "home", TS: "1", Nulls: []string{"uuid"}},
		{UUID: "u2", EventID: "e2", PageName: "x", TS: "2", Nulls: []string{"page_name", "event_id"}},
		{UUID: `q"u` + "\n", EventID: "e3", PageName: "caf\xe9", TS: "3"},
	}
	path := filepath.Join(t.TempDir(), "in.parquet")
	if err := writeParquetEvents(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := collectParquet(path)
	if err != nil {
		t.Fatal(err)
	}
	wantRaw := []string{
		`{"uuid":null,"event_id":"e1","page_name":"home","event_timestamp":1}`,
		`{"uuid":"u2","event_id":null,"page_name":null,"event_timestamp":2}`,
		`{"uuid":"q\"u\n","event_id":"e3","page_name":"caf\ufffd","event_timestamp":3}`,
	}
	if len(got) != len(wantRaw) {
		t.Fatalf("got %d rows, want %d", len(got), len(wantRaw))
	}
	for i, g := range got {
		if g.Raw != wantRaw[i] {
			t.Errorf("row %d: raw = %s, want %s", i, g.Raw, wantRaw[i])
		}
		if !json.Valid([]byte(g.Raw)) {
			t.Errorf("row %d: raw is not valid JSON", i)
		}
	}
	if r := got[0].Reason; r != event.MissingUser {
		t.Errorf("null uuid: reason %v, want missing_user", r)
	}
	if r := got[1].Reason; r != event.MissingEventID {
		t.Errorf("null event_id: reason %v, want missing_event_id", r)
	}
	if string(got[2].Fields.UUID) != "q\"u\n" || string(got[2].Fields.PageName) != "caf\xe9" {
		t.Errorf("fields not passed through as stored: %q %q", got[2].Fields.UUID, got[2].Fields.PageName)
	}
}

func TestReadParquetColumns(t *testing.T) {
	str := arrow.BinaryTypes.String
	cases := []struct {
		name    string
		fields  []arrow.Field
		rows    []testEventRow
		wantErr []string // substrings; none means success
	}{
		{"missing uuid and event_timestamp",
			[]arrow.Field{{Name: "event_id", Type: str}, {Name: "page_name", Type: str}},
			[]testEventRow{{EventID: "e"}},
			[]string{"missing required column(s) uuid, event_timestamp", "found: event_id, page_name"}},
		{"uuid a float",
			[]arrow.Field{{Name: "uuid", Type: arrow.PrimitiveTypes.Float64}, {Name: "event_id", Type: str}, {Name: "event_timestamp", Type: str}},
			nil,
			[]string{"column uuid has type float64, want string, binary or integer"}},
		{"timestamp a float", // no rows: the helper cannot fill floats, the schema is what matters
			[]arrow.Field{{Name: "uuid", Type: str}, {Name: "event_id", Type: str}, {Name: "event_timestamp", Type: arrow.PrimitiveTypes.Float64}},
			nil,
			[]string{"column event_timestamp has type float64"}},
		{"no page_name is fine",
			[]arrow.Field{{Name: "uuid", Type: str}, {Name: "event_id", Type: str}, {Name: "event_timestamp", Type: str}},
			[]testEventRow{{UUID: "u", EventID: "e", TS: "7"}},
			nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.parquet")
			if err := writeParquetEventsSchema(path, arrow.NewSchema(tc.fields, nil), tc.rows, 0); err != nil {
				t.Fatal(err)
			}
			got, err := collectParquet(path)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Fields.PageName != nil || got[0].Raw != `{"uuid":"u","event_id":"e","event_timestamp":"7"}` {
					t.Fatalf("got %+v", got)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// Row numbers and values must stay aligned across row groups and record
// batches, whose boundaries do not coincide here.
func TestReadParquetManyRowGroups(t *testing.T) {
	const n = 150_000
	rows := make([]testEventRow, n)
	for i := range rows {
		rows[i] = testEventRow{UUID: fmt.Sprint("u", i%97), EventID: fmt.Sprint("e", i), PageName: fmt.Sprint("p", i%7), TS: fmt.Sprint(1000 + i)}
	}
	path := filepath.Join(t.TempDir(), "in.parquet")
	if err := writeParquetEventsSchema(path, testEventSchema(arrow.PrimitiveTypes.Int64), rows, 50_000); err != nil {
		t.Fatal(err)
	}
	var i int64
	err := readParquet(context.Background(), path, event.Schema{Format: event.MustTimeFormat("ms", "")}, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
		r := rows[i]
		i++
		if line != i || string(f.UUID) != r.UUID || string(f.EventID) != r.EventID ||
			string(f.PageName) != r.PageName || fmt.Sprint(f.TimestampMs) != r.TS || reason != event.OK {
			return fmt.Errorf("line %d: got %q %q %q %d %v", line, f.UUID, f.EventID, f.PageName, f.TimestampMs, reason)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("visited %d rows, want %d", i, n)
	}
}

func TestReadParquetEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.parquet")
	if err := writeParquetEvents(path, nil); err != nil {
		t.Fatal(err)
	}
	got, err := collectParquet(path)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d rows, err %v", len(got), err)
	}
}

func TestReadParquetStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.parquet")
	if err := writeParquetEvents(path, []testEventRow{{UUID: "u", EventID: "e", TS: "1"}, {UUID: "u", EventID: "f", TS: "2"}}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err := readParquet(context.Background(), path, event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("visitor error: got %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = readParquet(ctx, path, event.Schema{}, func([]byte, *event.Fields, event.Reason, int64) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}

	err = readParquet(context.Background(), filepath.Join(t.TempDir(), "none.parquet"), event.Schema{}, nil)
	if err == nil || !strings.Contains(err.Error(), "none.parquet") {
		t.Errorf("missing file: got %v", err)
	}
}

func BenchmarkReadParquet(b *testing.B) {
	const n = 200_000
	rows := make([]testEventRow, n)
	for i := range rows {
		rows[i] = testEventRow{
			UUID:     fmt.Sprintf("%08d-0000-4000-8000-%012d", i%5000, i%5000),
			EventID:  fmt.Sprintf("evt-%010d", i),
			PageName: []string{"home", "search", "product", "checkout"}[i%4],
			TS:       fmt.Sprint(1700000000000 + int64(i)*100),
		}
	}
	path := filepath.Join(b.TempDir(), "in.parquet")
	if err := writeParquetEventsSchema(path, testEventSchema(arrow.PrimitiveTypes.Int64), rows, 100_000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var sum int64
		err := readParquet(context.Background(), path, event.Schema{}, func(raw []byte, f *event.Fields, reason event.Reason, line int64) error {
			sum += int64(len(raw)) + f.TimestampMs
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "rows/op")
}

package batch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/sessionize/sessionize/internal/session"
)

func testSessions(n int) []session.Session {
	out := make([]session.Session, n)
	for i := range out {
		start := int64(1700000000000 + i*1000)
		s := session.Session{
			UUID:       fmt.Sprintf("user-%d", i%13),
			StartMs:    start,
			EndMs:      start + int64(i%5000)*7,
			EventCount: int64(1 + i%9),
			EndReason:  session.EndReason(i % 3),
		}
		for j := 0; j < i%4; j++ { // includes sessions with no pages
			s.Pages = append(s.Pages, fmt.Sprintf("page-%d", (i+j)%11))
		}
		if len(s.Pages) > 0 {
			s.EntryPage, s.ExitPage = s.Pages[0], s.Pages[len(s.Pages)-1]
		}
		s.PagesTruncated = i%10 == 3
		out[i] = s
	}
	if n > 0 {
		out[0].UUID = "ünïcode \"quoted\"\n"
	}
	return out
}

func writeTestSessions(t testing.TB, path string, in []session.Session) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := newParquetSessionWriter(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if err := sw.Write(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close must leave the file open: the caller owns it.
	if _, err := f.Write(nil); err != nil {
		t.Fatalf("the writer closed the underlying file: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquetSessionWriterRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one", 1},
		{"several row groups", 2*parquetSessionBatch + 17},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := testSessions(tc.n)
			path := filepath.Join(t.TempDir(), "out.parquet")
			writeTestSessions(t, path, in)
			got, ids, err := readParquetSessions(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(in) {
				t.Fatalf("read %d sessions, wrote %d", len(got), len(in))
			}
			for i := range in {
				if !reflect.DeepEqual(got[i], in[i]) {
					t.Fatalf("session %d:\n got %+v\nwant %+v", i, got[i], in[i])
				}
				if ids[i] != in[i].ID() {
					t.Fatalf("session %d: id %s, want %s", i, ids[i], in[i].ID())
				}
			}
		})
	}
}

// Pages are copied on Write: the engine reuses the slice afterwards.
func TestParquetSessionWriterCopiesPages(t *testing.T) {
	var buf bytes.Buffer
	sw, err := newParquetSessionWriter(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"a", "b"}
	s := session.Session{UUID: "u", Pages: pages, EntryPage: "a", ExitPage: "b", EventCount: 2}
	if err := sw.Write(&s); err != nil {
		t.Fatal(err)
	}
	pages[0], pages[1] = "x", "y"
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := readParquetSessions(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0].Pages, []string{"a", "b"}) {
		t.Fatalf("got %+v", got)
	}
}

func TestParquetSessionWriterFileLayout(t *testing.T) {
	in := testSessions(parquetSessionBatch + 1)
	path := filepath.Join(t.TempDir(), "out.parquet")
	writeTestSessions(t, path, in)

	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	md := pf.MetaData()
	if md.NumRows != int64(len(in)) || md.NumRowGroups() != 2 {
		t.Errorf("%d rows in %d row groups, want %d in 2", md.NumRows, md.NumRowGroups(), len(in))
	}
	wantCols := []string{"session_id", "uuid", "session_start_time_ms", "session_end_time_ms",
		"session_duration_seconds", "event_count", "pages_visited.list.element", "pages_truncated",
		"entry_page", "exit_page", "end_reason"}
	if md.Schema.NumColumns() != len(wantCols) {
		t.Fatalf("%d columns, want %d", md.Schema.NumColumns(), len(wantCols))
	}
	for i, name := range wantCols {
		col := md.Schema.Column(i)
		if col.Path() != name {
			t.Errorf("column %d is %s, want %s", i, col.Path(), name)
		}
		// Nothing may be null: flat columns are required, and the list's
		// only definition level is the one of its repetition.
		wantDef := int16(0)
		if name == "pages_visited.list.element" {
			wantDef = 1
		}
		if col.MaxDefinitionLevel() != wantDef {
			t.Errorf("column %s: max definition level %d, want %d", name, col.MaxDefinitionLevel(), wantDef)
		}
	}
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		for c := 0; c < md.Schema.NumColumns(); c++ {
			cc, err := md.RowGroup(rg).ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("row group %d column %s: compression %v, want zstd", rg, wantCols[c], cc.Compression())
			}
		}
	}
}

func BenchmarkParquetSessionWriter(b *testing.B) {
	in := testSessions(100_000)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		sw, err := newParquetSessionWriter(&buf, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := range in {
			if err := sw.Write(&in[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := sw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)), "sessions/op")
}

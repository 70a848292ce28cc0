package batch

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// TestRulesOnParquetColumnsEqualJSON: rules and attributes read Parquet
// columns the event schema does not name (a double, a boolean, both with
// nulls) and the page column, and give the sessions the same events give
// as JSON lines. Before, they saw only the schema's columns and silently
// never matched the others.
func TestRulesOnParquetColumnsEqualJSON(t *testing.T) {
	dir := t.TempDir()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "uuid", Type: arrow.BinaryTypes.String},
		{Name: "event_id", Type: arrow.BinaryTypes.String},
		{Name: "event_timestamp", Type: arrow.PrimitiveTypes.Int64},
		{Name: "page_name", Type: arrow.BinaryTypes.String},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "paid", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer rb.Release()
	var lines []string
	for i := range 60 {
		user, ts, page := fmt.Sprintf("u%d", i%3), 1_700_000_000_000+int64(i)*60_000, fmt.Sprintf("p%d", i%4)
		rb.Field(0).(*array.StringBuilder).Append(user)
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("e%d", i))
		rb.Field(2).(*array.Int64Builder).Append(ts)
		rb.Field(3).(*array.StringBuilder).Append(page)
		line := fmt.Sprintf(`{"uuid":%q,"event_id":"e%d","event_timestamp":%d,"page_name":%q`, user, i, ts, page)
		if i%5 == 0 {
			rb.Field(4).AppendNull()
			line += `,"price":null`
		} else {
			rb.Field(4).(*array.Float64Builder).Append(float64(i) + 0.25)
			line += fmt.Sprintf(`,"price":%v`, float64(i)+0.25)
		}
		if i%7 == 3 {
			rb.Field(5).(*array.BooleanBuilder).Append(true)
			line += `,"paid":true`
		} else if i%2 == 0 {
			rb.Field(5).(*array.BooleanBuilder).Append(false)
			line += `,"paid":false`
		} else {
			rb.Field(5).AppendNull()
		}
		lines = append(lines, line+"}")
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	pq := filepath.Join(dir, "in.parquet")
	f, err := os.Create(pq)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	jsonl := filepath.Join(dir, "in.jsonl")
	if err := os.WriteFile(jsonl, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	set, err := rule.Parse("", "paid = true", "revenue=sum(price)", "priced=count(price)", "last_page=last(page_name)")
	if err != nil {
		t.Fatal(err)
	}
	run := func(in string) []string {
		out := filepath.Join(dir, filepath.Base(in)+".out.jsonl")
		if _, err := Run(t.Context(), Config{Inputs: []string{in}, Output: out, RuleSet: set,
			Rules: set.Apply(session.DefaultRules()), Workers: 2}); err != nil {
			t.Fatal(err)
		}
		return sessionLines(t, out)
	}
	want, got := run(jsonl), run(pq)
	if !slices.Equal(got, want) {
		t.Fatalf("Parquet:\n%s\nJSON lines:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if joined := strings.Join(want, "\n"); !strings.Contains(joined, `"end_reason":"rule"`) || !strings.Contains(joined, `"priced":`) {
		t.Fatalf("the rules are not exercised:\n%s", joined)
	}
}

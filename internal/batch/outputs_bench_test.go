package batch

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessionize/sessionize/internal/gen"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// BenchmarkBatchOutputs: a whole batch run (read, parse, sessionize,
// write) over 300k generated events on two workers, by what the run
// writes: the default path (sessions as JSON lines), plus the tagged
// events (--output-events, JSON lines and Parquet), with boundary rules
// (--start-session-on and --end-session-on), and with five
// --session-attr columns. Compare the ratios of
// one run; the machine is shared.
func BenchmarkBatchOutputs(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	f, err := os.Create(in)
	if err != nil {
		b.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Events, cfg.NumUsers, cfg.Seed = 300_000, 5000, 1
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gen.Write(context.Background(), g, f, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
	boundaries, err := rule.Parse("page_name = home and exists event_details.event_name", "page_name in (logout, confirmation)")
	if err != nil {
		b.Fatal(err)
	}
	attrs, err := rule.Parse("", "", "converted=any(page_name = confirmation)", "revenue=sum(booking_details.price)",
		"product=first(booking_details.product)", "pages=count_distinct(page_name)", "last_event=last(event_details.event_name)")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		events string
		rules  *rule.Set
	}{
		{"default", "", nil},
		{"output-events=jsonl", "tagged.jsonl", nil},
		{"output-events=parquet", "tagged.parquet", nil},
		{"boundary-rules", "", boundaries},
		{"five-attributes", "", attrs},
	} {
		b.Run(c.name, func(b *testing.B) {
			var events int64
			for b.Loop() {
				run := Config{Inputs: []string{in}, Output: filepath.Join(dir, "sessions.jsonl"), Workers: 2,
					RuleSet: c.rules, Rules: c.rules.Apply(session.DefaultRules())}
				if c.events != "" {
					run.OutputEvents = filepath.Join(dir, c.events)
				}
				sum, err := Run(context.Background(), run)
				if err != nil {
					b.Fatal(err)
				}
				events = sum.RecordsRead
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

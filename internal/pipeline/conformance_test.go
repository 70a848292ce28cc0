package pipeline

import (
	"bytes"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/conformance"
	"github.com/sessionize/sessionize/internal/session"
)

// runCase produces case c's input to a one-partition broker (arrival
// order = line order) and runs the pipeline over it into a new local
// warehouse with c's session rules and lateness, changed by configure;
// it returns the input's lines, the warehouse and the config run.
func runCase(t *testing.T, c conformance.Case, configure func(*Config)) ([][]byte, string, Config) {
	t.Helper()
	input, err := os.ReadFile(c.Input())
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimRight(input, "\n"), []byte("\n"))
	broker := startBroker(t, 1)
	produceLines(t, broker, lines, make([][]byte, len(lines)))
	wh := t.TempDir()
	cfg := runConfig(t, broker, wh)
	cfg.Rules = session.Rules{InactivityMs: c.InactivityMs, MaxDurationMs: c.MaxDurationMs, MaxPages: session.DefaultMaxPages}
	cfg.AllowedLateness = time.Duration(c.AllowedLatenessMs) * time.Millisecond
	cfg.StopWhenIdle = 300 * time.Millisecond
	configure(&cfg)
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	return lines, wh, cfg
}

// TestConformanceStream runs the shared cases' stream view through a real
// broker (one partition, arrival order = line order) and the pipeline into
// Iceberg: late events as listed, rejected counts by reason, and sessions
// equal to batch's over the input without the late events.
func TestConformanceStream(t *testing.T) {
	for _, c := range conformance.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			lines, wh, cfg := runCase(t, c, func(cfg *Config) { cfg.Schema = c.MustSchema(t) })

			w := openWarehouse(t, wh)
			late, _ := w.ReadLate(t.Context())
			var lateIDs []string
			lateOffsets := map[int64]bool{}
			for _, l := range late {
				lateIDs = append(lateIDs, l.EventID)
				lateOffsets[l.Offset] = true
			}
			slices.Sort(lateIDs)
			wantLate := slices.Sorted(slices.Values(c.StreamLateIDs))
			if !slices.Equal(lateIDs, wantLate) {
				t.Fatalf("late %v, want %v", lateIDs, wantLate)
			}
			rej, _ := w.ReadRejected(t.Context())
			byReason := map[string]int64{}
			for _, r := range rej {
				byReason[r.Reason]++
			}
			if err := c.CheckRejected(byReason); err != nil {
				t.Fatal(err)
			}
			var onTime [][]byte
			for i, l := range lines {
				if !lateOffsets[int64(i)] {
					onTime = append(onTime, l)
				}
			}
			got, _ := tableLines(t, wh)
			want := batchLinesSchema(t, onTime, cfg.Rules, cfg.Schema)
			// end_reason may differ only where batch sees a later event
			// time than the stream (a late event carries the maximum);
			// the cases do not contain that, so compare everything.
			if !slices.Equal(got, want) {
				t.Fatalf("stream sessions differ from batch without late events: %s", firstDiff(got, want))
			}
		})
	}
}

package pipeline

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/kafka"
)

// TestUnkeyedRecordsWarnOfSplitSessions: records without a key spread a
// user's events over the partitions, and each partition sessionizes its
// own share, so every session of theirs is split. The run says so, naming
// a user and two partitions; records keyed by user give no such warning.
func TestUnkeyedRecordsWarnOfSplitSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	lines, keys := generated(t, 12_000, 100, 5)
	for _, tc := range []struct {
		name  string
		keyed bool
	}{{"keyed by user", true}, {"without keys", false}} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBroker(t, 3)
			pr, err := kafka.NewProducer(t.Context(), kafka.ProducerConfig{Servers: b.Addrs(), Topic: "clickstream"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range lines {
				var key []byte
				if tc.keyed {
					key = keys[i]
				}
				if err := pr.Send(t.Context(), key, lines[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := pr.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			cfg := runConfig(t, b, t.TempDir())
			var logs SyncBuffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			runToEnd(t, cfg, 60*time.Second)
			warned := strings.Contains(logs.String(), "so each partition sessionizes part of a user's events and their sessions are split")
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "has events in partitions") {
					t.Log(l)
					break
				}
			}
			switch {
			case tc.keyed && warned:
				t.Fatalf("keyed records, yet a warning of split users:\n%s", logs.String())
			case !tc.keyed && (!warned || !strings.Contains(logs.String(), "their records have no key") ||
				!strings.Contains(logs.String(), "the value of uuid")):
				t.Fatalf("no warning that users are split over partitions:\n%s", logs.String())
			case strings.Count(logs.String(), "has events in partitions") > 1:
				// Said again at every commit, the user changing with a
				// map's order, before.
				t.Fatalf("the warning was said %d times, over %d commits", strings.Count(logs.String(), "has events in partitions"),
					strings.Count(logs.String(), "msg=commit"))
			}
		})
	}
}

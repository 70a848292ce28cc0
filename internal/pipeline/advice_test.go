package pipeline

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
)

// TestSparkTutorialTopic: records of another shape are all rejected under
// the default schema, and the run says why and what to give; with the
// schema flags' values the same records become the sessions batch makes.
func TestSparkTutorialTopic(t *testing.T) {
	lines := [][]byte{
		[]byte(`{"user_id": "u1", "event_time": "2023-11-14T22:13:20Z", "page": "home"}`),
		[]byte(`{"user_id": "u1", "event_time": "2023-11-14T22:20:00Z", "page": "cart"}`),
		[]byte(`{"user_id": 7, "event_time": "2023-11-14T23:00:00Z", "page": "home"}`),
	}
	broker := startBroker(t, 1)
	produceLines(t, broker, lines, make([][]byte, len(lines)))

	var logs lockedBuffer
	cfg := runConfig(t, broker, t.TempDir())
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if want := "no user field uuid; name yours with --user-field (a rejected record has the fields event_time, page, user_id)"; !strings.Contains(logs.String(), want) {
		t.Fatalf("logs lack %q:\n%s", want, logs.String())
	}
	if n := strings.Count(logs.String(), "most records were rejected"); n != 1 {
		t.Errorf("the advice was logged %d times, want once", n)
	}

	sch, err := event.NewSchema([]string{"user_id"}, "none", "event_time", "page", event.TimeFormat{})
	if err != nil {
		t.Fatal(err)
	}
	wh := t.TempDir()
	cfg = runConfig(t, broker, wh)
	cfg.Kafka.Group = "spark"
	cfg.Schema = sch
	if err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	got, _ := tableLines(t, wh)
	if want := batchLinesSchema(t, lines, cfg.Rules, sch); len(want) != 2 || !slices.Equal(got, want) {
		t.Fatalf("stream sessions %v, batch %v; want the same two", got, want)
	}
}

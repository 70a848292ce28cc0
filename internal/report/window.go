package report

import (
	"fmt"
	"time"
)

// ParseFrom parses --from: RFC 3339, or a date YYYY-MM-DD meaning its
// midnight UTC. Sessions starting at or after it are kept.
func ParseFrom(s string) (time.Time, error) { return parseBound(s, false) }

// ParseTo parses --to: RFC 3339, or a date YYYY-MM-DD meaning the end of
// that day UTC (so the day is included). Sessions starting before it are
// kept.
func ParseTo(s string) (time.Time, error) { return parseBound(s, true) }

func parseBound(s string, to bool) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if to {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("want RFC 3339 (2026-11-25T10:00:00Z) or a date (2026-11-25), got %q", s)
}

package check

import (
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/conformance"
)

// TestConformance: over every case, check's counts are the ones the case
// pins down: records, rejected by reason, duplicates, and the number of
// records it says are late at the case's allowed lateness is the number
// the stream sends to late_events.
func TestConformance(t *testing.T) {
	for _, c := range conformance.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			r := checkFiles(t, Options{AllowedLateness: time.Duration(c.AllowedLatenessMs) * time.Millisecond, AllowedLatenessSet: true,
				Schema: c.MustSchema(t)}, c.Input())
			if r.Records != c.InputRecords {
				t.Errorf("records %d, want %d", r.Records, c.InputRecords)
			}
			if err := c.CheckRejected(r.RejectedByReason); err != nil {
				t.Error(err)
			}
			if r.Duplicates != c.Duplicates {
				t.Errorf("duplicates %d, want %d", r.Duplicates, c.Duplicates)
			}
			if r.Late != int64(len(c.StreamLateIDs)) {
				t.Errorf("late at %dms: %d, want %d (%v)", c.AllowedLatenessMs, r.Late, len(c.StreamLateIDs), c.StreamLateIDs)
			}
		})
	}
}

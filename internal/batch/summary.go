package batch

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/iceberg"
)

// Summary accounts for every input record of a run.
type Summary struct {
	Inputs           []string         `json:"inputs"`
	BytesRead        int64            `json:"bytes_read"`
	RecordsRead      int64            `json:"records_read"`
	ResumedEvents    int64            `json:"resumed_events"`
	Sessions         int64            `json:"sessions"`
	Users            int64            `json:"users"`
	EventsInSessions int64            `json:"events_in_sessions"`
	Duplicates       int64            `json:"duplicates"`
	Rejected         int64            `json:"rejected"`
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	// Fields are the event schema the input was read with.
	Fields map[string]any `json:"fields"`
	// EventTimes counts implausible event times (event.TimeCheck).
	EventTimes event.TimeCheck `json:"event_times"`
	// Advice says what looks wrong with the input and the likely fix:
	// most records rejected, implausible event times (event.Advice).
	Advice []string `json:"advice,omitempty"`
	// TooManyRejected: more than Config.MaxRejectedRatio was rejected, so
	// no sessions were written.
	TooManyRejected bool `json:"too_many_rejected,omitempty"`
	// Late counts valid events of a --resume run older than the resumed
	// state's end (ResumedEndTimeMs) that could belong to a session the
	// previous run already wrote: they are not sessionized again (that
	// would write a second, overlapping session) but listed in --rejected
	// with reason "late".
	Late             int64   `json:"late"`
	ResumedEndTimeMs *int64  `json:"resumed_end_time_ms,omitempty"`
	CarriedSessions  int64   `json:"carried_sessions"`
	CarriedEvents    int64   `json:"carried_events"`
	EndTimeMs        int64   `json:"end_time_ms"`
	Partitions       int     `json:"partitions"`
	SpilledBytes     int64   `json:"spilled_bytes"`
	ElapsedSeconds   float64 `json:"elapsed_seconds"`
	// ReadSeconds is the part of ElapsedSeconds until the whole input was
	// read, parsed and routed to partitions; the rest folded them into
	// sessions and wrote them.
	ReadSeconds     float64 `json:"read_seconds"`
	EventsPerSecond float64 `json:"records_per_second"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	InvariantHolds  bool    `json:"invariant_holds"`
	// Table is what the run did to the sessions table (--output-table).
	Table *TableResult `json:"table,omitempty"`

	fields string // the schema, described for people
}

// checkInvariant verifies that nothing was lost: every record read (and
// every event resumed) is in a session, a duplicate, rejected, late, or
// carried.
func (s *Summary) checkInvariant() bool {
	in := s.RecordsRead + s.ResumedEvents
	out := s.EventsInSessions + s.Duplicates + s.Rejected + s.Late + s.CarriedEvents
	s.InvariantHolds = in == out
	return s.InvariantHolds
}

func (s *Summary) finish(elapsed time.Duration) {
	s.ElapsedSeconds = elapsed.Seconds()
	if s.ElapsedSeconds > 0 {
		s.EventsPerSecond = float64(s.RecordsRead) / s.ElapsedSeconds
	}
	s.PeakRSSBytes = peakRSS()
	s.checkInvariant()
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) {
	if t := s.Table; t != nil && t.AlreadyWritten {
		fmt.Fprintf(w, "%s\n", t.alreadyMessage())
		return
	}
	fmt.Fprintf(w, "records read        %d (%s from %d input(s))\n", s.RecordsRead, humanBytes(s.BytesRead), len(s.Inputs))
	if s.ResumedEvents > 0 {
		fmt.Fprintf(w, "resumed events      %d (open sessions of the previous run)\n", s.ResumedEvents)
	}
	fmt.Fprintf(w, "sessions            %d of %d users\n", s.Sessions, s.Users)
	fmt.Fprintf(w, "events in sessions  %d\n", s.EventsInSessions)
	fmt.Fprintf(w, "duplicates          %d\n", s.Duplicates)
	fmt.Fprintf(w, "rejected            %d%s\n", s.Rejected, formatReasons(s.RejectedByReason))
	if s.fields != "" {
		fmt.Fprintf(w, "fields              %s\n", s.fields)
	}
	for _, a := range s.Advice {
		fmt.Fprintf(w, "warning             %s\n", a)
	}
	if s.ResumedEndTimeMs != nil {
		fmt.Fprintf(w, "late                %d (older than %s, the end of the run whose state was resumed: they could belong to sessions it already wrote; in --rejected as \"late\")\n",
			s.Late, time.UnixMilli(*s.ResumedEndTimeMs).UTC().Format(time.RFC3339Nano))
	}
	if s.CarriedEvents > 0 || s.CarriedSessions > 0 {
		fmt.Fprintf(w, "carried open        %d sessions, %d events\n", s.CarriedSessions, s.CarriedEvents)
	}
	if s.SpilledBytes > 0 {
		fmt.Fprintf(w, "spilled to disk     %s in %d partitions\n", humanBytes(s.SpilledBytes), s.Partitions)
	}
	fmt.Fprintf(w, "elapsed             %.2fs (reading %.2fs, sessionizing and writing %.2fs), %.0f records/s, peak RSS %s\n",
		s.ElapsedSeconds, s.ReadSeconds, s.ElapsedSeconds-s.ReadSeconds, s.EventsPerSecond, humanBytes(s.PeakRSSBytes))
	verdict := "OK"
	if !s.InvariantHolds {
		verdict = "VIOLATED (this is a bug, please report it)"
	}
	carried := ""
	if s.CarriedEvents > 0 {
		carried = " + carried"
	}
	resumed := ""
	if s.ResumedEvents > 0 {
		resumed = " + resumed"
	}
	if t := s.Table; t != nil {
		replaced := ""
		if r := t.Replaced; r != nil {
			replaced = fmt.Sprintf(", replacing %d sessions (%d events) that started in %s", r.Sessions, r.Events,
				iceberg.StartRange{FromMs: r.FromMs, ToMs: r.ToMs})
		}
		fmt.Fprintf(w, "sessions table      %d sessions appended in snapshot %d%s (batch run %s)\n", t.Sessions, t.Snapshot, replaced, t.RunID)
	}
	late := ""
	if s.Late > 0 {
		late = " + late"
	}
	fmt.Fprintf(w, "nothing lost        records%s %d = in sessions + duplicates + rejected%s%s %d: %s\n",
		resumed, s.RecordsRead+s.ResumedEvents, late, carried,
		s.EventsInSessions+s.Duplicates+s.Rejected+s.Late+s.CarriedEvents, verdict)
}

// WriteJSON writes the summary as one indented JSON object.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

func formatReasons(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

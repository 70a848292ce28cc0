package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// WriteJSON writes r as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SourceLine describes the source in one line.
func (r *Report) SourceLine() string {
	s := r.Source
	switch s.Kind {
	case "warehouse":
		return fmt.Sprintf("Iceberg warehouse %s (namespace %s, %s catalog)", s.Location, deref(s.Namespace), deref(s.Catalog))
	case "file":
		line := fmt.Sprintf("sessions file %s (%s)", s.Location, deref(s.Format))
		if s.Summary != nil {
			line += ", batch summary " + *s.Summary
		}
		return line
	}
	return s.Location
}

// WindowLine describes the --from/--to window and the starts seen.
func (r *Report) WindowLine() string {
	var b strings.Builder
	switch {
	case r.Window.From == nil && r.Window.To == nil:
		b.WriteString("all sessions")
	default:
		fmt.Fprintf(&b, "sessions starting from %s to %s (UTC)", orText(r.Window.From, "the beginning"), orText(r.Window.To, "the end"))
	}
	if r.FirstSessionStart != nil {
		fmt.Fprintf(&b, "; first start %s, last start %s", *r.FirstSessionStart, *r.LastSessionStart)
	}
	return b.String()
}

// WriteText writes the report as aligned tables for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format, a...) }

	p("sessionize report\n")
	p("  source  %s\n", r.SourceLine())
	p("  window  %s\n", r.WindowLine())

	p("\nOverview\n")
	rows := [][]string{
		{"sessions", num(r.Sessions)},
		{"users", num(r.Users)},
		{"sessions per user (mean)", optFloat(r.SessionsPerUser.Mean, 2)},
		{"bounce rate", fmt.Sprintf("%s  (%s sessions with one event)", pct(r.Bounce.Rate), num(r.Bounce.Sessions))},
		{"pages_visited truncated", num(r.PagesTruncatedSessions) + " sessions"},
	}
	writeTable(ew, nil, rows, "ll")
	p("\n")
	writeTable(ew, []string{"", "mean", "median", "p95", "max"}, [][]string{
		{"session duration", optDur(r.DurationSeconds.Mean), optDur(r.DurationSeconds.Median), optDur(r.DurationSeconds.P95), optDur(r.DurationSeconds.Max)},
		{"events per session", optFloat(r.EventsPerSession.Mean, 2), optFloat(r.EventsPerSession.Median, 1), optFloat(r.EventsPerSession.P95, 0), optFloat(r.EventsPerSession.Max, 0)},
	}, "lrrrr")

	distTable := func(title, unit string, bs []Bucket) {
		p("\n%s\n", title)
		var maxC int64
		for _, b := range bs {
			maxC = max(maxC, b.Count)
		}
		rows := make([][]string, len(bs))
		for i, b := range bs {
			rows[i] = []string{b.Label, num(b.Count), pct(b.Share), bar(b.Count, maxC)}
		}
		writeTable(ew, []string{"", unit, "share", ""}, rows, "lrrl")
	}
	distTable("Sessions per user", "users", r.SessionsPerUser.Distribution)
	distTable("Session duration", "sessions", r.DurationSeconds.Distribution)
	distTable("Events per session", "sessions", r.EventsPerSession.Distribution)

	timeTable := func(title, col string, tcs []TimeCount, format func(string) string) {
		p("\n%s\n", title)
		if len(tcs) == 0 {
			p("  none\n")
			return
		}
		var maxC int64
		for _, t := range tcs {
			maxC = max(maxC, t.Sessions)
		}
		rows := make([][]string, len(tcs))
		for i, t := range tcs {
			rows[i] = []string{format(t.Time), num(t.Sessions), bar(t.Sessions, maxC)}
		}
		writeTable(ew, []string{col, "sessions", ""}, rows, "lrl")
	}
	timeTable("Sessions per day (UTC)", "day", r.SessionsPerDay, func(s string) string { return s })
	const maxHourRows = 48
	if len(r.SessionsPerHour) <= maxHourRows {
		timeTable("Sessions per hour (UTC, by start)", "hour", r.SessionsPerHour, func(s string) string {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return s
			}
			return t.Format("2006-01-02 15:00")
		})
	} else {
		busiest := slices.MaxFunc(r.SessionsPerHour, func(a, b TimeCount) int { return int(a.Sessions - b.Sessions) })
		p("\nSessions per hour (UTC)\n  %d hours with sessions; busiest %s with %s sessions (every hour is in --json and --html)\n",
			len(r.SessionsPerHour), busiest.Time, num(busiest.Sessions))
	}

	p("\nMost active session of each day (by event_count)\n")
	if len(r.MostActivePerDay) == 0 {
		p("  none\n")
	} else {
		rows := make([][]string, len(r.MostActivePerDay))
		for i, a := range r.MostActivePerDay {
			rows[i] = []string{a.Day, a.SessionID, a.UUID, a.SessionStart[11:19], num(a.EventCount), fmtDur(a.DurationSeconds), a.EntryPage + " → " + a.ExitPage, a.EndReason}
		}
		writeTable(ew, []string{"day", "session_id", "user", "start", "events", "duration", "entry → exit", "end"}, rows, "lllrrrll")
	}

	pages := func(title string, ncs []NameCount) {
		p("\n%s\n", title)
		if len(ncs) == 0 {
			p("  none\n")
			return
		}
		rows := make([][]string, len(ncs))
		for i, nc := range ncs {
			rows[i] = []string{strconv.Itoa(i + 1), nc.Name, num(nc.Sessions), pct(nc.Share)}
		}
		writeTable(ew, []string{"#", "page", "sessions", "share"}, rows, "rlrr")
	}
	pages("Top entry pages", r.TopEntryPages)
	pages("Top exit pages", r.TopExitPages)

	p("\nFunnel (steps in order within a session; other pages may come between)\n")
	rows = make([][]string, len(r.Funnel.Steps))
	for i, s := range r.Funnel.Steps {
		rows[i] = []string{strconv.Itoa(i+1) + ". " + s.Step, num(s.Sessions), pct(s.ShareOfSessions), pct(s.ConversionFromPrevious), bar(s.Sessions, r.Sessions)}
	}
	writeTable(ew, []string{"step", "sessions", "of all", "from previous", ""}, rows, "lrrrl")

	if len(r.Attributes) > 0 {
		p("\nSession attributes (share of sessions where any(...) held)\n")
		rows = make([][]string, len(r.Attributes))
		for i, a := range r.Attributes {
			rows[i] = []string{a.Name, num(a.Sessions), num(a.Of), pct(a.Rate)}
		}
		writeTable(ew, []string{"attribute", "sessions", "of", "rate"}, rows, "lrrr")
	}

	p("\nEnd reasons\n")
	if len(r.EndReasons) == 0 {
		p("  none\n")
	} else {
		rows = make([][]string, len(r.EndReasons))
		for i, nc := range r.EndReasons {
			rows[i] = []string{nc.Name, num(nc.Sessions), pct(nc.Share)}
		}
		writeTable(ew, []string{"reason", "sessions", "share"}, rows, "lrr")
	}

	q := r.Quality
	p("\nData quality (%s)\n", orText(q.Basis, "no account"))
	if !q.Available {
		p("  late and rejected rates: %s\n", q.Note)
	} else {
		rows = [][]string{
			{"records consumed", num(*q.Records), ""},
			{"duplicates", num(*q.Duplicates), pct(*q.DuplicateRate)},
		}
		if q.Late != nil {
			rows = append(rows, []string{"late", num(*q.Late), pct(*q.LateRate)})
		} else {
			rows = append(rows, []string{"late", "n/a", ""})
		}
		rows = append(rows, []string{"rejected", num(*q.Rejected), pct(*q.RejectedRate)})
		reasons := make([]string, 0, len(q.RejectedByReason))
		for k := range q.RejectedByReason {
			reasons = append(reasons, k)
		}
		slices.Sort(reasons)
		for _, k := range reasons {
			rows = append(rows, []string{"  " + k, num(q.RejectedByReason[k]), pct(ratio(q.RejectedByReason[k], *q.Records))})
		}
		writeTable(ew, []string{"", "records", "rate"}, rows, "lrr")
		holds := "adds up"
		if q.AccountHolds != nil && !*q.AccountHolds {
			holds = "DOES NOT add up"
		}
		p("  account %s; %s\n", holds, q.Note)
	}
	return ew.err
}

// writeTable writes rows aligned in columns; align has 'l' or 'r' per
// column. tabwriter only pads on the right, so right alignment is done here.
func writeTable(w io.Writer, header []string, rows [][]string, align string) {
	all := rows
	if header != nil {
		all = append([][]string{header}, rows...)
	}
	ncol := 0
	for _, row := range all {
		ncol = max(ncol, len(row))
	}
	width := make([]int, ncol)
	for _, row := range all {
		for i, c := range row {
			width[i] = max(width[i], runeLen(c))
		}
	}
	var b strings.Builder
	for _, row := range all {
		b.Reset()
		b.WriteString("  ")
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-runeLen(c))
			if i < len(align) && align[i] == 'r' {
				b.WriteString(pad + c)
			} else if i == len(row)-1 {
				b.WriteString(c)
			} else {
				b.WriteString(c + pad)
			}
			if i < len(row)-1 {
				b.WriteString("  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func runeLen(s string) int { return len([]rune(s)) }

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func deref(s *string) string { return orText(s, "") }

func orText(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// num formats n with thousands separators.
func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pct formats a share as a percentage with one decimal, or two
// significant digits below 1% (so 10 in 300,000 is 0.0033%, not 0.0%).
func pct(f float64) string {
	v := f * 100
	if v == 0 || math.IsNaN(v) {
		return "0%"
	}
	dec := 1
	if a := math.Abs(v); a < 1 {
		dec = min(1-int(math.Floor(math.Log10(a))), 8)
	}
	return strconv.FormatFloat(v, 'f', dec, 64) + "%"
}

func optFloat(f *float64, prec int) string {
	if f == nil {
		return "–"
	}
	return strconv.FormatFloat(*f, 'f', prec, 64)
}

func optDur(f *float64) string {
	if f == nil {
		return "–"
	}
	return fmtDur(*f)
}

// fmtDur formats seconds for people: 0s, 42.5s, 5m12s, 2h00m.
func fmtDur(sec float64) string {
	switch {
	case sec < 60:
		return strconv.FormatFloat(math.Round(sec*10)/10, 'f', -1, 64) + "s"
	case sec < 3600:
		s := int(math.Round(sec))
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		m := int(math.Round(sec / 60))
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	}
}

// bar is a bar of up to 30 blocks, count over maxC.
func bar(count, maxC int64) string {
	if count <= 0 || maxC <= 0 {
		return ""
	}
	n := int(math.Round(30 * float64(count) / float64(maxC)))
	return strings.Repeat("█", max(n, 1))
}

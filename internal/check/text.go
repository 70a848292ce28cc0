package check

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxTextPartitions bounds the rows of the per-partition table in the
// text report; --json has them all.
const maxTextPartitions = 30

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	unit, units := "file", "files"
	if r.Source.Kind == "kafka" {
		unit, units = "partition", "partitions"
	}
	what := fmt.Sprintf("%d %s", len(r.Partitions), units)
	if len(r.Partitions) == 1 {
		what = "1 " + unit
	}
	if r.Source.Kind == "kafka" {
		what = fmt.Sprintf("topic %s, %s", r.Source.Topic, what)
		if r.Source.LastPerPartition > 0 {
			what += fmt.Sprintf(" (last %s offsets of each)", groupDigits(r.Source.LastPerPartition))
		}
	}
	fmt.Fprintf(bw, "sessionize check: %s, %s records in %s (%s records/s)\n\n",
		what, groupDigits(r.Records), fmtElapsed(r.ElapsedSeconds), humanRate(r.RecordsPerSecond))

	// Totals.
	t := table{align: "lrrl"}
	t.add("records", groupDigits(r.Records), "", "")
	t.add("  valid", groupDigits(r.Valid), fmtPct(r.pct(r.Valid)), "")
	t.add("  rejected", groupDigits(r.Rejected), fmtPct(r.RejectedPct), "")
	reasons := make([]string, 0, len(r.RejectedByReason))
	for k := range r.RejectedByReason {
		reasons = append(reasons, k)
	}
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(r.RejectedByReason[b], r.RejectedByReason[a]), cmp.Compare(a, b))
	})
	for _, k := range reasons {
		t.add("    "+k, groupDigits(r.RejectedByReason[k]), fmtPct(r.pct(r.RejectedByReason[k])), "")
	}
	t.add("duplicates", groupDigits(r.Duplicates), fmtPct(r.DuplicatesPct), "same user and event id as an earlier record (64-bit hashes)")
	t.add("out of order", groupDigits(r.OutOfOrder), fmtPct(r.OutOfOrderPct), "event time below the newest seen before it in its "+unit)
	t.add(fmt.Sprintf("late at %s", r.AllowedLateness), groupDigits(r.Late), fmtPct(r.LatePct), "more than --allowed-lateness behind the newest: run sends these to late_events")
	t.add("users", groupDigits(r.Users), "", "distinct uuids (64-bit hashes)")
	if n := r.UsersOnSeveralPartitions; n != nil {
		t.add("  on several partitions", groupDigits(*n), "", "events in more than one partition: run splits their sessions (0: records keyed by user)")
	}
	t.write(bw)
	if r.Users > 0 {
		e := r.EventsPerUser
		fmt.Fprintf(bw, "events per user  mean %.1f, p50 %s, p99 %s, max %s (duplicates not counted)\n",
			e.Mean, groupDigits(e.P50), groupDigits(e.P99), groupDigits(e.Max))
	}
	if et := r.EventTime; et != nil {
		fmt.Fprintf(bw, "event time       %s .. %s (%s)\n", et.Min, et.Max, fmtLateMs(et.MaxMs-et.MinMs))
	}
	if r.fields != "" {
		fmt.Fprintf(bw, "fields           %s\n", r.fields)
	}
	for _, adv := range r.Advice {
		fmt.Fprintf(bw, "warning          %s\n", adv)
	}

	// Late counts by allowed lateness.
	fmt.Fprintf(bw, "\nLate records by allowed lateness (late: strictly more than it behind the newest event time seen in its %s)\n", unit)
	t = table{align: "lrrl"}
	t.add("  allowed lateness", "late", "", "")
	for _, l := range r.LateBy {
		mark := ""
		if l.Selected {
			mark = "<- --allowed-lateness"
		}
		t.add("  "+l.AllowedLateness, groupDigits(l.Late), fmtPct(l.LatePct), mark)
	}
	t.write(bw)

	// Per source.
	fmt.Fprintf(bw, "\nLateness by %s (newest event time seen so far - event time, over out-of-order records)\n", unit)
	rows := slices.Clone(r.Partitions)
	more := 0
	if len(rows) > maxTextPartitions {
		slices.SortStableFunc(rows, func(a, b PartitionStats) int {
			return cmp.Or(cmp.Compare(b.Late, a.Late), cmp.Compare(b.OutOfOrder, a.OutOfOrder))
		})
		more = len(rows) - maxTextPartitions
		rows = rows[:maxTextPartitions]
	}
	t = table{align: "lrrrrrrr"}
	t.add("  "+unit, "records", "out of order", "", "p50", "p99", "max", "late at "+r.AllowedLateness)
	for _, p := range rows {
		name := p.Name
		if p.Partition != nil {
			name = strconv.Itoa(int(*p.Partition))
		}
		t.add("  "+name, groupDigits(p.Records), groupDigits(p.OutOfOrder), fmtPct(p.OutOfOrderPct),
			fmtLateness(p.Lateness, p.Lateness.P50Ms), fmtLateness(p.Lateness, p.Lateness.P99Ms), fmtLateness(p.Lateness, p.Lateness.MaxMs),
			groupDigits(p.Late))
	}
	if len(r.Partitions) > 1 {
		t.add("  all", groupDigits(r.Records), groupDigits(r.OutOfOrder), fmtPct(r.OutOfOrderPct),
			fmtLateness(r.Lateness, r.Lateness.P50Ms), fmtLateness(r.Lateness, r.Lateness.P99Ms), fmtLateness(r.Lateness, r.Lateness.MaxMs),
			groupDigits(r.Late))
	}
	t.write(bw)
	if more > 0 {
		fmt.Fprintf(bw, "  (%d more %s with fewer late records; --json lists them all)\n", more, units)
	}

	if r.FailOn != nil {
		fmt.Fprintf(bw, "\nfail-on\n")
		t = table{align: "lrrl"}
		for _, c := range r.FailOn.Conditions {
			v := "ok"
			if c.Held {
				v = "HELD"
			}
			t.add("  "+c.Condition, groupDigits(c.Count), fmtPct(c.Percent), v)
		}
		t.write(bw)
	}

	fmt.Fprintf(bw, "\nPercents are of the records read (in a %s row, of its records). Duplicates and users are\n", unit)
	fmt.Fprintf(bw, "counted by 64-bit hashes: a collision is about as likely as n^2/2^65 for n events.\n")
	if r.Lateness.Method == LatenessHistogram {
		fmt.Fprintf(bw, "Lateness p50 and p99 come from a log-linear histogram (within 0.8%%) where a row has more\n")
		fmt.Fprintf(bw, "than %s out-of-order records, else they are exact; max is exact.\n", groupDigits(exactCap))
	}
	return bw.Flush()
}

// table lays out columns: align has 'l' or 'r' per column.
type table struct {
	align string
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	var width []int
	for _, row := range t.rows {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range t.rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < len(t.align) && t.align[i] == 'r' {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
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

func fmtPct(p float64) string {
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// fmtDuration is a compact time.Duration: 10m, 1h, 1m30s, 500ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtLateMs is a lateness for reading: 850ms, 2.4s, 4m12s, 1h02m, 3d04h.
func fmtLateMs(ms int64) string {
	switch {
	case ms < 1000:
		return fmt.Sprintf("%dms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1fs", float64(ms)/1000)
	case ms < 3_600_000:
		return fmt.Sprintf("%dm%02ds", ms/60_000, ms%60_000/1000)
	case ms < 86_400_000:
		return fmt.Sprintf("%dh%02dm", ms/3_600_000, ms%3_600_000/60_000)
	}
	return fmt.Sprintf("%dd%02dh", ms/86_400_000, ms%86_400_000/3_600_000)
}

func fmtLateness(l Lateness, ms int64) string {
	if l.Count == 0 {
		return "-"
	}
	return fmtLateMs(ms)
}

func fmtElapsed(sec float64) string {
	if sec < 1 {
		return fmt.Sprintf("%.0fms", sec*1000)
	}
	return fmt.Sprintf("%.2fs", sec)
}

package report

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

// SchemaVersion is the version of the JSON shape; it changes only when a
// field is renamed or removed.
const SchemaVersion = 1

// Session is one row of the sessions table or a sessions file.
type Session = iceberg.SessionRow

// FunnelSteps are the pages of the travel funnel, in order.
var FunnelSteps = []string{"home", "search", "results", "details", "booking", "confirmation"}

// FunnelDefinition is the funnel rule, also written into the JSON.
const FunnelDefinition = "a session reaches step k when its pages_visited contains steps 1..k in order as a subsequence (other pages may come between); share_of_sessions = reached(k) / sessions; conversion_from_previous = reached(k) / reached(k-1)"

// Bucket edges: a bucket counts values v with Min <= v < Max; the last
// bucket has no upper bound.
var (
	// DurationBuckets are in seconds.
	DurationBuckets = []BucketDef{
		{"< 10s", 0, 10}, {"10s–1m", 10, 60}, {"1–5m", 60, 300}, {"5–15m", 300, 900},
		{"15–30m", 900, 1800}, {"30–60m", 1800, 3600}, {"1–2h", 3600, 7200}, {"≥ 2h", 7200, math.Inf(1)},
	}
	// EventBuckets are events per session.
	EventBuckets = []BucketDef{
		{"1", 1, 2}, {"2", 2, 3}, {"3–5", 3, 6}, {"6–10", 6, 11}, {"11–20", 11, 21},
		{"21–50", 21, 51}, {"51–100", 51, 101}, {"> 100", 101, math.Inf(1)},
	}
	// UserBuckets are sessions per user.
	UserBuckets = []BucketDef{
		{"1", 1, 2}, {"2", 2, 3}, {"3", 3, 4}, {"4–5", 4, 6}, {"6–10", 6, 11}, {"> 10", 11, math.Inf(1)},
	}
)

// BucketDef is one distribution bucket: Min <= v < Max.
type BucketDef struct {
	Label    string
	Min, Max float64
}

// Report holds every figure. The JSON field names are stable.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Source        Source `json:"source"`
	Window        Window `json:"window"`
	// FirstSessionStart and LastSessionStart are the earliest and latest
	// session start in the window (RFC 3339, UTC); null when empty.
	FirstSessionStart *string `json:"first_session_start"`
	LastSessionStart  *string `json:"last_session_start"`

	Sessions               int64           `json:"sessions"`
	Users                  int64           `json:"users"`
	SessionsPerUser        SessionsPerUser `json:"sessions_per_user"`
	DurationSeconds        Stats           `json:"duration_seconds"`
	EventsPerSession       Stats           `json:"events_per_session"`
	Bounce                 Bounce          `json:"bounce"`
	PagesTruncatedSessions int64           `json:"pages_truncated_sessions"`

	SessionsPerDay   []TimeCount     `json:"sessions_per_day"`
	SessionsPerHour  []TimeCount     `json:"sessions_per_hour"`
	MostActivePerDay []ActiveSession `json:"most_active_session_per_day"`
	TopEntryPages    []NameCount     `json:"top_entry_pages"`
	TopExitPages     []NameCount     `json:"top_exit_pages"`
	Funnel           Funnel          `json:"funnel"`
	// Attributes are the rates of the sessions' boolean attributes
	// (--session-attr NAME=any(...)): a conversion rate for each.
	Attributes []AttributeRate `json:"attributes"`
	EndReasons []NameCount     `json:"end_reasons"`
	Quality    Quality         `json:"quality"`

	// Every duration and event count, kept for the HTML histograms.
	durations, events valueCounts
}

// Source says where the sessions came from.
type Source struct {
	Kind      string  `json:"kind"` // "warehouse" or "file"
	Location  string  `json:"location"`
	Namespace *string `json:"namespace"` // warehouse only
	Catalog   *string `json:"catalog"`   // warehouse only: "sqlite", "postgres" or "rest"
	Format    *string `json:"format"`    // file only: "jsonl", "jsonl.gz" or "parquet"
	Summary   *string `json:"summary"`   // file only: the --summary file, if given
}

// Window is the --from/--to filter on session start; null means open.
type Window struct {
	From *string `json:"from"` // inclusive, RFC 3339
	To   *string `json:"to"`   // exclusive, RFC 3339
}

// SessionsPerUser is the mean and the distribution of users by sessions.
type SessionsPerUser struct {
	Mean         *float64 `json:"mean"`
	Distribution []Bucket `json:"distribution"` // counts users
}

// Stats summarises one numeric field of the sessions.
type Stats struct {
	Mean         *float64 `json:"mean"`
	Median       *float64 `json:"median"`
	P95          *float64 `json:"p95"`
	Min          *float64 `json:"min"`
	Max          *float64 `json:"max"`
	Distribution []Bucket `json:"distribution"` // counts sessions
}

// Bucket is one bar of a distribution: Count values v with Min <= v < Max
// (Max null: unbounded). Share is Count over the total.
type Bucket struct {
	Label string   `json:"label"`
	Min   float64  `json:"min"`
	Max   *float64 `json:"max"`
	Count int64    `json:"count"`
	Share float64  `json:"share"`
}

// Bounce is sessions with a single event.
type Bounce struct {
	Sessions int64   `json:"sessions"`
	Rate     float64 `json:"rate"`
}

// TimeCount is sessions started in one UTC day ("2006-01-02") or hour
// (RFC 3339 of the hour's start).
type TimeCount struct {
	Time     string `json:"time"`
	Sessions int64  `json:"sessions"`
}

// NameCount is sessions per page or end reason.
type NameCount struct {
	Name     string  `json:"name"`
	Sessions int64   `json:"sessions"`
	Share    float64 `json:"share"`
}

// ActiveSession is the most active session of one day.
type ActiveSession struct {
	Day             string  `json:"day"`
	SessionID       string  `json:"session_id"`
	UUID            string  `json:"uuid"`
	SessionStart    string  `json:"session_start"`
	DurationSeconds float64 `json:"duration_seconds"`
	EventCount      int64   `json:"event_count"`
	EntryPage       string  `json:"entry_page"`
	ExitPage        string  `json:"exit_page"`
	EndReason       string  `json:"end_reason"`
}

// AttributeRate is the share of sessions for which a boolean attribute
// is true.
type AttributeRate struct {
	Name     string  `json:"name"`
	Sessions int64   `json:"sessions"` // true
	Of       int64   `json:"of"`       // sessions that have the attribute
	Rate     float64 `json:"rate"`
}

// Funnel is the travel funnel.
type Funnel struct {
	Definition string       `json:"definition"`
	Steps      []FunnelStep `json:"steps"`
}

// FunnelStep is one step of the funnel.
type FunnelStep struct {
	Step                   string  `json:"step"`
	Sessions               int64   `json:"sessions"`
	ShareOfSessions        float64 `json:"share_of_sessions"`
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
}

// Quality is the account of records that did not become session events.
// Counts are over everything the source consumed, not only the window.
type Quality struct {
	Available        bool             `json:"available"`
	Basis            *string          `json:"basis"` // "warehouse account" or "batch summary"
	Note             string           `json:"note"`
	Records          *int64           `json:"records"`
	Duplicates       *int64           `json:"duplicates"`
	Late             *int64           `json:"late"`
	Rejected         *int64           `json:"rejected"`
	DuplicateRate    *float64         `json:"duplicate_rate"`
	LateRate         *float64         `json:"late_rate"`
	RejectedRate     *float64         `json:"rejected_rate"`
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	// AccountHolds is whether records = events in sessions + duplicates +
	// late + rejected (+ open or carried).
	AccountHolds *bool `json:"account_holds"`
}

// readColumns are the sessions columns the report reads: every column of
// a SessionRow but session_end_time_ms (the duration column has what the
// report needs of it).
func readColumns() []string {
	return slices.DeleteFunc(session.ColumnNames(), func(c string) bool { return c == session.ColEndMs })
}

// Options control Compute.
type Options struct {
	From, To time.Time // zero: open
	Top      int       // pages listed; <= 0 means 10
	// Funnel are the funnel's pages in order; nil means FunnelSteps.
	Funnel []string
}

// Accumulator takes sessions one at a time, so a large table or file
// need not be held in memory (pages_visited is looked at and dropped).
// What it keeps grows with distinct values, not with sessions: about 12
// bytes per user (see userCounter), exact counts per duration and event
// count, so the percentiles stay exact (see durationCounts).
type Accumulator struct {
	opts                Options
	n                   int64
	durations           *durationCounts
	events              *intCounts
	users               userCounter
	bounce, truncated   int64
	perDay, perHour     map[int64]int64 // unix ms of the day/hour start
	best                map[int64]Session
	entry, exit, reason map[string]int64
	funnel              []int64
	first, last         int64
	// attrs counts, per boolean session attribute, sessions with it true
	// and with it at all.
	attrs     map[string]*[2]int64
	attrOrder []string
}

// NewAccumulator returns an empty Accumulator.
func NewAccumulator(opts Options) *Accumulator {
	if opts.Top <= 0 {
		opts.Top = 10
	}
	if len(opts.Funnel) == 0 {
		opts.Funnel = FunnelSteps
	}
	return &Accumulator{
		opts: opts, durations: newDurationCounts(), events: newIntCounts(), perDay: map[int64]int64{}, perHour: map[int64]int64{},
		best: map[int64]Session{}, entry: map[string]int64{}, exit: map[string]int64{}, reason: map[string]int64{},
		funnel: make([]int64, len(opts.Funnel)), attrs: map[string]*[2]int64{},
	}
}

// InWindow reports whether a session starting at startMs passes --from/--to.
func (o Options) InWindow(startMs int64) bool {
	if !o.From.IsZero() && startMs < o.From.UnixMilli() {
		return false
	}
	if !o.To.IsZero() && startMs >= o.To.UnixMilli() {
		return false
	}
	return true
}

// Add counts s if it is in the window. s.PagesVisited is not retained.
func (a *Accumulator) Add(s *Session) {
	if !a.opts.InWindow(s.SessionStartTimeMs) {
		return
	}
	if a.n == 0 || s.SessionStartTimeMs < a.first {
		a.first = s.SessionStartTimeMs
	}
	if a.n == 0 || s.SessionStartTimeMs > a.last {
		a.last = s.SessionStartTimeMs
	}
	a.n++
	a.durations.add(s.SessionDurationSeconds)
	a.events.add(s.EventCount, 1)
	a.users.add(s.UUID)
	if s.EventCount == 1 {
		a.bounce++
	}
	if s.PagesTruncated {
		a.truncated++
	}
	day := floorMs(s.SessionStartTimeMs, 24*3600_000)
	a.perDay[day]++
	a.perHour[floorMs(s.SessionStartTimeMs, 3600_000)]++
	if cur, ok := a.best[day]; !ok || moreActive(s, &cur) {
		a.best[day] = Session{
			SessionID: strings.Clone(s.SessionID), UUID: strings.Clone(s.UUID), SessionStartTimeMs: s.SessionStartTimeMs,
			SessionEndTimeMs: s.SessionEndTimeMs, SessionDurationSeconds: s.SessionDurationSeconds, EventCount: s.EventCount,
			PagesTruncated: s.PagesTruncated, EntryPage: strings.Clone(s.EntryPage), ExitPage: strings.Clone(s.ExitPage),
			EndReason: strings.Clone(s.EndReason),
		}
	}
	countKey(a.entry, s.EntryPage)
	countKey(a.exit, s.ExitPage)
	countKey(a.reason, s.EndReason)
	if k := funnelReached(a.opts.Funnel, s.PagesVisited); k > 0 {
		a.funnel[k-1]++ // reached exactly k steps
	}
	for _, b := range s.BoolAttrs {
		c := a.attrs[b.Name]
		if c == nil {
			c = new([2]int64)
			a.attrs[strings.Clone(b.Name)] = c
			a.attrOrder = append(a.attrOrder, strings.Clone(b.Name))
		}
		c[1]++
		if b.Value {
			c[0]++
		}
	}
}

// countKey counts k, copying it when new: a reader's strings may point
// into a buffer it reuses.
func countKey(m map[string]int64, k string) {
	if _, ok := m[k]; ok {
		m[k]++
		return
	}
	m[strings.Clone(k)] = 1
}

// floorMs rounds ms down to a multiple of unit (also before 1970).
func floorMs(ms, unit int64) int64 {
	r := ms % unit
	if r < 0 {
		r += unit
	}
	return ms - r
}

// moreActive orders candidates for the most active session of a day.
func moreActive(s, cur *Session) bool {
	if s.EventCount != cur.EventCount {
		return s.EventCount > cur.EventCount
	}
	if s.SessionDurationSeconds != cur.SessionDurationSeconds {
		return s.SessionDurationSeconds > cur.SessionDurationSeconds
	}
	if s.SessionStartTimeMs != cur.SessionStartTimeMs {
		return s.SessionStartTimeMs < cur.SessionStartTimeMs
	}
	return s.SessionID < cur.SessionID
}

// funnelReached returns how many funnel steps pages reaches: steps are
// matched in order as a subsequence, greedily.
func funnelReached(steps, pages []string) int {
	k := 0
	for _, p := range pages {
		if k == len(steps) {
			break
		}
		if p == steps[k] {
			k++
		}
	}
	return k
}

// Report finishes the figures. Source and Quality are left for the caller.
func (a *Accumulator) Report() *Report {
	perUser := a.users.perUser()
	r := &Report{SchemaVersion: SchemaVersion, Sessions: a.n, Users: perUser.n}
	if !a.opts.From.IsZero() {
		r.Window.From = ptr(a.opts.From.UTC().Format(time.RFC3339Nano))
	}
	if !a.opts.To.IsZero() {
		r.Window.To = ptr(a.opts.To.UTC().Format(time.RFC3339Nano))
	}
	if a.n > 0 {
		r.FirstSessionStart = ptr(formatMs(a.first))
		r.LastSessionStart = ptr(formatMs(a.last))
	}

	if r.Users > 0 {
		r.SessionsPerUser.Mean = ptr(float64(a.n) / float64(r.Users))
	}
	r.SessionsPerUser.Distribution = distribution(UserBuckets, perUser.counts())

	r.durations, r.events = a.durations.counts(), a.events.counts()
	r.DurationSeconds = stats(r.durations, DurationBuckets)
	r.EventsPerSession = stats(r.events, EventBuckets)

	r.Bounce = Bounce{Sessions: a.bounce, Rate: ratio(a.bounce, a.n)}
	r.PagesTruncatedSessions = a.truncated

	r.SessionsPerDay = timeCounts(a.perDay, "2006-01-02")
	r.SessionsPerHour = timeCounts(a.perHour, time.RFC3339)
	days := make([]int64, 0, len(a.best))
	for d := range a.best {
		days = append(days, d)
	}
	slices.Sort(days)
	r.MostActivePerDay = make([]ActiveSession, 0, len(days))
	for _, d := range days {
		s := a.best[d]
		r.MostActivePerDay = append(r.MostActivePerDay, ActiveSession{
			Day: time.UnixMilli(d).UTC().Format("2006-01-02"), SessionID: s.SessionID, UUID: s.UUID,
			SessionStart: formatMs(s.SessionStartTimeMs), DurationSeconds: s.SessionDurationSeconds,
			EventCount: s.EventCount, EntryPage: s.EntryPage, ExitPage: s.ExitPage, EndReason: s.EndReason,
		})
	}
	r.TopEntryPages = nameCounts(a.entry, a.n, a.opts.Top)
	r.TopExitPages = nameCounts(a.exit, a.n, a.opts.Top)
	r.EndReasons = nameCounts(a.reason, a.n, 0)

	// a.funnel[k] counts sessions that reached exactly k+1 steps; reached(k)
	// is the sum over k and beyond.
	r.Funnel.Definition = FunnelDefinition
	steps := a.opts.Funnel
	r.Attributes = []AttributeRate{}
	r.Funnel.Steps = make([]FunnelStep, len(steps))
	var reached int64
	for k := len(steps) - 1; k >= 0; k-- {
		reached += a.funnel[k]
		r.Funnel.Steps[k] = FunnelStep{Step: steps[k], Sessions: reached, ShareOfSessions: ratio(reached, a.n)}
	}
	for _, name := range a.attrOrder {
		c := a.attrs[name]
		r.Attributes = append(r.Attributes, AttributeRate{Name: name, Sessions: c[0], Of: c[1], Rate: ratio(c[0], c[1])})
	}
	for k := range r.Funnel.Steps {
		prev := a.n
		if k > 0 {
			prev = r.Funnel.Steps[k-1].Sessions
		}
		r.Funnel.Steps[k].ConversionFromPrevious = ratio(r.Funnel.Steps[k].Sessions, prev)
	}
	r.Quality = Quality{Note: "not available for a file without --summary"}
	return r
}

// Compute is Accumulator over a slice.
func Compute(sessions []Session, opts Options) *Report {
	a := NewAccumulator(opts)
	for i := range sessions {
		a.Add(&sessions[i])
	}
	return a.Report()
}

func ptr[T any](v T) *T { return &v }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func timeCounts(m map[int64]int64, layout string) []TimeCount {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]TimeCount, len(keys))
	for i, k := range keys {
		out[i] = TimeCount{Time: time.UnixMilli(k).UTC().Format(layout), Sessions: m[k]}
	}
	return out
}

// nameCounts sorts by sessions (descending) then name, keeping top (0: all).
func nameCounts(m map[string]int64, total int64, top int) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, v := range m {
		out = append(out, NameCount{Name: k, Sessions: v, Share: ratio(v, total)})
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		if c := cmp.Compare(b.Sessions, a.Sessions); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}

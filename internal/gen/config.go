package gen

import (
	"fmt"
	"math"
	"time"
)

// Defaults, shared with the command line.
const (
	DefaultSeed           = 1
	DefaultNumUsers       = 50_000
	DefaultEvents         = 1_000_000
	DefaultStartRFC3339   = "2026-11-01T00:00:00Z"
	DefaultDuplicateRate  = 0.01
	DefaultMalformedRate  = 0.001
	DefaultOutOfOrderRate = 0.02

	// MaxNumUsers bounds the per-user state (about 9 bytes a user).
	MaxNumUsers = 100_000_000
)

// maxSpan bounds the simulated time, well within time.Duration.
const maxSpan = 100 * 365 * 24 * time.Hour

// Config describes a stream. Of Events, Rate and Duration give one or two:
// Events alone is paced at a default rate of about 20 events per user per
// simulated day; Rate and Duration alone give Events = Rate * Duration;
// Events with Duration spreads the events over that span.
type Config struct {
	Seed uint64
	// NumUsers is the number of distinct users; 0 chooses DefaultNumUsers,
	// or as many as the rate needs if that is more (see usersFor).
	NumUsers int
	// Events is the number of records (lines) to produce, duplicates and
	// malformed ones included.
	Events int64
	// Rate is records per second of event time.
	Rate     float64
	Duration time.Duration
	// Start is the event time of the stream's start; zero means
	// DefaultStartRFC3339.
	Start time.Time
	// The rates are shares of all records.
	DuplicateRate, MalformedRate, OutOfOrderRate float64
}

// DefaultConfig returns the command line's defaults.
func DefaultConfig() Config {
	return Config{
		Seed:           DefaultSeed,
		NumUsers:       DefaultNumUsers,
		Events:         DefaultEvents,
		Start:          defaultStart(),
		DuplicateRate:  DefaultDuplicateRate,
		MalformedRate:  DefaultMalformedRate,
		OutOfOrderRate: DefaultOutOfOrderRate,
	}
}

func defaultStart() time.Time {
	t, err := time.Parse(time.RFC3339, DefaultStartRFC3339)
	if err != nil {
		panic(err) // a constant: cannot happen
	}
	return t
}

// ConfigError says which Config field is wrong and why, so a caller can
// name its own flag or setting.
type ConfigError struct {
	Field string // the Config field name, e.g. "NumUsers"
	Msg   string // e.g. "must be at least 1, got 0"
}

func (e *ConfigError) Error() string { return "gen: " + e.Field + " " + e.Msg }

func cfgErr(field, format string, a ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// resolve checks c and fills in Events, Rate and Duration.
func (c Config) resolve(x expectations) (Config, error) {
	chooseUsers := c.NumUsers == 0
	if chooseUsers {
		c.NumUsers = DefaultNumUsers
	}
	if c.NumUsers < 1 || c.NumUsers > MaxNumUsers {
		return c, cfgErr("NumUsers", "must be between 1 and %d, got %d", MaxNumUsers, c.NumUsers)
	}
	for _, r := range []struct {
		field string
		v     float64
		max   float64
	}{
		{"DuplicateRate", c.DuplicateRate, 0.5},
		{"MalformedRate", c.MalformedRate, 1},
		{"OutOfOrderRate", c.OutOfOrderRate, 1},
	} {
		if !(r.v >= 0 && r.v <= r.max) { // also catches NaN
			return c, cfgErr(r.field, "must be between 0 and %g, got %g", r.max, r.v)
		}
	}
	if c.Events < 0 {
		return c, cfgErr("Events", "must not be negative, got %d", c.Events)
	}
	if c.Duration < 0 {
		return c, cfgErr("Duration", "must not be negative, got %s", c.Duration)
	}
	if math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 {
		return c, cfgErr("Rate", "must be a positive number of events per second, got %g", c.Rate)
	}
	if c.Start.IsZero() {
		c.Start = defaultStart()
	}
	if c.Start.Before(time.Unix(0, 0)) || c.Start.Year() > 9000 {
		return c, cfgErr("Start", "must be between 1970 and 9000 (epoch milliseconds are written as digits), got %s", c.Start.Format(time.RFC3339))
	}

	secs := c.Duration.Seconds()
	switch {
	case c.Events > 0 && c.Rate > 0 && c.Duration > 0:
		return c, cfgErr("Events", "given with both a rate and a duration: give at most two of the three")
	case c.Events == 0 && (c.Rate == 0 || c.Duration == 0):
		return c, cfgErr("Events", "must be at least 1, or 0 with both a rate and a duration")
	case c.Events == 0:
		n := math.Round(c.Rate * secs)
		if n < 1 || n > math.MaxInt64/2 {
			return c, cfgErr("Rate", "of %g events/s over %s gives %g events: want at least 1", c.Rate, c.Duration, n)
		}
		c.Events = int64(n)
	case c.Rate == 0 && c.Duration > 0:
		c.Rate = float64(c.Events) / secs
	case c.Rate == 0:
		c.Rate = float64(c.NumUsers) * eventsPerUserPerDay / 86400
	}
	spanSecs := float64(c.Events) / c.Rate
	if spanSecs > maxSpan.Seconds() {
		return c, cfgErr("Rate", "of %g events/s makes %d events span over %d years", c.Rate, c.Events, maxSpan/(365*24*time.Hour))
	}
	if c.Duration == 0 {
		c.Duration = time.Duration(spanSecs * float64(time.Second))
	}
	if chooseUsers {
		n, ok := usersFor(c, x)
		if !ok {
			return c, cfgErr("Rate", "of %.4g events/s needs more than %d users (the most the generator keeps): use a lower rate",
				c.Rate, MaxNumUsers)
		}
		c.NumUsers = n
	}
	if maxRate := maxRate(c, x); c.Rate > maxRate {
		need := int64(math.Ceil(float64(c.NumUsers) * c.Rate / maxRate))
		return c, cfgErr("Rate", "of %.4g events/s is more than %d users can make while pausing over 30 minutes between visits (at most %.4g events/s): use at least %d users or a lower rate",
			c.Rate, c.NumUsers, maxRate, need)
	}
	return c, nil
}

// usersFor is the number of users chosen when none is given: the default,
// or the fewest that sustain c.Rate if that is more, so that "--rate 20000"
// works without working out a user count first. The fewest, not the ~20
// events per user per day of the default pacing: that would be 86 million
// users (780 MB of state) at 20,000/s, and at maxLoad the activity skew
// survives. false if more than MaxNumUsers would be needed.
func usersFor(c Config, x expectations) (int, bool) {
	c.NumUsers = DefaultNumUsers
	m := maxRate(c, x)
	if c.Rate <= m {
		return DefaultNumUsers, true
	}
	// maxRate is linear in the users but for the integer number of bots:
	// start from the linear estimate and step up until it holds.
	est := math.Ceil(float64(DefaultNumUsers) * c.Rate / m)
	if est > MaxNumUsers {
		return 0, false
	}
	for c.NumUsers = int(est); maxRate(c, x) < c.Rate; c.NumUsers += 1 + c.NumUsers/1_000_000 {
		if c.NumUsers >= MaxNumUsers {
			return 0, false
		}
	}
	return c.NumUsers, true
}

// pacing is how the session-start process is tuned for a Config.
type pacing struct {
	pBot, pPlanner  float64 // share of visits
	eventsPerVisit  float64 // mean events of a visit, all kinds
	recordsPerEvent float64 // lines per simulated event (duplicates add some)
	visitsPerMs     float64 // the visit start rate
	humanVisitMs    float64 // mean human visit length
}

func numBots(users int) int {
	n := int(float64(users) * botUserShare)
	if n == 0 && users >= 200 {
		n = 1
	}
	return n
}

func pace(c Config, x expectations) pacing {
	var p pacing
	p.pPlanner = plannerShare
	human := (1-p.pPlanner)*x.regularEvents + p.pPlanner*x.plannerEvents
	p.humanVisitMs = (1-p.pPlanner)*x.regularDurMs + p.pPlanner*x.plannerDurMs
	if numBots(c.NumUsers) > 0 {
		// Solve bots' share of events = botEventShare for their share of visits.
		p.pBot = botEventShare * human / ((1-botEventShare)*x.botEvents + botEventShare*human)
	}
	p.eventsPerVisit = (1-p.pBot)*human + p.pBot*x.botEvents
	p.recordsPerEvent = 1 + (1-c.MalformedRate)*dupProb(c.DuplicateRate)
	p.visitsPerMs = c.Rate / 1000 / (p.eventsPerVisit * p.recordsPerEvent)
	return p
}

// dupProb is the chance that an event is re-sent, so that duplicates are
// the given share of all records.
func dupProb(share float64) float64 { return share / (1 - share) }

// maxRate is the highest Rate c.NumUsers users sustain: each human user
// makes at most one visit per (visit + cooldown).
func maxRate(c Config, x expectations) float64 {
	p := pace(c, x)
	humans := float64(c.NumUsers - numBots(c.NumUsers))
	capacityPerMs := humans / (p.humanVisitMs + float64(cooldown.Milliseconds()))
	maxVisitsPerMs := maxLoad * capacityPerMs / (1 - p.pBot)
	return maxVisitsPerMs * 1000 * p.eventsPerVisit * p.recordsPerEvent
}

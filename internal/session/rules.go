// Package session is the sessionization engine: the exact rules that cut a
// user's events into sessions. It does no I/O and is shared by batch and
// stream, so both produce identical sessions.
package session

import (
	"fmt"
	"time"
)

// Defaults match the original Spark tool.
const (
	DefaultInactivityTimeout = 30 * time.Minute
	DefaultMaxDuration       = 2 * time.Hour
	DefaultMaxPages          = 2500
)

// Rules are the thresholds that define a session.
type Rules struct {
	// InactivityMs: a gap strictly greater than this starts a new session.
	InactivityMs int64
	// MaxDurationMs: an event more than this after the session start
	// starts a new session (greedy split).
	MaxDurationMs int64
	// MaxPages caps pages_visited per session; event_count stays exact.
	MaxPages int
	// StartOn and EndOn are the user's boundary rules in canonical form
	// (predicate.Expr.String), "" for none. The engine only reads events'
	// Marks; the texts are here so that every fingerprint of the rules
	// (checkpoints, state files, batch run ids) includes them.
	StartOn, EndOn string
	// Attrs are the session attributes' canonical specs, one per line;
	// "" for none. Like StartOn and EndOn, for the fingerprints; the
	// engine folds with the AttrFold it is given.
	Attrs string
}

// DefaultRules returns the rules with the default thresholds.
func DefaultRules() Rules {
	return Rules{
		InactivityMs:  DefaultInactivityTimeout.Milliseconds(),
		MaxDurationMs: DefaultMaxDuration.Milliseconds(),
		MaxPages:      DefaultMaxPages,
	}
}

// Validate reports rules that cannot produce sensible sessions.
func (r Rules) Validate() error {
	if r.InactivityMs <= 0 {
		return fmt.Errorf("inactivity timeout must be positive, got %dms", r.InactivityMs)
	}
	if r.MaxDurationMs <= 0 {
		return fmt.Errorf("max session duration must be positive, got %dms", r.MaxDurationMs)
	}
	if r.MaxPages <= 0 {
		return fmt.Errorf("max pages per session must be positive, got %d", r.MaxPages)
	}
	return nil
}

// EndReason says why a session ended.
type EndReason uint8

const (
	// EndOfInput: the data ended before the session could be known closed.
	EndOfInput EndReason = iota
	// Inactivity: the user went quiet for longer than the timeout before
	// the max duration was reached.
	Inactivity
	// MaxDuration: the session reached its max duration before the user
	// went quiet.
	MaxDuration
	// Rule: a boundary rule ended it: its last event matched
	// --end-session-on, or the next one matched --start-session-on while
	// the session was still open by time.
	Rule
)

func (e EndReason) String() string {
	switch e {
	case Inactivity:
		return "inactivity"
	case MaxDuration:
		return "max_duration"
	case Rule:
		return "rule"
	}
	return "end_of_input"
}

// hasBoundaries reports whether events carry marks that matter.
func (r Rules) hasBoundaries() bool { return r.StartOn != "" || r.EndOn != "" }

// ParseEndReason is String's inverse.
func ParseEndReason(s string) (EndReason, bool) {
	for e := EndOfInput; e <= Rule; e++ {
		if e.String() == s {
			return e, true
		}
	}
	return 0, false
}

// startsNew is the split rule, the one place it is written: an event at t
// with mark starts a new session rather than joining the open one that
// started at start and whose latest event, at last, had lastMark. Batch
// (folder) and stream (Stream.settle) both cut with it, so they cannot
// disagree.
func (r Rules) startsNew(start, last int64, lastMark Mark, t int64, mark Mark) bool {
	return t-last > r.InactivityMs || t-start > r.MaxDurationMs || lastMark&EndsSession != 0 || mark&StartsSession != 0
}

// cutReason is why the open session ended when an event at t started a
// new one: its own close deadline's reason if t is past it (whatever the
// next event says), else the start rule that cut it.
func (r Rules) cutReason(start, last int64, lastMark Mark, t int64) EndReason {
	deadline, reason := r.closeDeadline(start, last, lastMark)
	if t > deadline {
		return reason
	}
	return Rule
}

// closeDeadline is the last event time that could still join a session that
// started at start and whose latest event is at last: an event after it
// starts a new session. The reason is whichever limit comes first; deriving
// it from the session alone (not from the next event) keeps end_reason the
// same whether the next event is seen in this run, a later run, or a stream.
// A last event that matched the end rule closes the session at once: no
// later event joins it, not even one at the same millisecond.
func (r Rules) closeDeadline(start, last int64, lastMark Mark) (int64, EndReason) {
	if lastMark&EndsSession != 0 {
		return last - 1, Rule
	}
	byGap := last + r.InactivityMs
	byDuration := start + r.MaxDurationMs
	if byGap <= byDuration {
		return byGap, Inactivity
	}
	return byDuration, MaxDuration
}

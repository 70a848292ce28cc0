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
)

func (e EndReason) String() string {
	switch e {
	case Inactivity:
		return "inactivity"
	case MaxDuration:
		return "max_duration"
	}
	return "end_of_input"
}

// startsNew is the split rule, the one place it is written: an event at t
// starts a new session rather than joining the open one that started at
// start and whose latest event is at last. Batch (folder) and stream
// (Stream.settle) both cut with it, so they cannot disagree.
func (r Rules) startsNew(start, last, t int64) bool {
	return t-last > r.InactivityMs || t-start > r.MaxDurationMs
}

// closeDeadline is the last event time that could still join a session that
// started at start and whose latest event is at last: an event after it
// starts a new session. The reason is whichever limit comes first; deriving
// it from the session alone (not from the next event) keeps end_reason the
// same whether the next event is seen in this run, a later run, or a stream.
func (r Rules) closeDeadline(start, last int64) (int64, EndReason) {
	byGap := last + r.InactivityMs
	byDuration := start + r.MaxDurationMs
	if byGap <= byDuration {
		return byGap, Inactivity
	}
	return byDuration, MaxDuration
}

package batch

// resumeCut tells, in a --resume run, which events came too late: they are
// older than sessions the previous run already closed and wrote, so
// sessionizing them now would give a second, overlapping session (one with
// the same session_id if it is a re-sent copy of the closed session's first
// event) instead of what one run over all the input gives.
//
// The previous run closed a session only once its input's end (endMs, the
// state file's end_time_ms) was past the session's deadline (last event +
// inactivity timeout, or start + max duration), and an event after that
// deadline cannot join it. So an event at or after endMs is safe, and so is
// one at or after the start of its user's carried session, which continues
// here and is folded again with it (the sessions that user closed ended
// before that start). Every other event might belong to a closed session:
// it is late. Users the previous run never saw are late too then: the state
// does not know them from users whose sessions it closed.
type resumeCut struct {
	endMs  int64
	starts map[string]int64 // carried user -> time of its first carried event
}

func newResumeCut() *resumeCut { return &resumeCut{starts: map[string]int64{}} }

// carried notes one carried event.
func (c *resumeCut) carried(uuid string, timeMs int64) {
	if s, ok := c.starts[uuid]; !ok || timeMs < s {
		c.starts[uuid] = timeMs
	}
}

// late reports whether an event of uuid at timeMs is late. Safe for
// concurrent use once the state is read.
func (c *resumeCut) late(uuid []byte, timeMs int64) bool {
	if c == nil || timeMs >= c.endMs {
		return false
	}
	s, ok := c.starts[string(uuid)]
	return !ok || timeMs < s
}

// reasonLate is the reason of a late record in the --rejected output.
const reasonLate = "late"

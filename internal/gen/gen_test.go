package gen

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"testing"
)

func smallConfig() Config {
	c := DefaultConfig()
	c.NumUsers = 2000
	c.Events = 100_000
	return c
}

func TestSameConfigGivesSameBytes(t *testing.T) {
	a := sha256.Sum256(writeAll(t, smallConfig()))
	b := sha256.Sum256(writeAll(t, smallConfig()))
	if a != b {
		t.Fatal("two runs of the same config differ")
	}
}

func TestSeedChangesTheStream(t *testing.T) {
	c := smallConfig()
	a := writeAll(t, c)
	c.Seed++
	b := writeAll(t, c)
	if bytes.Equal(a, b) {
		t.Fatal("seeds 1 and 2 give the same output")
	}
	// Not just a few bytes: users and event ids are seed-specific.
	if bytes.Equal(a[:200], b[:200]) {
		t.Fatalf("outputs start alike:\n%s\n%s", a[:200], b[:200])
	}
}

func TestNextMatchesWrite(t *testing.T) {
	var viaNext bytes.Buffer
	for _, l := range collect(t, smallConfig()) {
		viaNext.WriteString(l.raw)
		viaNext.WriteByte('\n')
	}
	if !bytes.Equal(viaNext.Bytes(), writeAll(t, smallConfig())) {
		t.Fatal("Next and Write give different streams")
	}
}

func TestExactlyEventsRecords(t *testing.T) {
	for _, n := range []int64{1, 2, 999, 12_345} {
		c := smallConfig()
		c.Events = n
		g, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		for {
			if _, ok := g.Next(); !ok {
				break
			}
			got++
		}
		if got != n || g.Stats().Events != n {
			t.Errorf("Events=%d: got %d records, Stats says %d", n, got, g.Stats().Events)
		}
		if _, ok := g.Next(); ok {
			t.Errorf("Events=%d: Next returned a record after the end", n)
		}
	}
}

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The Record fields are what a Kafka producer uses as key and timestamp:
// they must agree with the line.
func TestRecordKeyAndTimeMatchTheLine(t *testing.T) {
	for _, l := range realistic(t) {
		if l.rec.Flags&Malformed != 0 {
			if l.valid {
				t.Fatalf("record flagged malformed passes the input rules: %s", l.raw)
			}
			continue
		}
		if !l.valid {
			t.Fatalf("record not flagged malformed fails the input rules: %s", l.raw)
		}
		if string(l.rec.UUID) != l.ev.uuid {
			t.Fatalf("Record.UUID %q, line has %q", l.rec.UUID, l.ev.uuid)
		}
		if l.rec.TimeMs != l.ev.timeMs {
			t.Fatalf("Record.TimeMs %d, line has %d", l.rec.TimeMs, l.ev.timeMs)
		}
	}
}

func TestIDsAreUniqueAndWellFormed(t *testing.T) {
	lines := realistic(t)
	evs := accepted(lines)
	ids := make(map[string]bool, len(evs))
	users := make(map[string]bool)
	for _, e := range evs {
		if ids[e.eventID] {
			t.Fatalf("event_id %s used by two events", e.eventID)
		}
		ids[e.eventID] = true
		if !uuidShape.MatchString(e.uuid) {
			t.Fatalf("uuid %q is not UUID-shaped", e.uuid)
		}
		users[e.uuid] = true
	}
	c := realisticConfig()
	if len(users) > c.NumUsers || len(users) < c.NumUsers*9/10 {
		t.Errorf("%d distinct users in the output, want most of the %d", len(users), c.NumUsers)
	}
	g, _ := New(c)
	for {
		if _, ok := g.Next(); !ok {
			break
		}
	}
	if got := g.Stats().Users; got != int64(len(users)) {
		t.Errorf("Stats.Users = %d, the output has %d", got, len(users))
	}
}

// Memory must not grow with the number of events: the queues hold what is
// active or late at one moment, nothing more.
func TestMemoryBoundedByUsersNotEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 3M events")
	}
	c := DefaultConfig()
	c.Events = 3_000_000
	g, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	maxHeldSeen, maxVisits := 0, 0
	for i := 0; ; i++ {
		if _, ok := g.Next(); !ok {
			break
		}
		if i%1000 == 0 {
			maxHeldSeen = max(maxHeldSeen, len(g.held))
			maxVisits = max(maxVisits, len(g.sim.visits))
		}
	}
	// At 11.6 events/s about 2 visits start per second and last minutes;
	// a few hundred are active, and a few dozen records wait to be late.
	if maxVisits > 5000 {
		t.Errorf("%d visit slots for 3M events: visits are not being reused", maxVisits)
	}
	if maxHeldSeen > 2000 {
		t.Errorf("%d records held for late delivery at once", maxHeldSeen)
	}
}

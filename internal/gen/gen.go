package gen

import (
	"math"
	"math/rand/v2"
)

// Record is one line of the stream.
type Record struct {
	// Line is the record without a trailing newline. It is valid until
	// the next call to Next.
	Line []byte
	// UUID is the user id, the natural partition key. It is nil when the
	// record has no readable uuid (not JSON, or uuid missing). Valid until
	// the next call to Next.
	UUID []byte
	// TimeMs is the event time in epoch milliseconds; for a malformed
	// record, the time it was meant to have.
	TimeMs int64
	Flags  Flags
}

// Stats counts what Next has returned so far.
type Stats struct {
	Events     int64 // records returned
	Duplicates int64 // of which re-sent copies of earlier records
	Malformed  int64 // of which malformed
	OutOfOrder int64 // of which delivered late
	Visits     int64 // visits whose first event in the stream was returned (one over 2 hours counts once)
	Users      int64 // distinct users with a readable uuid in the output
	FirstMs    int64 // earliest event time returned (0 before any record)
	LastMs     int64 // latest event time returned
}

// maxHeld bounds the records held back for late delivery. At sane rates
// it is never reached; past it the earliest is released a little early.
const maxHeld = 1 << 16

// Generator produces the stream. It is not safe for concurrent use.
type Generator struct {
	cfg     Config
	rng     *rand.Rand
	sim     *sim
	held    deliveryQueue
	heldSeq uint64
	dupProb float64
	idKey   uint64
	userKey uint64
	nextID  uint64

	cur   event
	line  []byte
	seen  []uint64 // bitset of users in the output
	stats Stats
}

// New checks cfg and returns a Generator positioned at the stream's start.
// Errors are *ConfigError.
func New(cfg Config) (*Generator, error) {
	x := modelExpectations()
	c, err := cfg.resolve(x)
	if err != nil {
		return nil, err
	}
	// One PCG stream drives everything, so the seed alone fixes the output.
	rng := rand.New(rand.NewPCG(c.Seed, mix64(c.Seed^0x6a09e667f3bcc908)))
	g := &Generator{
		cfg:     c,
		rng:     rng,
		dupProb: dupProb(c.DuplicateRate),
		idKey:   mix64(c.Seed ^ 0xbb67ae8584caa73b),
		userKey: mix64(c.Seed ^ 0x3c6ef372fe94f82b),
		line:    make([]byte, 0, 1024),
		seen:    make([]uint64, (c.NumUsers+63)/64),
	}
	g.sim = newSim(c, pace(c, x), rng, g.userKey)
	g.sim.warmUp(c)
	return g, nil
}

// Config returns the configuration with Events, Rate, Duration and Start
// filled in.
func (g *Generator) Config() Config { return g.cfg }

// Stats returns the counts so far.
func (g *Generator) Stats() Stats { return g.stats }

// Next returns the next record in arrival order, or false after
// Config().Events records.
func (g *Generator) Next() (Record, bool) {
	if g.stats.Events >= g.cfg.Events {
		return Record{}, false
	}
	ev := g.nextDelivery()
	g.line = appendLine(g.line[:0], ev, g.idKey)
	rec := Record{Line: g.line, TimeMs: ev.timeMs, Flags: ev.flags &^ internalFlags}
	switch ev.flaw {
	case flawTruncated, flawSingleQuotes:
		rec.Line = breakLine(g.line, ev)
	case flawNoUUID:
	default:
		rec.UUID = ev.uuid[:]
		if w, bit := ev.user>>6, uint64(1)<<(ev.user&63); g.seen[w]&bit == 0 {
			g.seen[w] |= bit
			g.stats.Users++
		}
	}
	g.count(&rec, ev.flags)
	return rec, true
}

func (g *Generator) count(rec *Record, flags Flags) {
	s := &g.stats
	if s.Events == 0 {
		s.FirstMs, s.LastMs = rec.TimeMs, rec.TimeMs
	}
	s.Events++
	s.FirstMs = min(s.FirstMs, rec.TimeMs)
	s.LastMs = max(s.LastMs, rec.TimeMs)
	if rec.Flags&Duplicate != 0 {
		s.Duplicates++
	}
	if rec.Flags&Malformed != 0 {
		s.Malformed++
	}
	if rec.Flags&OutOfOrder != 0 {
		s.OutOfOrder++
	}
	if flags&firstOfVisit != 0 {
		s.Visits++
	}
}

// nextDelivery returns the next record to deliver. Simulated events come
// in event-time order; a held-back record (late or re-sent) is released
// once no event still to come can arrive before it.
func (g *Generator) nextDelivery() *event {
	for {
		if len(g.held) > 0 && (g.held[0].arrival <= g.sim.peek() || len(g.held) >= maxHeld) {
			g.held.pop(&g.cur)
			return &g.cur
		}
		ev := &g.cur
		g.sim.next(ev)
		ev.id = g.nextID
		g.nextID++
		g.decideDelivery(ev)
		if ev.arrival == ev.timeMs && (len(g.held) == 0 || g.held[0].arrival > ev.arrival) {
			return ev // on time, and nothing held is due first: skip the queue
		}
		g.hold(ev)
	}
}

// decideDelivery picks how ev reaches the collector: malformed or not,
// late or not, and whether a copy is re-sent.
func (g *Generator) decideDelivery(ev *event) {
	r := g.rng
	ev.arrival = ev.timeMs
	if r.Float64() < numericTimestampShare {
		ev.flags |= numericTimestamp
	}
	if g.cfg.MalformedRate > 0 && r.Float64() < g.cfg.MalformedRate {
		ev.flaw = flawTruncated + flaw(pickWeighted(flawWeights[:], r.Float64()))
		ev.variant = uint16(r.Uint32())
		ev.flags |= Malformed
	}
	if g.cfg.OutOfOrderRate > 0 && r.Float64() < g.cfg.OutOfOrderRate {
		ev.arrival += g.delayMs(lateMedian.Milliseconds(), lateSigma, lateMin.Milliseconds(), lateMax.Milliseconds())
		ev.flags |= OutOfOrder
	}
	if g.dupProb > 0 && ev.flaw == flawNone && r.Float64() < g.dupProb {
		dup := *ev
		dup.flags = dup.flags&^(OutOfOrder|firstOfVisit) | Duplicate
		dup.arrival = ev.arrival + g.delayMs(dupMedian.Milliseconds(), dupSigma, dupMin.Milliseconds(), dupMax.Milliseconds())
		g.hold(&dup)
	}
}

// flawWeights are the shares of malformed records by flaw, from
// flawTruncated on.
var flawWeights = [...]float64{0.20, 0.10, 0.25, 0.20, 0.25}

func (g *Generator) hold(ev *event) {
	ev.seq = g.heldSeq
	g.heldSeq++
	g.held.push(ev)
}

func (g *Generator) delayMs(median int64, sigma float64, lo, hi int64) int64 {
	d := float64(median) * fastExp(sigma*g.rng.NormFloat64())
	return int64(math.Min(math.Max(d, float64(lo)), float64(hi)))
}

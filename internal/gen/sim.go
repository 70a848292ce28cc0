package gen

import (
	"math"
	"math/rand/v2"
	"time"
)

type visitKind uint8

const (
	regular visitKind = iota
	planner           // a human who keeps going past 2 hours
	bot               // continuous crawling for hours
)

// noPage marks "no previous page": the visit's first event.
const noPage = numPages

// visit is one active session of a user.
type visit struct {
	next     int64 // event time of the next event
	last     int64 // event time of the previous event
	until    int64 // planners and bots go on until this time
	user     int32
	uuid     [36]byte // rendered once per visit, not per event
	kind     visitKind
	page     page // page of the next event
	prev     page // page of the previous event, or noPage
	searches uint16
	inStream bool   // an event of this visit has gone to the stream
	pageNo   uint16 // results page being viewed
	trip     trip
}

// sim produces events in event-time order: visits start as a Poisson
// process, and the active visits wait in a queue by next event time. Its
// memory is the per-user pause state plus the visits active at one time.
type sim struct {
	rng         *rand.Rand
	userKey     uint64
	bookingKey  uint64
	humans      int
	bots        int
	zipfQ       float64
	zipfLog     float64
	visitsPerMs float64
	pBot        float64
	pPlanner    float64

	// busyUntil is when each user may start a new visit: MaxInt64 while
	// in one, then the last event time plus cooldown.
	busyUntil []int64
	visits    []visit // slab, indexed by visitEntry.slot
	free      []int32
	queue     visitQueue
	nextStart float64 // event time of the next visit start, ms
	bookings  uint64
	live      bool // past the warm-up: events go to the stream
}

func newSim(c Config, p pacing, rng *rand.Rand, userKey uint64) *sim {
	s := &sim{
		rng:         rng,
		userKey:     userKey,
		bookingKey:  mix64(userKey ^ 0x2545f4914f6cdd1d),
		bots:        numBots(c.NumUsers),
		visitsPerMs: p.visitsPerMs,
		pBot:        p.pBot,
		pPlanner:    p.pPlanner,
		busyUntil:   make([]int64, c.NumUsers),
		nextStart:   float64(c.Start.UnixMilli()),
	}
	s.humans = c.NumUsers - s.bots
	s.zipfQ = math.Max(1, float64(s.humans)*zipfOffsetShare)
	s.zipfLog = math.Log((float64(s.humans) + s.zipfQ) / s.zipfQ)
	return s
}

// warmUp runs the site for a while before c.Start and drops those events,
// so the stream opens in full swing, with visits under way, rather than
// ramping up over the first hours (bots and planners stay for hours).
func (s *sim) warmUp(c Config) {
	start := c.Start.UnixMilli()
	ms := min(warmUp.Milliseconds(), int64(maxWarmUpEvents*1000/c.Rate))
	s.nextStart = float64(start - ms)
	var ev event
	for s.peek() < start {
		s.next(&ev)
	}
	s.live = true
}

// peek is a lower bound on the event time of every event still to come.
func (s *sim) peek() int64 {
	t := int64(s.nextStart)
	if len(s.queue) > 0 && s.queue[0].at < t {
		t = s.queue[0].at
	}
	return t
}

// next fills ev with the next event in event-time order (content only; the
// delivery fields are left to the caller).
func (s *sim) next(ev *event) {
	for len(s.queue) == 0 || int64(s.nextStart) < s.queue[0].at {
		s.startVisit()
	}
	slot := s.queue[0].slot
	v := &s.visits[slot]
	s.fill(ev, v)
	v.last = v.next
	nxt, gap := s.step(v)
	if nxt == leave {
		s.busyUntil[v.user] = v.last + cooldown.Milliseconds()
		s.free = append(s.free, slot)
		s.queue.pop()
		return
	}
	v.prev, v.page = v.page, page(nxt)
	v.next += gap
	s.queue[0].at = v.next
	s.queue.fix()
}

func (s *sim) startVisit() {
	now := int64(s.nextStart)
	s.nextStart += s.rng.ExpFloat64() / s.visitsPerMs
	kind := regular
	user, ok := int32(0), false
	if s.rng.Float64() < s.pBot {
		user, ok = s.pickBot(now)
		kind = bot
	}
	if !ok {
		kind = regular
		if user, ok = s.pickHuman(now); !ok {
			return // everyone is busy: this visit does not happen
		}
		if s.rng.Float64() < s.pPlanner {
			kind = planner
		}
	}
	var slot int32
	if n := len(s.free); n > 0 {
		slot, s.free = s.free[n-1], s.free[:n-1]
	} else {
		slot = int32(len(s.visits))
		s.visits = append(s.visits, visit{})
	}
	v := &s.visits[slot]
	*v = visit{next: now, user: user, kind: kind, prev: noPage}
	appendUUID(v.uuid[:0], s.userKey, user)
	v.trip.origin, v.trip.currency = userTraits(s.userKey, user)
	v.trip.referrer = pickWeighted(referrerWeights[:], s.rng.Float64())
	s.newSearch(&v.trip)
	switch kind {
	case bot:
		v.page = search
		v.until = now + s.uniformMs(botMin, botMax)
	case planner:
		v.until = now + s.uniformMs(plannerMin, plannerMax)
		v.page = page(s.draw(humanEntry[:]))
	default:
		v.page = page(s.draw(humanEntry[:]))
	}
	s.busyUntil[user] = math.MaxInt64
	s.queue.push(visitEntry{at: now, slot: slot})
}

// pickHuman draws a free user from the Zipf-like activity distribution.
// The most active users are often busy; drawing again keeps their share
// near their capacity. The scan is a fallback for a nearly saturated site.
func (s *sim) pickHuman(now int64) (int32, bool) {
	for range 16 {
		x := s.zipfQ*fastExp(s.rng.Float64()*s.zipfLog) - s.zipfQ
		u := min(int(x), s.humans-1)
		if s.busyUntil[u] <= now {
			return int32(u), true
		}
	}
	start := s.rng.IntN(s.humans)
	for i := range s.humans {
		u := (start + i) % s.humans
		if s.busyUntil[u] <= now {
			return int32(u), true
		}
	}
	return 0, false
}

// pickBot draws a free bot; bots are the users after the humans.
func (s *sim) pickBot(now int64) (int32, bool) {
	if s.bots == 0 {
		return 0, false
	}
	for range 4 {
		u := s.humans + s.rng.IntN(s.bots)
		if s.busyUntil[u] <= now {
			return int32(u), true
		}
	}
	return 0, false
}

// step picks the page after v's current one and the time until it.
func (s *sim) step(v *visit) (next int, gapMs int64) {
	switch v.kind {
	case bot:
		if v.last >= v.until {
			return leave, 0
		}
		return s.draw(botChain[v.page][:]), s.gap(botDwell, 1)
	case planner:
		next = s.draw(humanChain[v.page][:])
		if (next == leave || next == int(logout)) && v.last < v.until {
			next = int(search) // not done yet: look at another option
		}
		return next, s.humanGap(v.page, plannerDwellScale)
	default:
		return s.draw(humanChain[v.page][:]), s.humanGap(v.page, 1)
	}
}

// draw returns the index u falls into under probabilities summing to 1.
func (s *sim) draw(probs []float64) int {
	u := s.rng.Float64()
	for i, p := range probs {
		if u < p {
			return i
		}
		u -= p
	}
	for i := len(probs) - 1; i > 0; i-- { // rounding: the last possible one
		if probs[i] > 0 {
			return i
		}
	}
	return 0
}

func (s *sim) humanGap(p page, scale float64) int64 {
	if s.rng.Float64() < idleShare {
		return s.uniformMs(idleMin, idleMax)
	}
	return s.gap(humanDwell[p], scale)
}

// gap draws a log-normal dwell time, kept within a visit's bounds.
func (s *sim) gap(d dwell, scale float64) int64 {
	ms := float64(d.median.Milliseconds()) * scale * fastExp(d.sigma*s.rng.NormFloat64())
	return int64(math.Min(math.Max(ms, float64(minGap.Milliseconds())), float64(maxGap.Milliseconds())))
}

func (s *sim) uniformMs(lo, hi time.Duration) int64 {
	return lo.Milliseconds() + s.rng.Int64N((hi - lo).Milliseconds())
}

func (s *sim) lognormal(median, sigma float64) float64 {
	return median * fastExp(sigma*s.rng.NormFloat64())
}

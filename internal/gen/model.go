package gen

import (
	"math"
	"time"
)

// page is a page of the travel site, in funnel order.
type page uint8

const (
	home page = iota
	search
	results
	details
	booking
	confirmation
	logout
	numPages
)

// leave is the transition target "the visitor leaves": the last column of a
// chain row.
const leave = int(numPages)

var pageNames = [numPages]string{"home", "search", "results", "details", "booking", "confirmation", "logout"}

// chain holds transition probabilities from a page to each page, plus to
// leave in the last column. Rows sum to 1.
type chain [numPages][numPages + 1]float64

// humanChain is a visitor's walk. The drop-off per funnel step (about 85%
// of searches reach results, one item view in twelve starts a booking,
// just over half of bookings complete, a few percent of visits convert) follows typical travel e-commerce figures;
// results <-> search and details <-> results are the back-and-forth of
// comparing offers.
var humanChain = chain{
	//       home  search results details booking confirm logout leave
	home:         {0.02, 0.72, 0, 0.03, 0, 0, 0.03, 0.20},
	search:       {0.03, 0.03, 0.86, 0, 0, 0, 0, 0.08},
	results:      {0.02, 0.18, 0.12, 0.52, 0, 0, 0, 0.16},
	details:      {0, 0.08, 0.44, 0.12, 0.08, 0, 0, 0.28},
	booking:      {0, 0, 0, 0.15, 0.05, 0.55, 0, 0.25},
	confirmation: {0.12, 0.05, 0, 0, 0, 0, 0.28, 0.55},
	logout:       {0, 0, 0, 0, 0, 0, 0, 1},
}

// humanEntry is where visits land: mostly the home page, else deep links
// from ads (search), shared result pages and e-mails (details).
var humanEntry = [numPages]float64{home: 0.62, search: 0.18, results: 0.05, details: 0.15}

// botChain is a price crawler: it never books, and never leaves on its own
// (its visit ends when its time is up).
var botChain = chain{
	home:         {0, 1, 0, 0, 0, 0, 0, 0},
	search:       {0, 0.05, 0.95, 0, 0, 0, 0, 0},
	results:      {0, 0.10, 0.30, 0.60, 0, 0, 0, 0},
	details:      {0, 0.20, 0.50, 0.30, 0, 0, 0, 0},
	booking:      {0, 1, 0, 0, 0, 0, 0, 0},
	confirmation: {0, 1, 0, 0, 0, 0, 0, 0},
	logout:       {0, 1, 0, 0, 0, 0, 0, 0},
}

// dwell is the time spent on a page before the next event, log-normal.
type dwell struct {
	median time.Duration
	sigma  float64
}

// humanDwell: results and details are read, booking forms are filled in.
var humanDwell = [numPages]dwell{
	home:         {12 * time.Second, 0.8},
	search:       {20 * time.Second, 0.7},
	results:      {35 * time.Second, 0.9},
	details:      {60 * time.Second, 0.9},
	booking:      {2 * time.Minute, 0.6},
	confirmation: {20 * time.Second, 0.8},
	logout:       {5 * time.Second, 0.5},
}

// botDwell is a polite crawler's pace, a few requests a minute.
var botDwell = dwell{20 * time.Second, 0.6}

// Behaviour constants. The thresholds are picked against the sessionizer's
// default rules (30-minute inactivity, 2-hour maximum): every simulated
// visit is exactly one session unless it is meant to run past 2 hours.
const (
	// warmUp is how long the site runs before the stream starts: as long as
	// the longest visit, so that the stream starts in steady state.
	warmUp = botMax
	// maxWarmUpEvents caps the warm-up's cost at high rates.
	maxWarmUpEvents = 2_000_000

	// cooldown is a user's minimum pause between visits: strictly over the
	// 30-minute inactivity timeout.
	cooldown = 30*time.Minute + time.Second
	// minGap and maxGap bound the time between two events of one visit.
	minGap = 300 * time.Millisecond
	maxGap = 25 * time.Minute
	// idleShare of gaps are a break (phone call, coffee) of idleMin..idleMax.
	idleShare = 0.02
	idleMin   = 3 * time.Minute
	idleMax   = 25 * time.Minute

	// plannerShare of human visits are trip planners who keep going for
	// plannerMin..plannerMax, at plannerDwellScale times the usual pace.
	plannerShare      = 0.003
	plannerMin        = 2*time.Hour + 5*time.Minute
	plannerMax        = 5 * time.Hour
	plannerDwellScale = 2.0

	// Bots are botUserShare of the users and produce botEventShare of the
	// events, in visits of botMin..botMax.
	botUserShare  = 1.0 / 1000
	botEventShare = 0.03
	botMin        = 2*time.Hour + 10*time.Minute
	botMax        = 7 * time.Hour

	// zipfOffsetShare sets the Zipf-Mandelbrot offset q = users * share:
	// activity falls as 1/(rank+q), so the most active user is about
	// 1/zipfOffsetShare times as active as the least active one.
	zipfOffsetShare = 1.0 / 200

	// eventsPerUserPerDay paces the stream when only the event count is
	// given: 50,000 users make 1M events in a simulated day, about three
	// sessions per user.
	eventsPerUserPerDay = 20

	// maxLoad caps the share of the users' visiting capacity (one visit
	// plus cooldown at a time) that the requested rate may use, so most
	// drawn users are free and the activity skew survives.
	maxLoad = 0.5

	// numericTimestampShare of records carry event_timestamp as a JSON
	// integer instead of a string of digits; both are valid input.
	numericTimestampShare = 0.05

	// Delivery delays of out-of-order events: log-normal with a median of
	// seconds; about 0.2% exceed 10 minutes.
	lateMedian = 15 * time.Second
	lateSigma  = 1.3
	lateMin    = time.Second
	lateMax    = 45 * time.Minute

	// Re-sent duplicates arrive shortly after the original.
	dupMedian = 2 * time.Second
	dupSigma  = 1.0
	dupMin    = 20 * time.Millisecond
	dupMax    = 2 * time.Minute
)

// expectations are the model's mean figures, used to pace visits and to
// check that the users can sustain the requested rate.
type expectations struct {
	regularEvents, regularDurMs float64
	plannerEvents, plannerDurMs float64
	botEvents, botDurMs         float64
}

func lognormalMean(d dwell) float64 {
	return float64(d.median.Milliseconds()) * math.Exp(d.sigma*d.sigma/2)
}

// meanHumanGapMs is the mean gap after an event on page p.
func meanHumanGapMs(p page) float64 {
	idle := float64((idleMin + idleMax).Milliseconds()) / 2
	return (1-idleShare)*lognormalMean(humanDwell[p]) + idleShare*idle
}

// modelExpectations solves the human chain for expected events and time
// per visit (value iteration on an absorbing chain), and estimates the long
// visits from their planned length and pace.
func modelExpectations() expectations {
	var ev, dur [numPages]float64
	for range 500 {
		var nev, ndur [numPages]float64
		for p := range numPages {
			nev[p] = 1
			for q := range numPages {
				pr := humanChain[p][q]
				nev[p] += pr * ev[q]
				ndur[p] += pr * (meanHumanGapMs(p) + dur[q])
			}
		}
		ev, dur = nev, ndur
	}
	var x expectations
	for p := range numPages {
		x.regularEvents += humanEntry[p] * ev[p]
		x.regularDurMs += humanEntry[p] * dur[p]
	}
	avgGap := x.regularDurMs / math.Max(x.regularEvents-1, 1)
	x.plannerDurMs = float64((plannerMin + plannerMax).Milliseconds()) / 2
	x.plannerEvents = x.plannerDurMs/(avgGap*plannerDwellScale) + x.regularEvents
	x.botDurMs = float64((botMin + botMax).Milliseconds()) / 2
	x.botEvents = x.botDurMs / lognormalMean(botDwell)
	return x
}

package gen

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"
)

// Users come back after pauses over 30 minutes, so most have several
// sessions under the sessionizer's rules, and active ones many.
func TestUsersHaveSeveralSessions(t *testing.T) {
	users := byUser(accepted(realistic(t)))
	multi, many := 0, 0
	for _, evs := range users {
		n := len(sessions(evs, thirtyMin, twoHours))
		if n >= 2 {
			multi++
		}
		if n >= 10 {
			many++
		}
	}
	if multi < len(users)*3/4 {
		t.Errorf("%d of %d users have two or more sessions, want most", multi, len(users))
	}
	if many < len(users)/20 {
		t.Errorf("%d of %d users have ten or more sessions", many, len(users))
	}
}

// A small share of activity runs past the 2-hour maximum without a
// 30-minute pause: planners and bots.
func TestSomeSessionsRunPastTwoHours(t *testing.T) {
	users := byUser(accepted(realistic(t)))
	runs, long := 0, 0
	for _, evs := range users {
		for _, run := range sessions(evs, thirtyMin, 0) {
			runs++
			if run[len(run)-1].timeMs-run[0].timeMs > twoHours {
				long++
			}
		}
	}
	if long < 20 || long > runs/100 {
		t.Errorf("%d of %d activity runs last over 2 hours, want a few dozen at most 1%%", long, runs)
	}
}

// The funnel: visits go home -> search -> results -> details -> booking ->
// confirmation, with fewer visits reaching each later step.
func TestFunnelOrderAndDropOff(t *testing.T) {
	users := byUser(accepted(realistic(t)))
	funnel := []string{"home", "search", "results", "details", "booking", "confirmation"}
	reached := make(map[string]int)
	total, complete, backAndForth := 0, 0, 0
	confirmations, confirmedAfterBooking := 0, 0
	for _, evs := range users {
		for _, s := range sessions(evs, thirtyMin, twoHours) {
			total++
			pages := make([]string, len(s))
			for i, e := range s {
				pages[i] = e.page
			}
			for _, p := range funnel {
				if slices.Contains(pages, p) {
					reached[p]++
				}
			}
			if isSubsequence(funnel, pages) {
				complete++
			}
			if isSubsequence([]string{"results", "details", "results"}, pages) ||
				isSubsequence([]string{"results", "search", "results"}, pages) {
				backAndForth++
			}
			// A confirmation confirms a booking started earlier in the visit.
			for i, e := range s {
				if e.page != "confirmation" {
					continue
				}
				confirmations++
				for _, b := range s[:i] {
					if b.page == "booking" && b.booking["booking_id"] == e.booking["booking_id"] {
						confirmedAfterBooking++
						break
					}
				}
			}
		}
	}
	for i := 3; i < len(funnel); i++ {
		if reached[funnel[i]] >= reached[funnel[i-1]] {
			t.Errorf("%d sessions reach %s, %d reach %s: no drop-off", reached[funnel[i]], funnel[i], reached[funnel[i-1]], funnel[i-1])
		}
	}
	if share := float64(reached["confirmation"]) / float64(total); share < 0.01 || share > 0.10 {
		t.Errorf("%.3f of sessions book, want a travel site's few percent", share)
	}
	if complete < total/200 {
		t.Errorf("%d of %d sessions walk the whole funnel in order", complete, total)
	}
	if backAndForth < total/10 {
		t.Errorf("%d of %d sessions go back and forth between search, results and details", backAndForth, total)
	}
	// Malformed or lost records may hide a few bookings.
	if confirmedAfterBooking < confirmations*98/100 {
		t.Errorf("%d of %d confirmations follow their booking", confirmedAfterBooking, confirmations)
	}
}

func isSubsequence(want, pages []string) bool {
	i := 0
	for _, p := range pages {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	return i == len(want)
}

// Activity is power-law: a few users make a large share of the events.
func TestActivityIsSkewed(t *testing.T) {
	users := byUser(accepted(realistic(t)))
	var counts []int
	total := 0
	for _, evs := range users {
		counts = append(counts, len(evs))
		total += len(evs)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	top := 0
	for _, c := range counts[:len(counts)/100] {
		top += c
	}
	if share := float64(top) / float64(total); share < 0.05 {
		t.Errorf("the top 1%% of users make %.3f of events, want a heavy head", share)
	}
	// The head is not just bots: the 100th user is still far above the median.
	if counts[100] < 4*counts[len(counts)/2] {
		t.Errorf("100th user %d events, median %d: activity is too flat", counts[100], counts[len(counts)/2])
	}
}

// Within sessions events come in bursts seconds to minutes apart.
func TestEventsComeInBursts(t *testing.T) {
	users := byUser(accepted(realistic(t)))
	var gaps []int64
	for _, evs := range users {
		for _, s := range sessions(evs, thirtyMin, twoHours) {
			for i := 1; i < len(s); i++ {
				gaps = append(gaps, s[i].timeMs-s[i-1].timeMs)
			}
		}
	}
	slices.Sort(gaps)
	median, p90 := gaps[len(gaps)/2], gaps[len(gaps)*9/10]
	if median < 5_000 || median > 120_000 {
		t.Errorf("median gap within a session %dms, want seconds to a couple of minutes", median)
	}
	if p90 > 10*60_000 {
		t.Errorf("90th percentile gap within a session %dms, want a few minutes", p90)
	}
}

// The stream spans Events/Rate of event time, in arrival order: event time
// increases except for the late and re-sent records.
func TestSpanFollowsRate(t *testing.T) {
	c := smallConfig()
	c.Rate = 2 // 100k records over 50,000 s
	lines := collect(t, c)
	first, last := lines[0].rec.TimeMs, int64(0)
	for _, l := range lines {
		last = max(last, l.rec.TimeMs)
	}
	want := float64(c.Events) / c.Rate * 1000
	if got := float64(last - first); math.Abs(got-want) > 0.05*want {
		t.Errorf("span %.0fs, want about %.0fs", got/1000, want/1000)
	}
	// The site is in full swing from the start: no slow ramp-up.
	if first < c.Start.UnixMilli() || first > c.Start.UnixMilli()+5000 {
		t.Errorf("first event at %d, want just after the start time %d", first, c.Start.UnixMilli())
	}
	var firstHour int
	for _, l := range lines {
		if l.rec.TimeMs < first+3_600_000 {
			firstHour++
		}
	}
	if want := c.Rate * 3600; math.Abs(float64(firstHour)-want) > 0.15*want {
		t.Errorf("%d records in the first hour, want about %.0f", firstHour, want)
	}
}

// Rate and Duration alone fix the number of records.
func TestRateTimesDuration(t *testing.T) {
	c := smallConfig()
	c.NumUsers = 20_000
	c.Events, c.Rate, c.Duration = 0, 10, time.Hour
	lines := collect(t, c)
	if len(lines) != 36_000 {
		t.Fatalf("%d records, want 10/s for an hour = 36000", len(lines))
	}
}

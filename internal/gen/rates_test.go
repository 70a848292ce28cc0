package gen

import (
	"encoding/json"
	"math"
	"testing"
)

// observed is what a consumer can count in a stream, knowing nothing of
// the generator.
type observed struct {
	records, duplicates, malformed, late int
	lateBeyond10m                        int
	maxLateMs                            int64
	dupDistances                         []int // records between an original and its copy
}

func observe(lines []line) observed {
	var o observed
	first := make(map[[2]string]int) // (uuid, event_id) -> index of first delivery
	var maxSeen int64
	for i, l := range lines {
		o.records++
		if !l.valid {
			o.malformed++
			continue
		}
		k := [2]string{l.ev.uuid, l.ev.eventID}
		if j, ok := first[k]; ok {
			if lines[j].raw != l.raw {
				panic("a duplicate differs from its original: " + l.raw)
			}
			o.duplicates++
			o.dupDistances = append(o.dupDistances, i-j)
			continue
		}
		first[k] = i
		if l.ev.timeMs < maxSeen {
			o.late++
			lag := maxSeen - l.ev.timeMs
			o.maxLateMs = max(o.maxLateMs, lag)
			if lag > 10*60*1000 {
				o.lateBeyond10m++
			}
		}
		maxSeen = max(maxSeen, l.ev.timeMs)
	}
	return o
}

// near reports whether got is within tol (a fraction) of want, allowing
// for binomial noise of four standard deviations.
func near(got int, share float64, n int, tol float64) bool {
	want := share * float64(n)
	slack := math.Max(tol*want, 4*math.Sqrt(want))
	return math.Abs(float64(got)-want) <= slack
}

func TestImperfectionsNearConfiguredRates(t *testing.T) {
	for _, tc := range []struct {
		name          string
		dup, mal, ooo float64
	}{
		{"defaults", DefaultDuplicateRate, DefaultMalformedRate, DefaultOutOfOrderRate},
		{"high", 0.05, 0.02, 0.10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := smallConfig()
			c.Events = 200_000
			c.DuplicateRate, c.MalformedRate, c.OutOfOrderRate = tc.dup, tc.mal, tc.ooo
			g, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			lines := collect(t, c)
			o := observe(lines)
			if !near(o.duplicates, tc.dup, o.records, 0.1) {
				t.Errorf("%d duplicates in %d records, want about %.0f", o.duplicates, o.records, tc.dup*float64(o.records))
			}
			if !near(o.malformed, tc.mal, o.records, 0.1) {
				t.Errorf("%d malformed in %d records, want about %.0f", o.malformed, o.records, tc.mal*float64(o.records))
			}
			// A late record is seen as such unless nothing overtook it;
			// malformed ones are not counted.
			if !near(o.late, tc.ooo*(1-tc.mal), o.records, 0.15) {
				t.Errorf("%d records arrive after later events, want about %.0f", o.late, tc.ooo*float64(o.records))
			}
			// Lateness is seconds to minutes, rarely over 10 minutes.
			if o.lateBeyond10m > o.late/100 {
				t.Errorf("%d of %d late records are over 10 minutes late", o.lateBeyond10m, o.late)
			}
			if o.maxLateMs > (lateMax + dupMax).Milliseconds() {
				t.Errorf("a record is %dms late", o.maxLateMs)
			}
			for {
				if _, ok := g.Next(); !ok {
					break
				}
			}
			if st := g.Stats(); st.Duplicates != int64(o.duplicates) || st.Malformed != int64(o.malformed) {
				t.Errorf("Stats %d duplicates, %d malformed; the output has %d and %d", st.Duplicates, st.Malformed, o.duplicates, o.malformed)
			}
		})
	}
}

func TestZeroRatesGiveACleanStream(t *testing.T) {
	c := smallConfig()
	c.DuplicateRate, c.MalformedRate, c.OutOfOrderRate = 0, 0, 0
	o := observe(collect(t, c))
	if o.duplicates+o.malformed+o.late != 0 {
		t.Fatalf("clean stream has %d duplicates, %d malformed, %d late", o.duplicates, o.malformed, o.late)
	}
}

// A duplicate is re-sent shortly after its original, not at a random
// later point of the stream.
func TestDuplicatesFollowShortlyAfter(t *testing.T) {
	o := observe(realistic(t))
	if len(o.dupDistances) == 0 {
		t.Fatal("no duplicates")
	}
	// 2 minutes at 1.16 records/s is about 140 records.
	soon := 0
	for _, d := range o.dupDistances {
		if d <= 150 {
			soon++
		}
	}
	if soon < len(o.dupDistances)*95/100 {
		t.Errorf("only %d of %d duplicates follow within 150 records", soon, len(o.dupDistances))
	}
}

// Malformed records come in every kind the sessionizer must reject.
func TestMalformedKinds(t *testing.T) {
	c := smallConfig()
	c.MalformedRate = 0.05
	kinds := map[string]int{}
	for _, l := range collect(t, c) {
		if l.valid {
			continue
		}
		var m map[string]any
		switch {
		case json.Unmarshal([]byte(l.raw), &m) != nil:
			kinds["not json"]++
		case m["uuid"] == nil || m["uuid"] == "":
			kinds["no uuid"]++
			if l.rec.UUID != nil {
				t.Errorf("record without uuid has key %q", l.rec.UUID)
			}
		case m["event_id"] == nil || m["event_id"] == "":
			kinds["no event_id"]++
		default:
			kinds["bad timestamp"]++
			if ts, ok := m["event_timestamp"].(string); ok && ts == "yesterday" {
				kinds["yesterday"]++
			}
		}
	}
	for _, k := range []string{"not json", "no uuid", "no event_id", "bad timestamp", "yesterday"} {
		if kinds[k] < 20 {
			t.Errorf("%d malformed records of kind %q; kinds: %v", kinds[k], k, kinds)
		}
	}
}

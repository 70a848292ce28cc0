package gen

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"testing"
)

// line is one output record as a consumer sees it, checked with
// encoding/json against the input rules (conformance README, rule 3).
type line struct {
	raw   string
	rec   Record // UUID and Line copied
	valid bool
	ev    parsedEvent // when valid
}

type parsedEvent struct {
	eventID, page, uuid   string
	timeMs                int64
	numericTS             bool
	name, typ, value      string
	booking               map[string]any // nil when booking_details is null
	bookingRaw, detailRaw json.RawMessage
}

// collect runs cfg to the end through Next, copying every record.
func collect(t testing.TB, cfg Config) []line {
	t.Helper()
	lines, err := collectE(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func collectE(cfg Config) ([]line, error) {
	g, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var out []line
	for {
		rec, ok := g.Next()
		if !ok {
			break
		}
		rec.Line = bytes.Clone(rec.Line)
		rec.UUID = bytes.Clone(rec.UUID)
		l := line{raw: string(rec.Line), rec: rec}
		l.ev, l.valid = parseEvent(rec.Line)
		out = append(out, l)
	}
	return out, nil
}

// parseEvent applies the input rules: a JSON object with a non-empty string
// uuid and event_id, and event_timestamp a string of digits or a JSON
// integer.
func parseEvent(b []byte) (parsedEvent, bool) {
	var p parsedEvent
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil || m == nil {
		return p, false
	}
	if json.Unmarshal(m["uuid"], &p.uuid) != nil || p.uuid == "" {
		return p, false
	}
	if json.Unmarshal(m["event_id"], &p.eventID) != nil || p.eventID == "" {
		return p, false
	}
	ts := m["event_timestamp"]
	var s string
	switch {
	case len(ts) > 0 && ts[0] == '"':
		if json.Unmarshal(ts, &s) != nil {
			return p, false
		}
	default:
		s, p.numericTS = string(ts), true
	}
	if s == "" || len(s) > 19 || bytes.IndexFunc([]byte(s), func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return p, false
	}
	p.timeMs, _ = strconv.ParseInt(s, 10, 64)
	_ = json.Unmarshal(m["page_name"], &p.page)
	p.bookingRaw, p.detailRaw = m["booking_details"], m["event_details"]
	_ = json.Unmarshal(p.bookingRaw, &p.booking)
	var d struct {
		Name  string `json:"event_name"`
		Type  string `json:"event_type"`
		Value string `json:"event_value"`
	}
	_ = json.Unmarshal(p.detailRaw, &d)
	p.name, p.typ, p.value = d.Name, d.Type, d.Value
	return p, true
}

// objectKeys lists the top-level keys of a JSON object in written order.
func objectKeys(b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				depth++
				expectKey = depth == 1 && v == '{'
			default:
				depth--
				expectKey = depth == 1
			}
			continue
		case string:
			if depth == 1 && expectKey {
				keys = append(keys, v)
				expectKey = false
				continue
			}
		}
		expectKey = depth == 1
	}
}

// realistic is a stream big enough for the behaviour to show: 5,000 users
// over about three simulated days.
func realisticConfig() Config {
	c := DefaultConfig()
	c.Seed = 7
	c.NumUsers = 5000
	c.Events = 300_000
	return c
}

// realisticStream is generated once and shared by the tests that only read
// it.
var realisticStream = sync.OnceValues(func() ([]line, error) { return collectE(realisticConfig()) })

func realistic(t *testing.T) []line {
	t.Helper()
	lines, err := realisticStream()
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

// accepted returns the valid records, first delivery only, as the
// sessionizer would keep them.
func accepted(lines []line) []*parsedEvent {
	seen := make(map[[2]string]bool)
	var out []*parsedEvent
	for i := range lines {
		l := &lines[i]
		if !l.valid {
			continue
		}
		k := [2]string{l.ev.uuid, l.ev.eventID}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, &l.ev)
	}
	return out
}

// byUser groups events by uuid, each user's sorted by (time, event_id).
func byUser(evs []*parsedEvent) map[string][]*parsedEvent {
	m := make(map[string][]*parsedEvent)
	for _, e := range evs {
		m[e.uuid] = append(m[e.uuid], e)
	}
	for _, list := range m {
		sort.Slice(list, func(i, j int) bool {
			if list[i].timeMs != list[j].timeMs {
				return list[i].timeMs < list[j].timeMs
			}
			return list[i].eventID < list[j].eventID
		})
	}
	return m
}

// sessions splits one user's sorted events where the gap exceeds gapMs;
// maxMs > 0 also splits when an event is more than maxMs after the start.
func sessions(evs []*parsedEvent, gapMs, maxMs int64) [][]*parsedEvent {
	var out [][]*parsedEvent
	var cur []*parsedEvent
	for _, e := range evs {
		if len(cur) > 0 {
			last, first := cur[len(cur)-1].timeMs, cur[0].timeMs
			if e.timeMs-last > gapMs || (maxMs > 0 && e.timeMs-first > maxMs) {
				out = append(out, cur)
				cur = nil
			}
		}
		cur = append(cur, e)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

const (
	thirtyMin = 30 * 60 * 1000
	twoHours  = 2 * 60 * 60 * 1000
)

func writeAll(t testing.TB, cfg Config) []byte {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := Write(context.Background(), g, &buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

package batch

import (
	"bytes"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// rejectedRecord is one record that did not become an event: rejected for
// reason, or late (see resumeCut).
type rejectedRecord struct {
	raw    []byte
	reason event.Reason
	late   bool
	source string // file:line
}

func (r *rejectedRecord) why() string {
	if r.late {
		return reasonLate
	}
	return r.reason.String()
}

// parsed is what one unit of input turned into.
type parsed struct {
	slabs    [][]byte // encoded accepted events, by partition
	rejected []rejectedRecord
	counts   event.Counts // by outcome; counts[event.OK] are accepted
	records  int64
	late     int64 // valid events older than the resumed state allows
	maxMs    int64
	times    event.TimeCheck // of the valid events read (not resumed ones)
	bytes    int64           // input bytes this unit covered, for progress
}

// partitioner routes accepted events to partitions and keeps rejected ones.
type partitioner struct {
	out *parsed
	// slabs holds out's encoded events by partition until take copies
	// them into out.slabs at their size. The buffers are reused from unit to
	// unit, so slabs no longer grow by doubling: that was a sixth of a run's
	// CPU, in copies, and a quarter of each slab held unused until folding.
	slabs   []slabBuilder
	users   slabUsers // the users of the slabs under way
	parts   uint64
	cut     *resumeCut // nil unless resuming
	keepRaw bool       // events keep their record, for --output-events
	marker  *rule.Marker
	attrs   []byte // scratch for an event's attribute input
	refMs   int64  // the input's modification time, for event.TimeCheck; 0: none
}

// newPartitioner routes events of cfg's run; mk (nil: no rules) marks
// them by the boundary rules.
func newPartitioner(parts int, cfg *Config, mk *rule.Marker) *partitioner {
	return &partitioner{out: newParsed(parts), slabs: make([]slabBuilder, parts), parts: uint64(parts), cut: cfg.resumed,
		keepRaw: cfg.keepsEvents(), marker: mk}
}

func newParsed(parts int) *parsed {
	return &parsed{slabs: make([][]byte, parts), maxMs: -1 << 63}
}

// take returns the unit routed since the last take, and starts the next.
func (p *partitioner) take() *parsed {
	o := p.out
	for i := range p.slabs {
		o.slabs[i] = p.slabs[i].take()
	}
	p.users.reset()
	p.out = newParsed(len(p.slabs))
	return o
}

// event takes a valid event: accepted, or late if the resumed state says
// so.
func (p *partitioner) event(seq uint64, f *event.Fields, raw []byte, file string, line int64) {
	p.out.times.Observe(f.TimestampMs, p.refMs)
	if p.cut.late(f.UUID, f.TimestampMs) {
		p.out.late++
		p.keep(raw, rejectedRecord{late: true}, file, line)
		return
	}
	var mark session.Mark
	mark, p.attrs = p.marker.Eval(f.Extra, p.attrs[:0])
	p.accept(seq, f, raw, mark, p.attrs)
}

// partitionOf must be stable across runs and machines: it decides which
// partition (and so which output position) a user's sessions get, and a
// resumed run must route a user's carried events like the new ones. It
// also returns the hash, which finds the user in the slab (slabUsers).
func partitionOf(uuid []byte, parts uint64) (int, uint64) {
	h := xxhash.Sum64(uuid)
	return int(h % parts), h
}

func (p *partitioner) accept(seq uint64, f *event.Fields, raw []byte, mark session.Mark, attrs []byte) {
	o := p.out
	o.records++
	o.counts[event.OK]++
	i, h := partitionOf(f.UUID, p.parts)
	if !p.keepRaw {
		raw = nil
	}
	p.slabs[i].add(&p.users, h, seq, f.TimestampMs, f.UUID, f.EventID, f.PageName, raw, mark, attrs)
	if f.TimestampMs > o.maxMs {
		o.maxMs = f.TimestampMs
	}
}

func (p *partitioner) reject(raw []byte, reason event.Reason, file string, line int64) {
	p.out.counts[reason]++
	p.keep(raw, rejectedRecord{reason: reason}, file, line)
}

// keep counts a record that is not an event and keeps it for the rejected
// output.
func (p *partitioner) keep(raw []byte, r rejectedRecord, file string, line int64) {
	o := p.out
	o.records++
	src := make([]byte, 0, len(file)+12)
	src = append(src, file...)
	src = append(src, ':')
	src = strconv.AppendInt(src, line, 10)
	r.raw, r.source = bytes.Clone(raw), string(src)
	o.rejected = append(o.rejected, r)
}

// jsonlChunk is a run of complete lines of one JSON lines input.
type jsonlChunk struct {
	data  []byte
	seq   uint64 // seq of the first line
	line  int64  // line number of the first line in its file
	file  string
	refMs int64 // the file's modification time; 0: none
}

// parseJSONL parses every line of c, routing them with p. It runs on many
// goroutines at once, each with its own Parser and partitioner.
func parseJSONL(ps *event.Parser, p *partitioner, c *jsonlChunk) *parsed {
	p.refMs = c.refMs
	p.out.bytes = int64(len(c.data))
	var f event.Fields
	data := c.data
	seq, line := c.seq, c.line
	for len(data) > 0 {
		var rec []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			rec, data = data[:i], data[i+1:]
		} else {
			rec, data = data, nil
		}
		if n := len(rec); n > 0 && rec[n-1] == '\r' {
			rec = rec[:n-1]
		}
		if r := ps.Parse(rec, &f); r == event.OK {
			p.event(seq, &f, rec, c.file, line)
		} else {
			p.reject(rec, r, c.file, line)
		}
		seq++
		line++
	}
	return p.take()
}

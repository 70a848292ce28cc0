package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// The checkpoint of a Stream is a compact binary image: a header (format,
// rules, lateness, watermark input, counts), a dictionary of page names,
// every open user with its folded session and pending events, then the
// Dedup bound and the remembered keys oldest first (16 bytes and a time
// delta each). It holds
// only what the output needs, so a checkpoint is small enough to write on
// every commit.
//
// Format 3 adds the boundary rules (after the header numbers), each open
// session's last event's mark and first event's id (for the session id
// under rules), and each pending event's raw record (empty
// unless the Stream tags events) and mark. Format 2 (no raw records) and format 1 (before remembered
// keys, read as a Stream that remembers no keys yet) are still read.

const (
	streamStateMagic  = "SZST3"
	streamStateMagic2 = "SZST2"
	streamStateMagic1 = "SZST1"
)

var errBadState = errors.New("corrupt stream checkpoint")

// AppendState appends the Stream's checkpoint to b.
func (s *Stream) AppendState(b []byte) []byte {
	b = append(b, streamStateMagic...)
	for _, v := range []int64{s.rules.InactivityMs, s.rules.MaxDurationMs, int64(s.rules.MaxPages), s.latenessMs, s.maxSeenMs,
		s.stats.Accepted, s.stats.Duplicates, s.stats.Late, s.stats.Sessions, s.stats.SessionEvents} {
		b = binary.AppendVarint(b, v)
	}
	b = appendStr(b, s.rules.StartOn)
	b = appendStr(b, s.rules.EndOn)
	b = appendStr(b, s.rules.Attrs)
	users := s.users.all()
	// The dictionary's index of each page handle, plus one (0: not yet in).
	dict := make([]uint32, s.pages.handles())
	var pages []string
	page := func(r strRef) uint64 {
		if dict[r] == 0 {
			pages = append(pages, s.pages.str(r))
			dict[r] = uint32(len(pages))
		}
		return uint64(dict[r] - 1)
	}
	// Sorted so the same state always gives the same bytes.
	slices.SortFunc(users, func(a, b *streamUser) int { return strings.Compare(a.uuid, b.uuid) })
	for _, u := range users {
		if u.cur.count > 0 {
			for _, p := range u.cur.pages {
				page(p)
			}
			page(u.cur.exitPage)
		}
		for i := range u.pending {
			page(u.pending[i].page)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(pages)))
	for _, p := range pages {
		b = appendStr(b, p)
	}
	b = binary.AppendUvarint(b, uint64(len(users)))
	for _, u := range users {
		c := &u.cur
		b = appendStr(b, u.uuid)
		b = binary.AppendVarint(b, c.count)
		if c.count > 0 {
			b = binary.AppendVarint(b, c.startMs)
			b = binary.AppendVarint(b, c.lastMs-c.startMs)
			b = binary.AppendUvarint(b, page(c.exitPage))
			trunc := uint64(0)
			if c.truncated {
				trunc = 1
			}
			b = binary.AppendUvarint(b, trunc)
			b = binary.AppendUvarint(b, uint64(len(c.pages)))
			for _, p := range c.pages {
				b = binary.AppendUvarint(b, page(p))
			}
			b = append(b, byte(c.lastMark))
			b = appendStr(b, c.firstID)
			b = appendStr(b, string(c.attrs))
		}
		b = binary.AppendUvarint(b, uint64(len(u.pending)))
		for i := range u.pending {
			p := &u.pending[i]
			b = binary.AppendVarint(b, p.timeMs)
			b = binary.AppendUvarint(b, p.seq)
			b = appendStr(b, s.idString(&p.id))
			b = binary.AppendUvarint(b, page(p.page))
			x := s.extra(p)
			b = appendStr(b, x.raw)
			b = append(b, byte(x.mark))
			b = appendStr(b, x.attrs)
		}
	}
	b = binary.AppendVarint(b, s.recent.d.WindowMs)
	b = binary.AppendVarint(b, int64(s.recent.d.MaxKeys))
	b = binary.AppendUvarint(b, uint64(s.recent.n))
	prev := int64(0)
	s.recent.each(func(_ int, e recentEntry) {
		b = binary.LittleEndian.AppendUint64(b, e.key.user)
		b = binary.LittleEndian.AppendUint64(b, e.key.id)
		b = binary.AppendVarint(b, e.timeMs-prev)
		prev = e.timeMs
	})
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// RestoreStream rebuilds a Stream from AppendState's bytes. The rules and
// lateness must match the ones it was written with: changing them under
// open sessions would silently change what those sessions become. The
// Stream remembers keys under the Dedup bound it was written with until
// SetDedup changes it.
func RestoreStream(rules Rules, allowedLatenessMs int64, data []byte) (*Stream, error) {
	d := stateDecoder{b: data}
	withRaw := strings.HasPrefix(string(data), streamStateMagic)
	withKeys := withRaw || strings.HasPrefix(string(data), streamStateMagic2)
	if !withKeys && !strings.HasPrefix(string(data), streamStateMagic1) {
		return nil, errBadState
	}
	d.b = d.b[len(streamStateMagic):]
	hdr := make([]int64, 10)
	for i := range hdr {
		hdr[i] = d.varint()
	}
	if d.err != nil {
		return nil, d.err
	}
	var startOn, endOn, attrs string
	if withRaw {
		startOn, endOn, attrs = d.str(), d.str(), d.str()
		if d.err != nil {
			return nil, d.err
		}
	}
	if startOn != rules.StartOn || endOn != rules.EndOn {
		return nil, fmt.Errorf("checkpoint was written with --start-session-on %q and --end-session-on %q; now %q and %q: "+
			"run with the same rules or start from a fresh table (changing them would change sessions already open)",
			startOn, endOn, rules.StartOn, rules.EndOn)
	}
	if attrs != rules.Attrs {
		return nil, fmt.Errorf("checkpoint was written with the session attributes %q, now %q: the open sessions' attributes "+
			"cannot be recomputed; stop the old run with --drain (closing every open session), then start with the new attributes",
			strings.ReplaceAll(attrs, "\n", " "), strings.ReplaceAll(rules.Attrs, "\n", " "))
	}
	if hdr[0] != rules.InactivityMs || hdr[1] != rules.MaxDurationMs || hdr[2] != int64(rules.MaxPages) || hdr[3] != allowedLatenessMs {
		return nil, fmt.Errorf("checkpoint was written with inactivity %dms, max duration %dms, max pages %d, lateness %dms; now %dms, %dms, %d, %dms: run with the same settings or start from a fresh table",
			hdr[0], hdr[1], hdr[2], hdr[3], rules.InactivityMs, rules.MaxDurationMs, rules.MaxPages, allowedLatenessMs)
	}
	s := NewStream(rules, allowedLatenessMs)
	s.maxSeenMs = hdr[4]
	s.stats = StreamStats{Accepted: hdr[5], Duplicates: hdr[6], Late: hdr[7], Sessions: hdr[8], SessionEvents: hdr[9]}
	pages := make([]string, d.count())
	for i := range pages {
		pages[i] = d.str()
	}
	// page reads a page name and returns a reference to it.
	page := func() strRef {
		i := d.uvarint()
		if i >= uint64(len(pages)) {
			d.fail()
			return 0
		}
		return s.pages.intern(pages[i])
	}
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		u := &streamUser{uuid: d.str(), dueIdx: -1}
		u.uh = xxhash.Sum64String(u.uuid)
		c := &u.cur
		c.count = d.varint()
		if c.count > 0 {
			c.startMs = d.varint()
			c.lastMs = c.startMs + d.varint()
			c.exitPage = page()
			c.truncated = d.uvarint() == 1
			c.pages = make([]strRef, d.count())
			for j := range c.pages {
				c.pages[j] = page()
			}
			if withRaw {
				c.lastMark = Mark(d.byte())
				c.firstID = d.str()
				if a := d.str(); a != "" {
					c.attrs = []byte(a)
				}
			}
		}
		u.pending = make([]pendingEvent, d.count())
		for j := range u.pending {
			p := &u.pending[j]
			p.timeMs = d.varint()
			p.seq = d.uvarint()
			p.id = s.newID(d.str())
			p.page = page()
			if withRaw {
				x := pendingExtra{raw: d.str(), mark: Mark(d.byte()), attrs: d.str()}
				if x != (pendingExtra{}) {
					p.ext = s.extras.add(x)
				}
			}
			s.pending[pendingKey{u.uh, s.idHash(&p.id)}] = struct{}{}
		}
		if d.err != nil {
			break
		}
		if s.users.get(u.uh, u.uuid) != nil {
			d.fail() // a user twice: not a state AppendState writes
			break
		}
		s.users.put(u)
		s.schedule(u)
	}
	if withKeys && d.err == nil {
		bound := Dedup{WindowMs: d.varint(), MaxKeys: int(d.varint())}
		if bound.WindowMs < 0 || bound.MaxKeys < 0 {
			d.fail()
		}
		s.recent.d = bound
		n := d.count()
		if n > bound.MaxKeys {
			d.fail()
		}
		prev := int64(0)
		for i := 0; i < n && d.err == nil; i++ {
			e := recentEntry{key: pendingKey{user: d.uint64(), id: d.uint64()}}
			e.timeMs = prev + d.varint()
			prev = e.timeMs
			if d.err == nil {
				if s.recent.has(e.key) {
					d.fail() // AppendState never writes a key twice
					break
				}
				s.recent.push(e)
			}
		}
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	s.pendingFloor = math.MaxInt64
	s.users.each(func(u *streamUser) {
		if len(u.pending) > 0 {
			s.pendingFloor = min(s.pendingFloor, u.pending[0].timeMs)
		}
	})
	s.pendingFloor = min(s.pendingFloor, s.Watermark())
	s.dropPendingIfCovered()
	return s, nil
}

type stateDecoder struct {
	b   []byte
	err error
}

func (d *stateDecoder) fail() {
	if d.err == nil {
		d.err = errBadState
	}
	d.b = nil
}

func (d *stateDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *stateDecoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *stateDecoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *stateDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must fit in what is left, so a corrupt
// checkpoint cannot make us allocate without bound.
func (d *stateDecoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) || v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *stateDecoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

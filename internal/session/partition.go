package session

// Partition holds the events of a set of users, in any order, and turns them
// into sessions when the data is complete. Batch mode hashes users into
// partitions so each is folded independently (and can be spilled to disk);
// the stream keeps one per Kafka partition.
//
// Strings passed to Add are kept as they are, not copied: they must stay
// valid and unchanged until Close returns.
type Partition struct {
	rules  Rules
	index  map[string]uint32 // uuid -> user number, in order of first appearance
	users  []string
	counts []uint32 // events per user
	events []Event
	owner  []uint32 // user number of events[i]
	maxMs  int64

	ord  orderer
	fold folder
}

// NewPartition returns an empty Partition that applies rules.
func NewPartition(rules Rules) *Partition {
	return &Partition{
		rules: rules,
		index: make(map[string]uint32),
		maxMs: -1 << 63,
		ord:   newOrderer(),
		fold:  folder{rules: rules},
	}
}

// Add records one accepted event of user uuid.
func (p *Partition) Add(uuid string, ev Event) {
	u, ok := p.index[uuid]
	if !ok {
		u = uint32(len(p.users))
		p.index[uuid] = u
		p.users = append(p.users, uuid)
		p.counts = append(p.counts, 0)
	}
	p.counts[u]++
	p.events = append(p.events, ev)
	p.owner = append(p.owner, u)
	if ev.TimeMs > p.maxMs {
		p.maxMs = ev.TimeMs
	}
}

// Len is the number of events added.
func (p *Partition) Len() int { return len(p.events) }

// MaxTimeMs is the latest event time added, or math.MinInt64 if none.
func (p *Partition) MaxTimeMs() int64 { return p.maxMs }

// Result counts what Close did with the events.
type Result struct {
	Events     int64 // events that ended in emitted sessions
	Duplicates int64
	Sessions   int64
	Carried    int64 // events of sessions handed to carry
	Users      int64
}

// Close cuts every user's events into sessions. endMs is the latest event
// time of the whole input (not just this partition): a session whose close
// deadline is before it is closed. The remaining open sessions are emitted
// as EndOfInput, or, if carry is not nil, handed to carry (ordered and
// deduplicated) so a later run can continue them. Sessions are emitted user
// by user in order of first appearance. The Partition is empty afterwards.
func (p *Partition) Close(endMs int64, carry func(uuid string, evs []Event), emit func(*Session)) Result {
	var res Result
	grouped := p.groupByUser()
	off := 0
	for u, uuid := range p.users {
		evs := grouped[off : off+int(p.counts[u])]
		off += int(p.counts[u])
		evs, dups := p.ord.sortDedupe(evs)
		res.Duplicates += int64(dups)
		n := p.fold.fold(uuid, evs, endMs, carry == nil, func(s *Session) {
			res.Sessions++
			res.Events += s.EventCount
			emit(s)
		})
		if n < len(evs) {
			res.Carried += int64(len(evs) - n)
			carry(uuid, evs[n:])
		}
	}
	res.Users = int64(len(p.users))
	*p = *NewPartition(p.rules)
	return res
}

// groupByUser returns the events laid out user by user (counting sort on
// the user number), keeping arrival order within a user.
func (p *Partition) groupByUser() []Event {
	starts := make([]uint32, len(p.users))
	var sum uint32
	for u, c := range p.counts {
		starts[u] = sum
		sum += c
	}
	out := make([]Event, len(p.events))
	for i := range p.events {
		u := p.owner[i]
		out[starts[u]] = p.events[i]
		starts[u]++
	}
	return out
}

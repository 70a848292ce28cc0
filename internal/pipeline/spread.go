package pipeline

import (
	"fmt"
	"slices"
)

// A user's sessions come out whole only if all of their events are in one
// partition: each partition is sessionized on its own. Kafka keeps a user
// on one partition when the producer keys each record by the user (the
// default partitioner hashes the key); records without a key, or keyed by
// something else (a device, a request id), spread a user over partitions
// and every session of theirs is split, silently. The partitions of this
// process sample their users, and a user sampled on two of them is that
// split seen: the advice names the user, the partitions and the keys.

// spreadEvery: one record in spreadEvery is sampled (by offset: no hash on
// the hot path).
const spreadEvery = 32

// spreadMaxUsers bounds a partition's sample.
const spreadMaxUsers = 8192

// userSample is a partition's sampled users, with the key of the record
// each was first sampled from.
type userSample struct {
	keys map[string]string // user -> record key
}

func (s *userSample) observe(offset int64, user, key []byte) {
	if offset%spreadEvery != 0 || len(s.keys) >= spreadMaxUsers {
		return
	}
	if s.keys == nil {
		s.keys = map[string]string{}
	}
	if _, ok := s.keys[string(user)]; !ok {
		s.keys[string(user)] = string(key)
	}
}

// splitUser is a user found in two partitions' samples.
type splitUser struct {
	user       string
	partitions [2]int32
	keys       [2]string
}

// findSplitUser returns a user sampled in two of the partitions (lowest
// partitions first, for a stable message), if any.
func findSplitUser(samples map[int32]*userSample) (splitUser, bool) {
	ids := make([]int32, 0, len(samples))
	for id := range samples {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	first := map[string]int32{}
	for _, id := range ids {
		for u := range samples[id].keys {
			if other, ok := first[u]; ok {
				return splitUser{user: u, partitions: [2]int32{other, id}, keys: [2]string{samples[other].keys[u], samples[id].keys[u]}}, true
			}
			first[u] = id
		}
	}
	return splitUser{}, false
}

// splitUser returns a user sampled in two of the partitions held: the one
// found before while both are still held (the advice is said again only
// when its text changes, and a map's order would change it every time).
func (p *Pipeline) splitUser() (splitUser, bool) {
	if s := p.lastSplit; s != nil && p.parts[s.partitions[0]] != nil && p.parts[s.partitions[1]] != nil {
		return *s, true
	}
	samples := map[int32]*userSample{}
	for _, id := range p.owned() {
		samples[id] = &p.parts[id].check.users
	}
	s, ok := findSplitUser(samples)
	if ok {
		p.lastSplit = &s
	}
	return s, ok
}

// spreadAdvice says what a split user means and what to do.
func spreadAdvice(s splitUser, userField string, grown bool) string {
	keys := fmt.Sprintf("their record keys were %q and %q", s.keys[0], s.keys[1])
	if s.keys[0] == "" && s.keys[1] == "" {
		keys = "their records have no key"
	}
	cause := "the records are not partitioned by user"
	if grown {
		cause = "the topic grew (see the warning about its partitions), or the records are not partitioned by user"
	}
	return fmt.Sprintf("user %q has events in partitions %d and %d (%s): %s, so each partition sessionizes part of a user's events and their sessions are split; "+
		"key each record by its user (the value of %s), as sessionize produce does, and Kafka keeps a user on one partition",
		s.user, s.partitions[0], s.partitions[1], keys, cause, userField)
}

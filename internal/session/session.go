package session

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"

	"github.com/google/uuid"
)

// Event is one accepted event of a user, as the engine sees it.
type Event struct {
	TimeMs int64
	// Seq is the arrival order; among duplicates the earliest arrival wins.
	Seq  uint64
	ID   string
	Page string
	// Raw is the original record, carried opaque for event-level output;
	// empty unless the caller keeps events (see Partition.KeepEvents).
	Raw string
	// Mark says whether the user's boundary rules matched the event
	// (Rules.StartOn, Rules.EndOn); the caller evaluates them.
	Mark Mark
	// Attrs is the event's input to the session attributes (Rules.Attrs),
	// opaque to the engine: it folds them with the AttrFold it is given.
	Attrs string
}

// AttrFold folds one event's attribute input into a session's attribute
// state, nil before the first event; both are opaque to the engine, which
// keeps the state in its checkpoints and hands it out as Session.Attrs.
type AttrFold func(state []byte, input string) []byte

// Mark holds the boundary rules an event matched.
type Mark uint8

const (
	// StartsSession: the event starts a new session (--start-session-on).
	StartsSession Mark = 1 << iota
	// EndsSession: the event is the last of its session (--end-session-on).
	EndsSession
)

// Session is one output session. The Pages slice is reused after the emit
// callback returns (its strings are not): copy the slice to keep it.
type Session struct {
	UUID           string
	StartMs        int64
	EndMs          int64
	EventCount     int64
	Pages          []string
	PagesTruncated bool
	EntryPage      string
	ExitPage       string
	EndReason      EndReason
	// FirstEventID is the id of the session's first event, set only under
	// boundary rules: there a user can have two sessions starting in the
	// same millisecond (an end-marked event and the next one), so the id
	// must tell them apart. Without rules it stays empty and ids are as
	// they always were.
	FirstEventID string
	// Attrs is the state of the session attributes after all its events
	// (see AttrFold); nil without attributes. Reused after the emit
	// callback returns, like Pages.
	Attrs []byte
	// Events are the session's events in session order (an event's index
	// in the session is its position), set only when the engine keeps
	// events. Reused after the emit callback returns, like Pages.
	Events []Event
}

// DurationSeconds is end - start in seconds with millisecond precision.
func (s *Session) DurationSeconds() float64 {
	return float64(s.EndMs-s.StartMs) / 1000
}

// idNamespace roots session ids; fixed forever so ids are stable across
// versions, runs, batch and stream.
var idNamespace = uuid.MustParse("6f1c3d52-8a7e-4b7e-9d2f-5e0b1a9c4d11")

// ID is the session's deterministic id: a UUIDv5 of uuid and start time
// (and, under boundary rules, the first event's id). Without rules a user
// cannot have two sessions starting at the same millisecond, so it is
// unique; with them FirstEventID makes it so.
func (s *Session) ID() string { return SessionID(s.UUID, s.StartMs, s.FirstEventID) }

// SessionID is the id of user's session starting at startMs with first
// event firstEventID ("" without boundary rules): see Session.ID.
func SessionID(user string, startMs int64, firstEventID string) string {
	var buf [36]byte
	return string(AppendSessionID(buf[:0], user, startMs, firstEventID))
}

// AppendID appends s.ID() to b.
func (s *Session) AppendID(b []byte) []byte {
	return AppendSessionID(b, s.UUID, s.StartMs, s.FirstEventID)
}

// AppendSessionID appends SessionID(user, startMs, firstEventID) to b.
// It is uuid.NewSHA1(idNamespace, name).String() without the hash object
// and strings that costs per call: session ids are a tenth of a batch
// run's CPU when written that way.
func AppendSessionID(b []byte, user string, startMs int64, firstEventID string) []byte {
	var buf [256]byte
	name := append(buf[:0], idNamespace[:]...)
	name = append(name, user...)
	name = append(name, 0)
	name = strconv.AppendInt(name, startMs, 10)
	if firstEventID != "" {
		name = append(name, 0)
		name = append(name, firstEventID...)
	}
	sum := sha1.Sum(name)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return appendUUID(b, &id)
}

// appendUUID appends id in its canonical form, 8-4-4-4-12 lower-case hex.
func appendUUID(b []byte, id *uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	return append(b, s[:]...)
}

// TaggedEvent is an event placed in its session: the Stream hands it out
// as soon as the event's place is final (see Stream.TagEvents), before
// the session closes.
type TaggedEvent struct {
	UUID           string
	SessionStartMs int64
	// SessionFirstID is the session's FirstEventID.
	SessionFirstID string
	// Index is the 0-based position in the session.
	Index int64
	Event
}

// SessionID is the id of the session the event belongs to.
func (t *TaggedEvent) SessionID() string {
	return SessionID(t.UUID, t.SessionStartMs, t.SessionFirstID)
}

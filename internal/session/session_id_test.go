package session

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestSessionIDIsUUIDv5 pins the id to its definition, a UUIDv5 under
// idNamespace of user, NUL, start and (with rules) NUL, first event id:
// ids already in users' tables must never change.
func TestSessionIDIsUUIDv5(t *testing.T) {
	long := strings.Repeat("u", 300) // longer than the name's stack buffer
	for _, tc := range []struct {
		user    string
		startMs int64
		first   string
		want    string
	}{
		{user: "u1", startMs: 1793491206116},
		{user: "61e59a23-0b78-401f-aebd-be30cd974bea", startMs: 1793491206116, want: "d689a3d1-049d-599f-b1dd-294126683615"},
		{user: "u1", startMs: -5, first: "e1"},
		{user: "", startMs: 0},
		{user: long, startMs: 1, first: long},
		{user: "ünïcode\x00", startMs: 1 << 50, first: "x"},
	} {
		name := tc.user + "\x00" + strconv.FormatInt(tc.startMs, 10)
		if tc.first != "" {
			name += "\x00" + tc.first
		}
		ref := uuid.NewSHA1(idNamespace, []byte(name)).String()
		got := SessionID(tc.user, tc.startMs, tc.first)
		if got != ref {
			t.Errorf("SessionID(%.20q, %d, %q) = %s, want %s", tc.user, tc.startMs, tc.first, got, ref)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("SessionID(%q, %d) = %s, want %s (an id in a written table)", tc.user, tc.startMs, got, tc.want)
		}
		s := Session{UUID: tc.user, StartMs: tc.startMs, FirstEventID: tc.first}
		if b := s.AppendID([]byte("x")); string(b) != "x"+ref {
			t.Errorf("AppendID = %s, want x%s", b, ref)
		}
	}
}

// BenchmarkSessionID: AppendID against the uuid package's way to the
// same string, which the id was written with before.
func BenchmarkSessionID(b *testing.B) {
	s := Session{UUID: "61e59a23-0b78-401f-aebd-be30cd974bea", StartMs: 1793491206116}
	b.Run("append", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf = s.AppendID(buf[:0])
		}
	})
	b.Run("uuid.NewSHA1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			name := s.UUID + "\x00" + strconv.FormatInt(s.StartMs, 10)
			_ = uuid.NewSHA1(idNamespace, []byte(name)).String()
		}
	})
}

package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/session"
)

// TestRedeliveredAfterCommit: a re-sent copy (same uuid, event_id and
// timestamp) of an event whose session was already committed, drained or
// closed by the watermark, is a duplicate after a restart: no second
// session row, no late row, and the account still adds up. With the keys
// turned off the same copy is counted again (what happened before keys
// were remembered).
func TestRedeliveredAfterCommit(t *testing.T) {
	t0 := time.Now().Add(-3 * time.Hour).UnixMilli()
	line := func(uuid, id string, ms int64) []byte {
		return fmt.Appendf(nil, `{"event_id": %q, "page_name": "home", "event_timestamp": "%d", "uuid": %q}`, id, ms, uuid)
	}
	cases := []struct {
		name  string
		drain bool
		dedup session.Dedup
		// rows after the copy: sessions of u, late rows, duplicates
		wantU, wantLate, wantDups int64
	}{
		{name: "drained", drain: true, dedup: session.DefaultDedup(), wantU: 1, wantLate: 0, wantDups: 1},
		{name: "closed by the watermark", dedup: session.DefaultDedup(), wantU: 1, wantLate: 0, wantDups: 1},
		{name: "drained, keys off", drain: true, dedup: session.Dedup{}, wantU: 2, wantLate: 0, wantDups: 0},
		{name: "closed by the watermark, keys off", dedup: session.Dedup{}, wantU: 1, wantLate: 1, wantDups: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := startBroker(t, 1)
			wh := t.TempDir()
			run := func() {
				t.Helper()
				cfg := runConfig(t, b, wh)
				cfg.AllowedLateness = time.Minute
				cfg.Drain = c.drain
				cfg.Dedup = &c.dedup
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				defer cancel()
				if err := Run(ctx, cfg); err != nil {
					t.Fatal(err)
				}
			}
			first := [][]byte{line("u", "a", t0), line("u", "b", t0+60_000)}
			keys := [][]byte{[]byte("u"), []byte("u")}
			if !c.drain {
				// Moves the watermark past u's session, which closes.
				first, keys = append(first, line("v", "c", t0+45*60_000)), append(keys, []byte("v"))
			}
			produceLines(t, b, first, keys)
			run()
			if got, _ := tableLines(t, wh); len(got) != 1 {
				t.Fatalf("first run committed %d sessions, want u's: %v", len(got), got)
			}
			produceLines(t, b, [][]byte{line("u", "b", t0+60_000)}, [][]byte{[]byte("u")})
			run() // a restart: the keys come from the checkpoint
			_, rows := tableLines(t, wh)
			var uRows int64
			for _, r := range rows {
				if r.UUID == "u" {
					uRows++
				}
			}
			a, err := Audit(t.Context(), openWarehouse(t, wh))
			if err != nil {
				t.Fatal(err)
			}
			if uRows != c.wantU || a.Late != c.wantLate || a.Duplicates != c.wantDups {
				t.Fatalf("user u has %d session rows (want %d), late %d (want %d), duplicates %d (want %d)",
					uRows, c.wantU, a.Late, c.wantLate, a.Duplicates, c.wantDups)
			}
			if a.Records != int64(len(first)+1) || !a.Holds() {
				t.Fatalf("%s", a)
			}
		})
	}
}

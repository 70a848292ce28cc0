package batch

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/internal/session"
)

// The open-sessions state file (--carry-open, --resume) is gzip'd JSON
// lines: a header, then one line per user with the events of the user's
// still-open session. It is small (only sessions active at the end of the
// input) and readable with zcat when someone needs to look.

const stateFormat = "sessionize-open-sessions"

type stateHeader struct {
	Format        string `json:"format"`
	Version       int    `json:"version"`
	InactivityMs  int64  `json:"inactivity_timeout_ms"`
	MaxDurationMs int64  `json:"max_session_duration_ms"`
	EndTimeMs     int64  `json:"end_time_ms"`
	Users         int64  `json:"users"`
	Events        int64  `json:"events"`
	// RawKept: events carry their original record (written by a run with
	// --output-events), so a resumed run can write them as events.
	RawKept bool `json:"raw_kept,omitempty"`
}

// stateEvent is [time_ms, event_id, page_name], plus the raw record as a
// fourth element when the header says RawKept.
type stateEvent []any

type stateUser struct {
	UUID   string       `json:"uuid"`
	Events []stateEvent `json:"events"`
}

// carriedUser is one user's open session handed over to the next run.
type carriedUser struct {
	uuid   string
	events []session.Event
}

func writeState(w io.Writer, h stateHeader, users [][]carriedUser) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriter(zw)
	enc := json.NewEncoder(bw)
	h.Format, h.Version = stateFormat, 1
	if err := enc.Encode(h); err != nil {
		return err
	}
	for _, part := range users {
		for _, u := range part {
			su := stateUser{UUID: u.uuid, Events: make([]stateEvent, len(u.events))}
			for i, e := range u.events {
				su.Events[i] = stateEvent{e.TimeMs, e.ID, e.Page}
				if h.RawKept {
					su.Events[i] = append(su.Events[i], e.Raw)
				}
			}
			if err := enc.Encode(su); err != nil {
				return err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// readState loads a state file written by an earlier run with the same
// rules, calling add for every carried event in order; raw is empty unless
// the header says RawKept. wantRaw refuses a state without raw records.
func readState(path string, rules session.Rules, wantRaw bool, add func(uuid string, timeMs int64, id, page, raw string)) (stateHeader, error) {
	var h stateHeader
	f, err := os.Open(path)
	if err != nil {
		return h, fmt.Errorf("open state %s: %w", path, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return h, fmt.Errorf("state %s is not a sessionize state file (written by --carry-open): %w", path, err)
	}
	dec := json.NewDecoder(zr)
	dec.UseNumber() // times beyond 2^53 ms must survive exactly
	if err := dec.Decode(&h); err != nil || h.Format != stateFormat {
		return h, fmt.Errorf("state %s is not a sessionize state file (written by --carry-open)", path)
	}
	if h.Version != 1 {
		return h, fmt.Errorf("state %s has version %d; this sessionize reads version 1", path, h.Version)
	}
	if h.InactivityMs != rules.InactivityMs || h.MaxDurationMs != rules.MaxDurationMs {
		return h, fmt.Errorf("state %s was written with --inactivity-timeout %dms and --max-session-duration %dms; resume with the same values (now %dms and %dms)",
			path, h.InactivityMs, h.MaxDurationMs, rules.InactivityMs, rules.MaxDurationMs)
	}
	if wantRaw && !h.RawKept {
		return h, fmt.Errorf("state %s was written without --output-events, so its open sessions' records are not in it: resume without --output-events, or rerun the earlier run with it", path)
	}
	width := 3
	if h.RawKept {
		width = 4
	}
	for line := 2; ; line++ {
		var u stateUser
		if err := dec.Decode(&u); err == io.EOF {
			break
		} else if err != nil {
			return h, fmt.Errorf("state %s line %d: %w", path, line, err)
		}
		for _, e := range u.Events {
			if len(e) != width {
				return h, fmt.Errorf("state %s line %d: malformed event", path, line)
			}
			var raw string
			rok := true
			if width == 4 {
				raw, rok = e[3].(string)
			}
			num, tok := e[0].(json.Number)
			ts, nerr := num.Int64()
			tok = tok && nerr == nil
			id, iok := e[1].(string)
			page, pok := e[2].(string)
			if !tok || !iok || !pok || !rok || u.UUID == "" || id == "" {
				return h, fmt.Errorf("state %s line %d: malformed event", path, line)
			}
			add(u.UUID, ts, id, page, raw)
		}
	}
	return h, nil
}

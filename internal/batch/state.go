package batch

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

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
	// The boundary rules (canonical), version 2 on.
	StartOn string `json:"start_session_on,omitempty"`
	EndOn   string `json:"end_session_on,omitempty"`
	// Attrs are the session attributes' specs; with them every event
	// carries its attribute input, base64, last.
	Attrs string `json:"session_attrs,omitempty"`
}

// stateEvent is [time_ms, event_id, page_name, mark] (version 1: without
// mark), plus the raw record last when the header says RawKept.
type stateEvent []any

const stateVersion = 2

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
	h.Format, h.Version = stateFormat, stateVersion
	if err := enc.Encode(h); err != nil {
		return err
	}
	for _, part := range users {
		for _, u := range part {
			su := stateUser{UUID: u.uuid, Events: make([]stateEvent, len(u.events))}
			for i, e := range u.events {
				su.Events[i] = stateEvent{e.TimeMs, e.ID, e.Page, uint8(e.Mark)}
				if h.RawKept {
					su.Events[i] = append(su.Events[i], e.Raw)
				}
				if h.Attrs != "" {
					su.Events[i] = append(su.Events[i], base64.StdEncoding.EncodeToString([]byte(e.Attrs)))
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
func readState(path string, rules session.Rules, wantRaw bool, add func(uuid string, ev session.Event)) (stateHeader, error) {
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
	if h.Version != 1 && h.Version != stateVersion {
		return h, fmt.Errorf("state %s has version %d; this sessionize reads versions 1 and %d", path, h.Version, stateVersion)
	}
	if h.Attrs != rules.Attrs {
		return h, fmt.Errorf("state %s was written with the session attributes %q; resume with the same --session-attr flags (now %q)",
			path, strings.ReplaceAll(h.Attrs, "\n", " "), strings.ReplaceAll(rules.Attrs, "\n", " "))
	}
	if h.StartOn != rules.StartOn || h.EndOn != rules.EndOn {
		return h, fmt.Errorf("state %s was written with --start-session-on %q and --end-session-on %q; resume with the same rules (now %q and %q)",
			path, h.StartOn, h.EndOn, rules.StartOn, rules.EndOn)
	}
	if h.InactivityMs != rules.InactivityMs || h.MaxDurationMs != rules.MaxDurationMs {
		return h, fmt.Errorf("state %s was written with --inactivity-timeout %dms and --max-session-duration %dms; resume with the same values (now %dms and %dms)",
			path, h.InactivityMs, h.MaxDurationMs, rules.InactivityMs, rules.MaxDurationMs)
	}
	if wantRaw && !h.RawKept {
		return h, fmt.Errorf("state %s was written without --output-events, so its open sessions' records are not in it: resume without --output-events, or rerun the earlier run with it", path)
	}
	width := 3
	if h.Version >= 2 {
		width++ // the mark
	}
	if h.RawKept {
		width++
	}
	if h.Attrs != "" {
		width++
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
			var mark session.Mark
			rok := true
			if h.RawKept {
				raw, rok = e[width-1-boolInt(h.Attrs != "")].(string)
			}
			var attrs []byte
			if h.Attrs != "" {
				s, sok := e[width-1].(string)
				var derr error
				attrs, derr = base64.StdEncoding.DecodeString(s)
				rok = rok && sok && derr == nil
			}
			if h.Version >= 2 {
				num, nok := e[3].(json.Number)
				m, merr := num.Int64()
				rok = rok && nok && merr == nil && m >= 0 && m <= 3
				mark = session.Mark(m)
			}
			num, tok := e[0].(json.Number)
			ts, nerr := num.Int64()
			tok = tok && nerr == nil
			id, iok := e[1].(string)
			page, pok := e[2].(string)
			if !tok || !iok || !pok || !rok || u.UUID == "" || id == "" {
				return h, fmt.Errorf("state %s line %d: malformed event", path, line)
			}
			add(u.UUID, session.Event{TimeMs: ts, ID: id, Page: page, Raw: raw, Mark: mark, Attrs: string(attrs)})
		}
	}
	return h, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

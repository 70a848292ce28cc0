package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// logLine is one line of a sessionize log, JSON (--log-format json) or
// text (key=value, for a build without --log-format), as field -> value.
type logLine map[string]string

func parseLogLine(line string) (logLine, bool) {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, false
	}
	if line[0] == '{' {
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, false
		}
		out := logLine{}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				out[k] = v
			case float64:
				out[k] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				b, _ := json.Marshal(v)
				out[k] = string(b)
			}
		}
		return out, out["msg"] != ""
	}
	out := logLine{}
	for line != "" {
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			break
		}
		key := strings.TrimSpace(line[:eq])
		line = line[eq+1:]
		var val string
		if strings.HasPrefix(line, `"`) {
			// a quoted value: up to the next unescaped quote
			i := 1
			for i < len(line) && (line[i] != '"' || line[i-1] == '\\') {
				i++
			}
			if uq, err := strconv.Unquote(line[:min(i+1, len(line))]); err == nil {
				val = uq
			} else {
				val = line[1:i]
			}
			line = line[min(i+1, len(line)):]
		} else if sp := strings.IndexByte(line, ' '); sp >= 0 {
			val, line = line[:sp], line[sp:]
		} else {
			val, line = line, ""
		}
		out[key] = val
		line = strings.TrimLeft(line, " ")
	}
	return out, out["msg"] != ""
}

// logTail reads the lines a process appended to its log since the last
// call.
type logTail struct {
	path   string
	offset int64
	rest   string // an incomplete last line, kept for the next call
}

func (t *logTail) next() ([]logLine, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(t.offset, io.SeekStart); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	t.offset += int64(len(data))
	text := t.rest + string(data)
	cut := strings.LastIndexByte(text, '\n')
	if cut < 0 {
		t.rest = text
		return nil, nil
	}
	t.rest = text[cut+1:]
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(text[:cut]))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if l, ok := parseLogLine(sc.Text()); ok {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// describeFields renders a log line's fields but time, level and msg.
func (l logLine) describeFields() string {
	var parts []string
	for _, k := range sortedKeys(l) {
		if k == "time" || k == "level" || k == "msg" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%s", k, l[k]))
	}
	return strings.Join(parts, " ")
}

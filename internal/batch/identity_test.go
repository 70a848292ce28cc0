package batch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/input"
	"github.com/sessionize/sessionize/internal/session"
)

func TestRunIdentity(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) input.File {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return input.File{Path: p}
	}
	a, b, a2 := write("a.jsonl", "one\n"), write("b.jsonl", "two\n"), write("copy-of-a.jsonl", "one\n")
	cfg := &Config{Rules: session.DefaultRules(), MaxRecordBytes: 1 << 20}
	id := func(cfg *Config, inputs ...input.File) string {
		t.Helper()
		r := newRunIdentity(cfg)
		if ok, err := r.hashFiles(t.Context(), inputs, cfg.Resume); err != nil || !ok {
			t.Fatalf("hashFiles: %v, %v", ok, err)
		}
		return r.id()
	}
	base := id(cfg, a, b)
	if id(cfg, b, a) != base || id(cfg, b, a2) != base {
		t.Error("input order or names changed the run id")
	}
	if id(cfg, a) == base || id(cfg, a, a) == base {
		t.Error("other inputs, same run id")
	}
	other := *cfg
	other.Rules.InactivityMs++
	if id(&other, a, b) == base {
		t.Error("another inactivity timeout, same run id")
	}
	other = *cfg
	other.CarryOpen = "open.state"
	if id(&other, a, b) == base {
		t.Error("--carry-open, same run id")
	}
	other = *cfg
	other.Resume = b.Path
	if id(&other, a, b) == base {
		t.Error("--resume, same run id")
	}
	other = *cfg
	other.Schema = event.DefaultSchema()
	if id(&other, a, b) != base {
		t.Error("the default schema, spelled out, changed the run id")
	}
	other.Schema.Format = event.MustTimeFormat("s", "")
	if id(&other, a, b) == base {
		t.Error("another time format, same run id")
	}
	other.Schema, _ = event.NewSchema([]string{"user_id"}, "event_id", "event_timestamp", "page_name", event.TimeFormat{})
	if id(&other, a, b) == base {
		t.Error("another user field, same run id")
	}

	// Standard input is hashed as it is read: the same id as the file.
	r := newRunIdentity(cfg)
	if ok, err := r.hashFiles(t.Context(), []input.File{{Path: "-"}, b}, ""); err != nil || ok {
		t.Fatalf("stdin: %v, %v", ok, err)
	}
	h := newStdinHash(strings.NewReader("one\n"))
	var buf bytes.Buffer
	buf.ReadFrom(h)
	r.Inputs = append(r.Inputs, h.sum())
	if r.id() != base {
		t.Error("stdin with a file's content has another run id")
	}
}

// BenchmarkHashFile measures what identifying a run by content costs per
// input byte (XXH3-128), to set against the parser's bytes/s
// (BenchmarkParse in internal/event).
func BenchmarkHashFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "in.jsonl")
	data := bytes.Repeat([]byte(`{"event_id": "0123456789abcdef", "page_name": "results", "event_timestamp": "1764547200000", "uuid": "7f3e0001-1b2c-4d5e-8f90-000000000001"}`+"\n"), 1<<16)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := hashFile(b.Context(), p); err != nil {
			b.Fatal(err)
		}
	}
}

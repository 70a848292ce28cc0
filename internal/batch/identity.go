package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/zeebo/xxh3"

	"github.com/sessionize/sessionize/internal/input"
)

// A batch run that writes to the sessions table is identified by what
// decides its sessions: the content of its inputs and of its --resume
// state, and the settings that shape the output. The content, not names
// or modification times: renaming, copying or touching a file is the same
// run, and a changed file is a different one. Each input is hashed with
// XXH3-128 (zeebo/xxh3, already in the module graph through iceberg-go):
// it runs at memory speed, so reading the inputs once more before the run
// costs little next to parsing them (BenchmarkHashFile here against
// BenchmarkParse in internal/event), and it lets a repeated run stop before
// it parses anything. A cryptographic hash would be several times slower
// and buys nothing here: the identity guards against accidents, not
// against someone forging a file that collides.

// runIdentity is what goes into a run id.
type runIdentity struct {
	Version int `json:"v"`
	// Inputs are the XXH3-128 of each input's bytes, sorted: the order of
	// inputs does not change the sessions.
	Inputs         []string `json:"inputs"`
	Resume         string   `json:"resume,omitempty"`
	InactivityMs   int64    `json:"inactivity_ms"`
	MaxDurationMs  int64    `json:"max_duration_ms"`
	MaxPages       int      `json:"max_pages"`
	MaxRecordBytes int      `json:"max_record_bytes"`
	CarryOpen      bool     `json:"carry_open"`
	StartOn        string   `json:"start_on,omitempty"`
	EndOn          string   `json:"end_on,omitempty"`
	Attrs          string   `json:"attrs,omitempty"`
	// Schema is the event schema (event.Schema.Describe) when it is not
	// the default: other fields or another time format read other
	// sessions from the same bytes. Left out for the default, so a run's
	// id is what it was before schemas existed.
	Schema string `json:"schema,omitempty"`
}

// id is the run id: the first 16 bytes of the SHA-256 of the identity, in
// hex.
func (r runIdentity) id() string {
	slices.Sort(r.Inputs)
	b, _ := json.Marshal(r) // plain values always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func newRunIdentity(cfg *Config) runIdentity {
	r := runIdentity{Version: 1, InactivityMs: cfg.Rules.InactivityMs, MaxDurationMs: cfg.Rules.MaxDurationMs,
		MaxPages: cfg.Rules.MaxPages, MaxRecordBytes: cfg.MaxRecordBytes, CarryOpen: cfg.CarryOpen != "",
		StartOn: cfg.Rules.StartOn, EndOn: cfg.Rules.EndOn, Attrs: cfg.Rules.Attrs}
	if sch := cfg.Schema.OrDefault(); !sch.IsDefault() {
		r.Schema = sch.Describe()
	}
	return r
}

// hashFiles fills in the content hashes of the inputs and the resume
// state. Standard input cannot be read twice; it is hashed while the run
// reads it (see stdinHash), and ok is false if it is among the inputs.
func (r *runIdentity) hashFiles(ctx context.Context, inputs []input.File, resume string) (ok bool, err error) {
	ok = true
	for _, in := range inputs {
		if in.Path == "-" {
			ok = false
			continue
		}
		h, err := hashFile(ctx, in.Path)
		if err != nil {
			return false, err
		}
		r.Inputs = append(r.Inputs, h)
	}
	if resume != "" {
		if r.Resume, err = hashFile(ctx, resume); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("identify input %s: %w", path, err)
	}
	defer f.Close()
	h := xxh3.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return "", fmt.Errorf("identify input %s: %w", path, err)
	}
	return sum128(h), nil
}

func sum128(h *xxh3.Hasher) string {
	b := h.Sum128().Bytes()
	return hex.EncodeToString(b[:])
}

// ctxReader stops a long read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// stdinHash hashes standard input as the run reads it.
type stdinHash struct {
	r io.Reader
	h *xxh3.Hasher
}

func newStdinHash(r io.Reader) *stdinHash { return &stdinHash{r: r, h: xxh3.New()} }

func (s *stdinHash) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	return n, err
}

func (s *stdinHash) sum() string { return sum128(s.h) }

package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionize/sessionize/internal/event"
	"github.com/sessionize/sessionize/internal/fileout"
	"github.com/sessionize/sessionize/internal/input"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// foldGCPercent is the GC's GOGC while partitions fold (unless the user
// set GOGC). The read input is most of the heap then, and a partition's
// fold makes tens of MB of garbage; at the default 100 the heap grew to
// twice the input before a collection (860 MiB peak RSS over the 5M-event
// bench input, 700 MiB at 50, at the same speed: the input is pointer-free
// bytes, which the GC does not scan).
const foldGCPercent = 50

// minGCLimit: below this a memory limit only steers spilling; handing it
// to the GC as well would make it collect continuously.
const minGCLimit = 64 << 20

// ErrTooManyRejected means more of the input was rejected than
// Config.MaxRejectedRatio allows: the input was probably read with the
// wrong event schema, so no sessions were written.
var ErrTooManyRejected = errors.New("too many records rejected")

// ErrInvariant means the run's own accounting does not add up: a bug.
var ErrInvariant = errors.New("nothing-lost invariant violated: records in != records accounted for")

// outputs are the files a run writes; all appear together, or none.
type outputs struct {
	sessions, events, rejected, carry, summary *fileout.File
}

func (o *outputs) all() []*fileout.File {
	return []*fileout.File{o.sessions, o.events, o.rejected, o.carry, o.summary}
}

func (o *outputs) abort() {
	for _, f := range o.all() {
		f.Abort()
	}
}

func (o *outputs) commit() error {
	for _, f := range o.all() {
		if err := f.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func openOutputs(cfg *Config) (*outputs, error) {
	o := &outputs{}
	for _, spec := range []struct {
		path string
		dst  **fileout.File
	}{
		{cfg.Output, &o.sessions}, {cfg.OutputEvents, &o.events}, {cfg.Rejected, &o.rejected},
		{cfg.CarryOpen, &o.carry}, {cfg.SummaryJSON, &o.summary},
	} {
		if spec.path == "" {
			continue
		}
		f, err := fileout.Create(spec.path, cfg.Stdout)
		if err != nil {
			o.abort()
			return nil, err
		}
		*spec.dst = f
	}
	return o, nil
}

// distinctFiles refuses an output on an input or on another output (see
// fileout.Distinct), before anything is read.
func distinctFiles(cfg *Config, inputs []input.File) error {
	var uses []fileout.Use
	for _, in := range inputs {
		uses = append(uses, fileout.Uses("--input", false, in.Path)...)
	}
	uses = append(uses, fileout.Uses("--resume", false, cfg.Resume)...)
	uses = append(uses, fileout.Uses("--output", true, cfg.Output)...)
	uses = append(uses, fileout.Uses("--output-events", true, cfg.OutputEvents)...)
	uses = append(uses, fileout.Uses("--rejected", true, cfg.Rejected)...)
	uses = append(uses, fileout.Uses("--carry-open", true, cfg.CarryOpen)...)
	uses = append(uses, fileout.Uses("--summary-json", true, cfg.SummaryJSON)...)
	return fileout.Distinct(cfg.Stdin, cfg.Stdout, uses...)
}

// Run sessionizes cfg.Inputs. Its outputs appear only if it succeeds.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	start := time.Now()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	inputs, err := input.Resolve(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	if err := distinctFiles(&cfg, inputs); err != nil {
		return nil, err
	}
	if cfg.MemoryLimit >= minGCLimit {
		// Let the GC work harder before the process outgrows the limit.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(cfg.MemoryLimit))
	}
	var table *tableWriter
	if cfg.Table != nil {
		t, done, err := newTableWriter(ctx, &cfg, inputs)
		if err != nil {
			return nil, err
		}
		if done != nil {
			return &Summary{Inputs: inputPaths(inputs), Table: done}, nil
		}
		table = t
	}
	outs, err := openOutputs(&cfg)
	if err != nil {
		return nil, err
	}
	defer outs.abort()

	parts := partitionsFor(inputs, cfg.MemoryLimit)
	store := newPartitionStore(parts, storeBudget(cfg.MemoryLimit), cfg.TempDir)
	defer store.close()

	sum := &Summary{Partitions: parts, Fields: cfg.Schema.FieldNames(), fields: cfg.Schema.Describe()}
	var sampleRejected []byte // the first rejected record, for the advice
	for _, in := range inputs {
		sum.Inputs = append(sum.Inputs, in.Path)
	}
	endMs := int64(math.MinInt64)
	var seq uint64
	if cfg.Resume != "" {
		p := newPartitioner(parts, &cfg, nil)
		cut := newResumeCut()
		h, err := readState(cfg.Resume, cfg.Rules, cfg.keepsEvents(), func(uuid string, e session.Event) {
			p.accept(seq, &event.Fields{UUID: []byte(uuid), EventID: []byte(e.ID), TimestampMs: e.TimeMs, PageName: []byte(e.Page)}, []byte(e.Raw), e.Mark, []byte(e.Attrs))
			cut.carried(uuid, e.TimeMs)
			seq++
		})
		if err != nil {
			return nil, err
		}
		resumed := p.take()
		sum.ResumedEvents = resumed.records
		endMs = max(endMs, h.EndTimeMs, resumed.maxMs)
		cut.endMs = h.EndTimeMs
		cfg.resumed = cut
		sum.ResumedEndTimeMs = &h.EndTimeMs
		for i, slab := range resumed.slabs {
			if err := store.add(i, slab); err != nil {
				return nil, err
			}
		}
		cfg.Logger.Info("resuming open sessions", "state", cfg.Resume, "users", h.Users, "events", h.Events)
	}

	// Read and parse.
	var counts event.Counts
	var rejw *rejectedWriter
	if outs.rejected != nil {
		rejw = newRejectedWriter(outs.rejected)
	}
	prog := newProgress(cfg.Progress, totalSize(inputs))
	err = ingest(ctx, &cfg, inputs, parts, seq, func(p *parsed) error {
		for i, slab := range p.slabs {
			if err := store.add(i, slab); err != nil {
				return err
			}
		}
		if rejw != nil {
			for i := range p.rejected {
				if err := rejw.write(&p.rejected[i]); err != nil {
					return fmt.Errorf("write rejected records: %w", err)
				}
			}
		}
		counts.Add(&p.counts)
		sum.EventTimes.Add(&p.times)
		if sampleRejected == nil {
			for i := range p.rejected {
				if !p.rejected[i].late {
					sampleRejected = p.rejected[i].raw
					break
				}
			}
		}
		sum.Late += p.late
		sum.RecordsRead += p.records
		sum.BytesRead += p.bytes
		endMs = max(endMs, p.maxMs)
		prog.reading(sum.BytesRead, sum.RecordsRead)
		return nil
	})
	if err != nil {
		prog.done()
		return nil, err
	}
	if rejw != nil {
		if err := rejw.flush(); err != nil {
			return nil, fmt.Errorf("write rejected records: %w", err)
		}
	}
	sum.Rejected = counts.Rejected()
	sum.RejectedByReason = counts.Map()
	sum.Advice = event.Advice(cfg.Schema, sum.RecordsRead, sum.RejectedByReason, &sum.EventTimes, sampleRejected)
	for _, a := range sum.Advice {
		cfg.Logger.Warn(a)
	}
	sum.SpilledBytes = store.spilled
	sum.EndTimeMs = endMs
	read := time.Since(start)
	sum.ReadSeconds = read.Seconds()
	cfg.Logger.Debug("input read", "records", sum.RecordsRead, "spilled_bytes", store.spilled, "elapsed", read)

	// Fold partitions into sessions.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(foldGCPercent))
	}
	var sw multiWriter
	if outs.sessions != nil {
		w, err := newOutputWriter(cfg.Output, outs.sessions, cfg.RuleSet)
		if err != nil {
			return nil, err
		}
		sw.add(w)
	}
	if outs.events != nil {
		w, err := newEventsWriter(cfg.OutputEvents, outs.events)
		if err != nil {
			return nil, err
		}
		sw.add(w)
	}
	if table != nil {
		sw.add(table)
	}
	var carried [][]carriedUser
	folded := 0
	// Carried open sessions keep strings of the arena too.
	reuseArenas := !sw.keepsStrings() && cfg.CarryOpen == ""
	err = foldAll(ctx, &cfg, store, endMs, reuseArenas, sw.encode, func(r *partResult) error {
		if err := sw.writePart(r); err != nil {
			return fmt.Errorf("write sessions: %w", err)
		}
		sum.Sessions += r.res.Sessions
		sum.EventsInSessions += r.res.Events
		sum.Duplicates += r.res.Duplicates
		sum.CarriedEvents += r.res.Carried
		sum.Users += r.res.Users
		sum.CarriedSessions += int64(len(r.carried))
		if len(r.carried) > 0 {
			carried = append(carried, r.carried)
		}
		folded++
		prog.folding(folded, parts)
		return nil
	})
	prog.done()
	if err != nil {
		return nil, err
	}
	if err := sw.Close(); err != nil {
		return nil, fmt.Errorf("write sessions: %w", err)
	}
	if outs.carry != nil {
		h := stateHeader{InactivityMs: cfg.Rules.InactivityMs, MaxDurationMs: cfg.Rules.MaxDurationMs,
			EndTimeMs: endMs, Users: sum.CarriedSessions, Events: sum.CarriedEvents, RawKept: cfg.keepsEvents(),
			StartOn: cfg.Rules.StartOn, EndOn: cfg.Rules.EndOn, Attrs: cfg.Rules.Attrs}
		if err := writeState(outs.carry, h, carried); err != nil {
			return nil, fmt.Errorf("write open sessions to %s: %w", cfg.CarryOpen, err)
		}
	}

	sum.finish(time.Since(start))
	if !sum.InvariantHolds {
		return sum, ErrInvariant
	}
	if err := tooManyRejected(&cfg, sum, outs); err != nil {
		return sum, err
	}
	if table != nil {
		if sum.Table, err = table.commit(ctx, sum, &cfg); err != nil {
			return nil, err
		}
		if sum.Table.AlreadyWritten {
			return sum, nil // the same run (of stdin) is in the table: write nothing
		}
	}
	if outs.summary != nil {
		if err := sum.WriteJSON(outs.summary); err != nil {
			return nil, fmt.Errorf("write summary to %s: %w", cfg.SummaryJSON, err)
		}
	}
	if err := outs.commit(); err != nil {
		return nil, err
	}
	return sum, nil
}

// newOutputWriter picks the sessions format from the file name; the
// sessions have the attributes of set (nil: none).
func newOutputWriter(path string, w io.Writer, set *rule.Set) (sessionWriter, error) {
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".parquet") || strings.HasSuffix(p, ".pq"):
		return newParquetSessionWriter(w, set)
	case strings.HasSuffix(p, ".gz"):
		zw := gzip.NewWriter(w)
		return &gzipSessionWriter{jsonlWriter: newJSONLWriter(zw, set), zw: zw}, nil
	}
	return newJSONLWriter(w, set), nil
}

type gzipSessionWriter struct {
	*jsonlWriter
	zw *gzip.Writer
}

func (g *gzipSessionWriter) Close() error {
	if err := g.jsonlWriter.Close(); err != nil {
		return err
	}
	return g.zw.Close()
}

func totalSize(inputs []input.File) int64 {
	var n int64
	for _, in := range inputs {
		n += in.Size
	}
	return n
}

// storeBudget is how much encoded input may stay in memory before
// partitions spill: half the limit, leaving the rest for folding.
func storeBudget(limit int64) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return limit / 2
}

// partitionsFor picks enough partitions that folding a few at once stays
// well inside the memory limit: folding needs a few times a partition's
// encoded size, and encoded events are a fraction of their JSON. Whatever
// the limit, a partition gets at most maxPartitionInput of the input.
func partitionsFor(inputs []input.File, limit int64) int {
	p := 64
	total := totalSize(inputs)
	for _, in := range inputs {
		if strings.HasSuffix(strings.ToLower(in.Path), ".gz") {
			total += 7 * in.Size // typical gzip ratio of JSON lines
		}
	}
	for p < 1<<16 && (limit > 0 && int64(p)*limit < 8*total || total > int64(p)*maxPartitionInput) {
		p *= 2
	}
	return p
}

// maxPartitionInput bounds the input bytes per partition partitionsFor
// plans for: the engine keeps a partition's event ids, page names and
// kept records (--output-events keeps all of them) in one arena of at
// most 4 GiB, so with a large --memory-limit 64 partitions of a big input
// could not be folded (maxFoldBytes).
const maxPartitionInput = 1 << 30

// tooManyRejected enforces MaxRejectedRatio. Past it the run writes only
// what explains it, --rejected and --summary-json, and fails: sessions
// from an input read with the wrong schema would be wrong, not partial.
func tooManyRejected(cfg *Config, sum *Summary, outs *outputs) error {
	if cfg.MaxRejectedRatio <= 0 || sum.RecordsRead == 0 || float64(sum.Rejected) <= cfg.MaxRejectedRatio*float64(sum.RecordsRead) {
		return nil
	}
	sum.TooManyRejected = true
	outs.sessions.Abort()
	outs.carry.Abort()
	if outs.summary != nil {
		if err := sum.WriteJSON(outs.summary); err != nil {
			return fmt.Errorf("write summary to %s: %w", cfg.SummaryJSON, err)
		}
	}
	for _, f := range []*fileout.File{outs.rejected, outs.summary} {
		if err := f.Commit(); err != nil {
			return err
		}
	}
	written := "no sessions were written"
	if cfg.Rejected != "" {
		written += "; the rejected records are in " + cfg.Rejected
	}
	return fmt.Errorf("%w: %d of %d records (%.1f%%) rejected, more than --max-rejected-ratio %g allows; %s (see the warnings above for the likely fix, or raise --max-rejected-ratio)",
		ErrTooManyRejected, sum.Rejected, sum.RecordsRead, 100*float64(sum.Rejected)/float64(sum.RecordsRead), cfg.MaxRejectedRatio, written)
}

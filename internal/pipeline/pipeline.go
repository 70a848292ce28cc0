package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionize/sessionize/internal/decode"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// errFenced means another member committed one of our partitions: we
// must drop that partition's state and never write it (a *fenceError says
// which). Pipeline.fenced means all of our state must go: we rejoin the
// group to reload it from the tables.
var errFenced = errors.New("fenced: another instance has taken over a partition of ours")

// Pipeline runs the streaming job for the partitions this instance owns.
// Its state is touched only by the goroutine running Run: the source calls
// OnAssigned and OnRevoked from inside Poll and Close, never concurrently
// with the processing of a batch. Only the partitions of a poll are
// processed on goroutines of their own (processPoll), each touching
// nothing but its partition, and a commit of the loop is written on one
// (commit_async.go), touching only what writeCommit says.
type Pipeline struct {
	cfg Config
	wh  *iceberg.Warehouse
	src *kafka.Source
	// decoders makes each partition's decoder of record values (JSON or
	// Avro, decode.New): partitions are processed concurrently.
	decoders func() (decode.Decoder, error)
	writer   string // this process, in snapshot summaries and checkpoint names
	// interrupted is the error of a commit that a stop cut short after
	// its grace (startCommit); stop then has nothing left to commit.
	interrupted error
	// inflight is the commit the loop has in flight (nil if none), and
	// commitErr the failure of one, for the loop to return
	// (commit_async.go).
	inflight  *pendingCommit
	commitErr error

	parts map[int32]*partition
	// expected holds, per table and owned partition, the offset the
	// table's summary must still show when we commit: the value we loaded
	// or last wrote. Anything else means another writer took over.
	expected map[string]map[int32]int64
	// expectedCheckpoint holds, per owned partition, the checkpoint file
	// the sessions table must still name for it ("" for none). Every
	// commit of a partition names a file of its own, so this sees another
	// writer's commit even where offsets cannot: a drain at stop closes
	// sessions without moving any offset.
	expectedCheckpoint map[int32]string
	fenced             bool
	// contested holds the partitions dropped because another writer took
	// them over (see dropContested), with when, until the group revokes
	// them or assigns them to us anew.
	contested map[int32]time.Time
	// topicPartitions is the topic's partition count as of the latest
	// assignment (growth.go), recorded with every sessions commit.
	topicPartitions int
	warnedGrowth    bool

	// handover makes the next commit write a checkpoint
	// (OnRevoked: the partitions' next owner restores from it without
	// re-reading).
	handover bool
	// background is the checkpoint being written in the background (nil
	// if none), on runCtx, Run's context.
	background *backgroundCheckpoint
	runCtx     context.Context

	seq         int64 // commits made
	sinceCommit int64 // records processed since the last commit
	dirty       bool
	lastCommit  time.Time  // when the last commit ended
	lastAdvice  string     // what warnAdvice last said
	lastSplit   *splitUser // the user the advice last found in two partitions (spread.go)
	memory      memoryWatch
}

// Run consumes until ctx is cancelled (then it commits what it has and
// returns nil), until StopWhenIdle finds the whole topic finished (see
// finished.go), or until an error it cannot retry.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	decoders := func() (decode.Decoder, error) {
		return decode.New(decode.Config{Format: cfg.InputFormat, Schema: cfg.Schema, MaxRecordBytes: cfg.MaxRecordBytes,
			Registry: cfg.SchemaRegistry, Logger: cfg.Logger})
	}
	if _, err := decoders(); err != nil { // a bad setting fails here, before anything is read
		return err
	}
	// Kafka first: a start that fails on it leaves no warehouse behind.
	if err := kafka.Preflight(ctx, cfg.Kafka, cfg.Logger); err != nil {
		return err
	}
	whc := cfg.Warehouse
	whc.WritesSessionAttrs, whc.SessionAttrs = true, cfg.RuleSet.TableColumns()
	wh, err := iceberg.Open(ctx, whc, cfg.Logger)
	if err != nil {
		return err
	}
	defer wh.Close()
	var id [6]byte
	rand.Read(id[:])
	p := &Pipeline{cfg: cfg, wh: wh, decoders: decoders, writer: hex.EncodeToString(id[:]), runCtx: ctx,
		memory: newMemoryWatch(cfg.MemoryLimit)}
	cfg.Logger.Info("reading events", "fields", cfg.Schema.OrDefault().Describe(), "format", string(cfg.InputFormat))
	if cfg.MaintainEvery > 0 {
		mctx, stopMaintenance := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { maintainLoop(mctx, cfg, wh); close(done) }()
		defer func() { stopMaintenance(); <-done }()
	}
	for {
		// At start and at every rejoin after a fence: never write on top
		// of another group's output (group.go).
		if err := p.checkGroup(ctx); err != nil {
			return err
		}
		p.reset()
		src, err := kafka.NewSource(ctx, cfg.Kafka, p, cfg.Logger)
		if err != nil {
			return err
		}
		p.src = src
		err = p.consume(ctx)
		// consume can return with a commit in flight (an error of its
		// own); apply it first.
		p.awaitCommit(context.WithoutCancel(ctx))
		if cerr := p.commitErr; cerr != nil && !errors.Is(err, cerr) && p.interrupted == nil {
			if err == nil || errors.Is(err, errFenced) {
				err = cerr
			} else {
				err = errors.Join(err, cerr)
			}
		}
		src.Close() // revokes everything: OnRevoked commits unless fenced
		if errors.Is(err, errFenced) {
			cfg.Logger.Warn("fenced: dropping state and rejoining the group to reload from the tables", "writer", p.writer, "reason", err)
			continue
		}
		return err
	}
}

// tables are the tables the pipeline writes: the events table only when
// opted in.
func (p *Pipeline) tables() []string {
	if p.cfg.Warehouse.EventsTable {
		return []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected, iceberg.TableEvents}
	}
	return []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected}
}

// isContested reports whether err is a commit's report of partitions it
// dropped to another writer, after it committed the rest.
func isContested(err error) bool {
	var fe *fenceError
	return errors.As(err, &fe)
}

func (p *Pipeline) reset() {
	p.parts = map[int32]*partition{}
	p.expected = map[string]map[int32]int64{}
	for _, t := range p.tables() {
		p.expected[t] = map[int32]int64{}
	}
	p.expectedCheckpoint = map[int32]string{}
	p.fenced, p.commitErr = false, nil
	p.contested = map[int32]time.Time{}
	p.sinceCommit, p.dirty = 0, false
	p.lastCommit = time.Now()
	p.background = nil // of the state dropped; if it is written, nothing names it
}

// consume is the poll-process-commit loop.
func (p *Pipeline) consume(ctx context.Context) error {
	var idleSince, lastIdleCheck time.Time
	// lastWork is when the loop last had records: idleness counts from
	// there, not from the first poll that found none, which returns only
	// after the source's MaxWait (a second by default) and so stopped
	// --stop-when-idle runs that much later than asked.
	lastWork := time.Now()
	var wait stopWait
	for {
		b, err := p.src.Poll(ctx)
		p.collectCommit(ctx)
		if cerr := p.commitErr; cerr != nil {
			if ctx.Err() != nil {
				return p.stop()
			}
			return cerr
		}
		if p.fenced {
			return errFenced
		}
		if err != nil {
			if ctx.Err() != nil {
				return p.stop()
			}
			return err
		}
		if stuck := p.stuckContested(); len(stuck) > 0 {
			// Another writer holds them, yet the group still gives
			// them to us: rejoin (committing the rest first, in
			// OnRevoked) so that the group assigns them anew.
			p.cfg.Logger.Warn("partitions another writer took over are still assigned to us; rejoining the group to have them assigned anew",
				"partitions", stuck, "after", p.reclaimAfter())
			return errFenced
		}
		if err := p.processPoll(ctx, b); err != nil {
			if ctx.Err() != nil {
				return p.stop() // SIGTERM while retrying: a stop like any other
			}
			return err
		}
		if len(b.Partitions) > 0 {
			p.reportOpen()
		}
		if !p.dirty && p.inflight == nil && time.Since(p.lastCommit) >= p.cfg.CommitInterval {
			p.cfg.Metrics.UpToDate()
			p.lastCommit = time.Now()
		}
		// A commit due by time waits for the one in flight to finish;
		// one due by size does not go on growing, and waits for it here.
		full := p.sinceCommit >= int64(p.cfg.CommitMaxRecords)
		if full || (p.inflight == nil && p.dirty && time.Since(p.lastCommit) >= p.cfg.CommitInterval) {
			p.startCommit(ctx)
		}
		// A poll that brought records is work, without asking the broker
		// for the topic's ends: that round trip (retried with backoff
		// while the broker fails requests) would hold up reading.
		if p.cfg.StopWhenIdle > 0 && b.Len() > 0 {
			idleSince, lastWork = time.Time{}, time.Now()
			wait.busy()
		} else if p.cfg.StopWhenIdle > 0 && time.Since(lastIdleCheck) >= 100*time.Millisecond {
			lastIdleCheck = time.Now()
			atEnd, err := p.idleAtEnd(ctx)
			if err == nil && atEnd && idleSince.IsZero() {
				idleSince = lastWork // at the end since the last records
			}
			switch {
			case err != nil:
				idleSince = time.Time{} // a failed look-up is not idleness, nor work
			case !atEnd:
				idleSince, lastWork = time.Time{}, time.Now()
				wait.busy()
			case time.Since(idleSince) >= p.cfg.StopWhenIdle:
				// Only now the round trips of the whole-topic check.
				finished, err := p.topicFinished(ctx, &wait)
				if err != nil {
					return errors.Join(err, p.stop())
				}
				if finished {
					p.cfg.Logger.Info("every partition of the topic is committed up to its end; stopping", "idle", p.cfg.StopWhenIdle)
					return p.stop()
				}
			}
		}
	}
}

func (p *Pipeline) stopGrace() time.Duration {
	if p.cfg.stopGrace > 0 {
		return p.cfg.stopGrace
	}
	return defaultStopGrace
}

// stop commits what has been processed (after closing every session, with
// Drain) on a context of its own: the caller's may be cancelled already.
func (p *Pipeline) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p.awaitCommit(ctx)
	if err := p.commitErr; err != nil && p.interrupted == nil {
		return fmt.Errorf("commit before the final one: %w", err)
	}
	if p.cfg.Drain && len(p.parts) > 0 {
		endMs, err := p.drainEnd(ctx)
		if err != nil {
			return fmt.Errorf("final commit: %w", err)
		}
		for _, id := range p.committable() {
			p.parts[id].drain(endMs)
		}
		p.dirty = true
	}
	var notDrained []int32
	if p.cfg.Drain {
		notDrained = p.replayingPartitions()
	}
	if p.interrupted != nil {
		// The commit in flight at the stop outlasted the grace: its
		// output is gone with it, so there is nothing to commit (nor to
		// drain) on top of the tables, which stay at the commit before.
		if p.cfg.Drain {
			return fmt.Errorf("stopped during a commit that did not finish within %s (%v): nothing was drained; the tables stay at the commit before, and a run with --drain resumes from there and drains", p.stopGrace(), p.interrupted)
		}
		p.cfg.Logger.Warn("stopped during a commit that did not finish; the tables stay at the commit before and a restart resumes from there",
			"grace", p.stopGrace(), "reason", p.interrupted)
		return nil
	}
	err := p.commit(ctx)
	switch {
	case errors.Is(err, errFenced):
		// Nothing of ours is lost: the new owner replays from the tables.
		p.cfg.Logger.Warn("final commit refused: another member has taken over partitions of ours and carries on from the tables",
			"writer", p.writer, "partitions", p.owned(), "reason", err)
	case err != nil:
		return fmt.Errorf("final commit: %w", err)
	}
	if len(notDrained) > 0 {
		return fmt.Errorf("stopped while partitions %v were still re-reading the records since their last checkpoint: they were not drained; the tables stay at their last commit, and a run with --drain resumes from there and drains", notDrained)
	}
	return nil
}

// reportOpen updates the open-state gauges.
func (p *Pipeline) reportOpen() {
	var sessions, events int64
	for _, part := range p.parts {
		sessions += int64(part.stream.OpenSessions())
		events += part.counters().Open
	}
	p.cfg.Metrics.SetOpen(sessions, events)
}

// committable returns the owned partitions a commit covers: all but those
// still replaying (replay.go), whose committed output is ahead of them.
func (p *Pipeline) committable() []int32 {
	return slices.DeleteFunc(p.owned(), func(id int32) bool { return p.parts[id].replaying() })
}

// replayingPartitions returns the owned partitions still replaying.
func (p *Pipeline) replayingPartitions() []int32 {
	return slices.DeleteFunc(p.owned(), func(id int32) bool { return !p.parts[id].replaying() })
}

func (p *Pipeline) owned() []int32 {
	ids := make([]int32, 0, len(p.parts))
	for id := range p.parts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/rule"
	"github.com/sessionize/sessionize/internal/session"
)

// commit writes everything processed since the last commit, in the order
// docs/commit-protocol.md explains: checkpoint, late, rejected, sessions.
// Partitions another writer has taken over are dropped on the way
// (dropContested) and the rest is committed; then it returns a *fenceError
// naming them (errors.Is errFenced), after a successful commit of the rest.
// It first finishes a commit the loop has in flight (commit_async.go).
func (p *Pipeline) commit(ctx context.Context) error {
	p.awaitCommit(ctx)
	c, err := p.prepareCommit()
	if c == nil {
		return err
	}
	c.err = p.writeCommit(ctx, c)
	return p.finishCommit(ctx, c)
}

// pendingCommit is one commit: what prepareCommit takes out of the
// partitions, on the loop; what writeCommit, which may run on a goroutine
// of its own, found and wrote; finishCommit then applies that, on the loop.
type pendingCommit struct {
	started    time.Time
	seq        int64
	ids        []int32 // the partitions it covers; writeCommit leaves those still ours
	records    int64   // processed since the commit before
	writeState bool    // it writes the partitions' state (entries) as ckptName
	entries    []partitionCheckpoint
	ckptName   string
	ckpt       map[int32]string // the checkpoint each partition's commit names
	next       map[int32]int64
	counters   map[int32]Counters
	out        map[int32]partitionOutput
	partitions int // the topic's partition count as this writer knows it

	// Set by writeCommit.
	ckptURI    string // written by this commit (writeState)
	ckptSize   int
	ckptTook   time.Duration
	ckptAt     time.Time
	contested  []int32     // partitions another writer has taken over
	fenced     *fenceError // the first of them found
	sessions   int
	endReasons map[string]int64
	visible    time.Time // when its last snapshot landed
	err        error

	// Set for a commit in flight (commit_async.go).
	done      chan struct{} // closed when writeCommit has returned
	cancelled bool          // the loop's context was done by then
}

// prepareCommit takes everything processed since the last commit out of
// the committable partitions, on the loop. It returns nil and the reason
// when there is nothing to commit.
func (p *Pipeline) prepareCommit() (*pendingCommit, error) {
	if p.fenced {
		return nil, errFenced
	}
	if !p.dirty || len(p.parts) == 0 {
		return nil, nil
	}
	ids := p.committable()
	if len(ids) == 0 {
		return nil, nil // every partition is still replaying: its output is committed already
	}
	p.seq++
	c := &pendingCommit{started: time.Now(), seq: p.seq, ids: ids, records: p.sinceCommit,
		next: map[int32]int64{}, counters: map[int32]Counters{}, out: map[int32]partitionOutput{}, partitions: p.topicPartitions}
	p.adoptCheckpoint()
	c.writeState = p.checkpointNow(ids)
	for _, id := range ids {
		part := p.parts[id]
		if c.writeState {
			c.entries = append(c.entries, part.checkpointEntry())
		}
		c.next[id] = part.next
		part.observe(p.cfg.Metrics) // sessions a drain just closed, too
		c.counters[id] = part.counters()
		var o partitionOutput
		o.sessions, o.closedAt, o.late, o.rejected = part.takeOutput()
		o.events = part.takeEvents()
		o.eventsAt, o.settled = part.eventsProgress()
		// The late and rejected tables can be ahead of where we read
		// (their previous owner committed them and died before its
		// sessions snapshot): the rows below their offsets are there, so
		// never move those offsets back, or whoever restores next writes
		// them again.
		o.lateAt, o.rejectedAt = max(part.next, part.lateDone), max(part.next, part.rejectedDone)
		c.out[id] = o
	}
	// The output is out of the partitions now. If this commit fails, no
	// later one may go ahead without it: it would move the offsets past
	// rows never written. finishCommit then drops the state as when
	// fenced; it is reloaded from the tables (a restart or a rejoin
	// replays from the last commit).
	p.sinceCommit, p.dirty = 0, false
	if c.writeState {
		c.ckptName = p.checkpointName()
	} else {
		if p.background == nil {
			if id, due := p.stalestCheckpoint(ids); due {
				p.startCheckpoint(p.runCtx, []int32{id})
			}
		}
		// The checkpoint each partition's commit names: the last one
		// written, from which a restore re-reads (replay.go).
		c.ckpt = make(map[int32]string, len(ids))
		for _, id := range ids {
			c.ckpt[id] = p.parts[id].ckptURI
		}
	}
	return c, nil
}

// writeCommit writes c: its checkpoint, then each table's rows and
// progress. It touches nothing of the Pipeline but the configuration, the
// warehouse and what we expect of the tables (expected,
// expectedCheckpoint), which belong to the commit while it runs: it may
// run while the loop goes on processing the next records.
func (p *Pipeline) writeCommit(ctx context.Context, c *pendingCommit) error {
	if c.writeState {
		uri, size, err := p.writeCheckpoint(ctx, c.ckptName, c.entries)
		if err != nil {
			return err
		}
		// Everything so far was the checkpoint: state, compression, file.
		c.ckptURI, c.ckptSize, c.ckptTook, c.ckptAt = uri, size, time.Since(c.started), time.Now()
		c.ckpt = make(map[int32]string, len(c.ids))
		for _, id := range c.ids {
			c.ckpt[id] = uri
		}
	}

	drop := func(fe *fenceError) {
		p.forgetExpected(fe.partitions)
		c.contested = append(c.contested, fe.partitions...)
		c.ids = slices.DeleteFunc(c.ids, func(id int32) bool { return slices.Contains(fe.partitions, id) })
		if c.fenced == nil {
			c.fenced = fe
		}
		p.cfg.Logger.Warn("fenced: another writer has taken over partitions of ours; dropped their state, committing the rest",
			"partitions", fe.partitions, "table", fe.table, "writer", p.writer, "reason", fe.detail, "keeping", c.ids)
	}
	// Before writing anything, drop what another writer has moved on any
	// table: a late or rejected snapshot of a partition that is no longer
	// ours would make its new owner's next commit of that table fenced.
	// The snapshots loaded here serve the first attempt of each table's
	// commit below, which is pinned to them: if another writer commits in
	// between, that attempt conflicts and the retry loads afresh.
	loaded := map[string]*baseSnapshot{}
	for _, table := range p.tables() {
		b, err := retryOp(ctx, p, "load "+table, func(ctx context.Context) (*baseSnapshot, error) {
			base, parent, err := p.current(ctx, table)
			return &baseSnapshot{base, parent}, err
		})
		if err != nil {
			return err
		}
		loaded[table] = b
		prog := progress{offsets: map[int32]int64{}}
		for _, id := range c.ids {
			prog.offsets[id] = c.next[id]
		}
		var fe *fenceError
		if _, ferr := p.checkFence(table, b.progress, prog); errors.As(ferr, &fe) {
			drop(fe)
		}
	}

	// step commits one table for the partitions still ours; on a fence it
	// drops the contested ones and commits the rest.
	step := func(table string, build func(ids []int32) (iceberg.Commit, progress, bool)) error {
		for len(c.ids) > 0 {
			ic, prog, ok := build(c.ids)
			if !ok {
				return nil // no rows for this table
			}
			err := p.commitTable(ctx, ic, prog, loaded[table])
			delete(loaded, table) // used once: after a fence, reload
			var fe *fenceError
			if !errors.As(err, &fe) {
				return err
			}
			drop(fe)
		}
		return nil
	}
	out, topic := c.out, p.cfg.Kafka.Topic
	if err := step(iceberg.TableLate, func(ids []int32) (iceberg.Commit, progress, bool) {
		prog := progress{topic: topic, offsets: map[int32]int64{}}
		var rows []iceberg.LateRow
		for _, id := range ids {
			prog.offsets[id] = out[id].lateAt
			rows = appendLateRows(rows, out[id].late, topic)
		}
		return iceberg.Commit{Table: iceberg.TableLate, Late: rows}, prog, len(rows) > 0
	}); err != nil {
		return err
	}
	if err := step(iceberg.TableRejected, func(ids []int32) (iceberg.Commit, progress, bool) {
		prog := progress{topic: topic, offsets: map[int32]int64{}}
		var rows []iceberg.RejectedRow
		for _, id := range ids {
			prog.offsets[id] = out[id].rejectedAt
			rows = appendRejectedRows(rows, out[id].rejected, topic)
		}
		return iceberg.Commit{Table: iceberg.TableRejected, Rejected: rows}, prog, len(rows) > 0
	}); err != nil {
		return err
	}
	if p.cfg.Warehouse.EventsTable {
		if err := step(iceberg.TableEvents, func(ids []int32) (iceberg.Commit, progress, bool) {
			prog := progress{topic: topic, offsets: map[int32]int64{}, settled: map[int32]int64{}}
			var rows []iceberg.EventRow
			for _, id := range ids {
				prog.offsets[id], prog.settled[id] = out[id].eventsAt, out[id].settled
				rows = append(rows, out[id].events...)
			}
			return iceberg.Commit{Table: iceberg.TableEvents, Events: rows}, prog, len(rows) > 0
		}); err != nil {
			return err
		}
	}
	var sessions []iceberg.SessionRow
	if err := step(iceberg.TableSessions, func(ids []int32) (iceberg.Commit, progress, bool) {
		prog := progress{topic: topic, offsets: map[int32]int64{}, checkpoints: map[int32]string{}, counters: map[int32]Counters{},
			partitions: c.partitions}
		sessions = sessions[:0]
		n := 0
		for _, id := range ids {
			n += len(out[id].sessions)
		}
		sessions = slices.Grow(sessions, n)
		for _, id := range ids {
			prog.offsets[id], prog.checkpoints[id], prog.counters[id] = c.next[id], c.ckpt[id], c.counters[id]
			var err error
			if sessions, err = appendSessionRows(sessions, out[id].sessions, p.cfg.RuleSet); err != nil {
				p.cfg.Logger.Error("session attributes", "error", err) // engine-made state: cannot happen
			}
		}
		return iceberg.Commit{Table: iceberg.TableSessions, Sessions: sessions}, prog, true
	}); err != nil {
		return err
	}
	c.visible = time.Now()
	c.sessions = len(sessions)
	c.endReasons = map[string]int64{}
	for i := range sessions {
		c.endReasons[sessions[i].EndReason]++
	}
	return nil
}

// finishCommit applies what writeCommit did, on the loop, and returns its
// error: a *fenceError if it dropped partitions to another writer. ctx
// serves only the lag look-up of the metrics.
func (p *Pipeline) finishCommit(ctx context.Context, c *pendingCommit) error {
	p.dropContested(c.contested)
	if c.err != nil {
		p.fenced = true // its output is gone from the partitions: see prepareCommit
		return c.err
	}
	if c.ckptURI != "" {
		p.cfg.Metrics.Checkpoint(c.ckptSize, c.ckptTook)
		raw := 0
		for _, e := range c.entries {
			raw += len(e.state)
		}
		for _, e := range c.entries {
			if part := p.parts[e.partition]; part != nil {
				part.ckptURI, part.ckptNext, part.ckptAt = c.ckptURI, e.next, c.ckptAt
				part.ckptBytes = c.ckptSize * len(e.state) / max(raw, 1)
			}
		}
	}
	ids := c.ids
	if len(ids) == 0 { // everything was contested: nothing of ours committed
		return c.fenceResult()
	}

	ours := make(map[int32]int64, len(ids))
	var late, rejected int
	var open int64
	var closedAt []int64
	for _, id := range ids {
		ours[id] = c.next[id]
		late += len(c.out[id].late)
		rejected += len(c.out[id].rejected)
		open += c.counters[id].Open
		closedAt = append(closedAt, c.out[id].closedAt...)
	}
	p.src.CommitOffsets(ours) // monitoring only; never waits (a rebalance would stall us)
	visible := c.visible.UnixMilli()
	info := CommitInfo{Seq: c.seq, Partitions: len(ids), Records: c.records, Sessions: c.sessions, Late: late,
		Rejected: rejected, OpenEvents: open, StateBytes: p.stateBytes(ids), StateWritten: c.writeState, Duration: c.visible.Sub(c.started)}
	for _, at := range closedAt {
		info.CloseToVisible = append(info.CloseToVisible, time.Duration(visible-at)*time.Millisecond)
	}
	if lags, err := p.src.Lag(ctx); err == nil {
		for _, l := range lags {
			info.Lag += l.Lag
		}
	}
	p.warnAdvice()
	p.warnMemory(time.Now())
	p.cfg.Logger.Info("commit", "seq", info.Seq, "records", info.Records, "sessions", info.Sessions, "late", info.Late,
		"rejected", info.Rejected, "open_events", info.OpenEvents, "state_bytes", info.StateBytes, "state_written", info.StateWritten,
		"commit_ms", info.Duration.Milliseconds(), "lag", info.Lag)
	if m := p.cfg.Metrics; m != nil {
		for r, n := range c.endReasons {
			m.AddSessions(r, n)
		}
		m.Committed(metrics.Commit{Time: c.visible, Records: info.Records, Sessions: info.Sessions, Late: info.Late,
			Rejected: info.Rejected, DurationMs: info.Duration.Milliseconds(), Lag: info.Lag, StateBytes: info.StateBytes})
		m.CloseToVisible(info.CloseToVisible)
		p.reportOpen()
	}
	// The next commit is due an interval after this one ended. (Counting
	// from its start, so that a slow commit delays no later one, made
	// the close-to-visible tail worse in bench/freshness, 96-97% within
	// 2 s against 98.7%: back-to-back commits after a slow one compete
	// with maintenance for the cores.)
	p.lastCommit = c.visible
	if p.cfg.OnCommit != nil {
		p.cfg.OnCommit(info)
	}
	return c.fenceResult()
}

// fenceResult is the *fenceError naming every partition c dropped to
// another writer, or nil.
func (c *pendingCommit) fenceResult() error {
	if c.fenced == nil {
		return nil
	}
	slices.Sort(c.contested)
	return &fenceError{table: c.fenced.table, partitions: c.contested, detail: c.fenced.detail}
}

// checkpointName is the name of this commit's checkpoint file: each has
// a name of its own (writer and commit number) and is never rewritten.
func (p *Pipeline) checkpointName() string {
	return fmt.Sprintf("%s/%s-%08d.ckpt", p.cfg.Kafka.Group, p.writer, p.seq)
}

// writeCheckpoint encodes entries and writes them as the checkpoint file
// name, retrying transient failures; it returns the file's URI and size.
// Safe on another goroutine (it reads only the Pipeline's configuration).
func (p *Pipeline) writeCheckpoint(ctx context.Context, name string, entries []partitionCheckpoint) (string, int, error) {
	data, err := encodeCheckpoint(entries)
	if err != nil {
		return "", 0, fmt.Errorf("encode checkpoint: %w", err)
	}
	uri, err := retryOp(ctx, p, "write checkpoint", func(ctx context.Context) (string, error) {
		return p.wh.WriteFile(ctx, name, data)
	})
	return uri, len(data), err
}

// checkpointNow reports whether this commit must write the partitions'
// state itself: with every commit (--checkpoint-interval 0), and when a
// partition has no checkpoint yet, was drained (its open sessions are in
// this commit), or is about to be given up (handover: its next owner then
// re-reads nothing). A checkpoint due by time alone is written in the
// background (checkpoint_background.go).
func (p *Pipeline) checkpointNow(ids []int32) bool {
	if p.cfg.CheckpointInterval < 0 || p.handover {
		return true
	}
	for _, id := range ids {
		if part := p.parts[id]; part.ckptURI == "" || part.drained {
			return true
		}
	}
	return false
}

// stateBytes is about the size of the checkpointed state of ids.
func (p *Pipeline) stateBytes(ids []int32) int {
	n := 0
	for _, id := range ids {
		n += p.parts[id].ckptBytes
	}
	return n
}

// partitionOutput is one partition's part of a commit.
type partitionOutput struct {
	sessions           []session.Session
	closedAt           []int64
	late               []LateRow
	rejected           []RejectedRow
	lateAt, rejectedAt int64 // the late and rejected tables' offsets to commit
	events             []iceberg.EventRow
	eventsAt, settled  int64 // the events table's progress to commit
}

// commitTable appends c on top of the table's current snapshot, with our
// partitions' progress merged into the summary. It retries conflicts with
// writers of other partitions and transient failures, and returns
// errFenced if a writer moved one of our partitions.
func (p *Pipeline) commitTable(ctx context.Context, c iceberg.Commit, ours progress, loaded *baseSnapshot) error {
	_, err := retryOp(ctx, p, "commit "+c.Table, func(ctx context.Context) (struct{}, error) {
		var base progress
		var parent int64
		if loaded != nil { // the first attempt: the snapshot commit just loaded
			base, parent, loaded = loaded.progress, loaded.parent, nil
		} else {
			var err error
			if base, parent, err = p.current(ctx, c.Table); err != nil {
				return struct{}{}, err
			}
		}
		if done, err := p.checkFence(c.Table, base, ours); err != nil || done {
			return struct{}{}, err
		}
		c.Properties = base.merged(ours).properties(p.cfg.Kafka.Group, p.writer)
		c.ExpectParentSnapshotID = parent
		// On ErrConflict the next attempt reloads and merges again. On
		// ErrCommitUnknown it finds out: only we move our partitions'
		// offsets, so if they show ours the commit landed.
		_, err := p.wh.Commit(ctx, c)
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	for id, off := range ours.offsets {
		p.expected[c.Table][id] = off
	}
	maps.Copy(p.expectedCheckpoint, ours.checkpoints) // sessions only: the others name none
	return nil
}

// checkFence compares the table's offsets for our partitions with what we
// expect, and on the sessions table the checkpoint file it names for each
// too. All as expected: go ahead. All already at ours: an earlier attempt
// whose outcome was unknown did land (done); on the sessions table, whose
// commits name a checkpoint file of their own, that takes our file for
// every partition, so a commit that does not move the offsets (a drain at
// stop) tells too. Otherwise every partition not as expected has been
// moved by another writer (one commit of ours moves all our partitions at
// once, so some at this commit's offsets and others still at the previous
// ones is another writer's doing too): it returns a *fenceError naming
// them. Offsets alone would miss a writer that drained one of our
// partitions at stop, or committed it without reading further: the same
// offsets, other rows.
func (p *Pipeline) checkFence(table string, base progress, ours progress) (done bool, err error) {
	landed := true
	var moved []int32
	got := func(id int32) int64 {
		if o, ok := base.offsets[id]; ok {
			return o
		}
		return noOffset
	}
	sessions := table == iceberg.TableSessions
	for id, want := range p.expected[table] {
		if got(id) != ours.offsets[id] || (sessions && base.checkpoints[id] != ours.checkpoints[id]) {
			landed = false
		}
		if got(id) != want || (sessions && base.checkpoints[id] != p.expectedCheckpoint[id]) {
			moved = append(moved, id)
		}
	}
	if landed && len(p.expected[table]) > 0 &&
		(!sameOffsets(p.expected[table], ours.offsets) || sameCheckpoints(base.checkpoints, ours.checkpoints)) {
		return true, nil
	}
	if len(moved) == 0 {
		return false, nil
	}
	slices.Sort(moved)
	detail := fenceDetail(moved, got, p.expected[table])
	if sessions {
		detail += checkpointDetail(moved, base.checkpoints, p.expectedCheckpoint)
	}
	return false, backoff.Permanent(&fenceError{table: table, partitions: moved, detail: detail})
}

// sameCheckpoints reports whether base names our checkpoint file for each
// of our partitions. A commit writes a checkpoint file of its own, so then
// that commit has landed.
func sameCheckpoints(base, ours map[int32]string) bool {
	if len(ours) == 0 {
		return false
	}
	for id, uri := range ours {
		if base[id] != uri {
			return false
		}
	}
	return true
}

func sameOffsets(a, b map[int32]int64) bool {
	for id, v := range a {
		if b[id] != v {
			return false
		}
	}
	return true
}

// baseSnapshot is a table's current snapshot as a commit builds on it: its
// progress and its id, the parent the commit is pinned to.
type baseSnapshot struct {
	progress progress
	parent   int64
}

func (p *Pipeline) current(ctx context.Context, table string) (progress, int64, error) {
	snap, ok, err := p.wh.Current(ctx, table)
	if err != nil {
		return progress{}, 0, err
	}
	if !ok {
		return progress{offsets: map[int32]int64{}, checkpoints: map[int32]string{}, counters: map[int32]Counters{}}, iceberg.NoSnapshot, nil
	}
	if err := p.foreignGroup(table, snap); err != nil {
		return progress{}, 0, backoff.Permanent(err)
	}
	base, err := parseProgress(snap.Summary)
	if err != nil {
		return progress{}, 0, backoff.Permanent(fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err))
	}
	return base, snap.ID, nil
}

// defaultAttemptTimeout bounds one attempt of a commit step: a catalog or
// object store that hangs must fail the attempt, to be retried, not hang
// the job (the job's context has no deadline). It covers writing the data
// files of a commit of up to --commit-max-records records.
const defaultAttemptTimeout = time.Minute

// retryOp runs op with exponential backoff for up to two minutes: catalogs
// and object stores fail transiently, and every step of a commit is safe to
// repeat. Each attempt gets a context of its own with the attempt timeout.
func retryOp[T any](ctx context.Context, p *Pipeline, what string, op func(context.Context) (T, error)) (T, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 50 * time.Millisecond
	b.MaxInterval = 5 * time.Second
	timeout := p.cfg.attemptTimeout
	if timeout <= 0 {
		timeout = defaultAttemptTimeout
	}
	attempt := func() (T, error) {
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return op(actx)
	}
	return backoff.Retry(ctx, attempt, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(2*time.Minute),
		backoff.WithNotify(func(err error, d time.Duration) {
			if errors.Is(err, iceberg.ErrConflict) {
				p.cfg.Metrics.CommitConflict()
				return
			}
			p.cfg.Metrics.CommitFailure()
			p.cfg.Logger.Warn("retrying", "step", what, "in", d, "error", err)
		}))
}

func appendSessionRows(rows []iceberg.SessionRow, ss []session.Session, attrs *rule.Set) ([]iceberg.SessionRow, error) {
	for i := range ss {
		row := iceberg.NewSessionRow(&ss[i])
		var err error
		if row.Attrs, err = attrs.TableValues(ss[i].Attrs); err != nil {
			return rows, fmt.Errorf("session %s: %w", row.SessionID, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func watermarkPtr(w int64) *int64 {
	if w == math.MinInt64 {
		return nil
	}
	return &w
}

func appendLateRows(rows []iceberg.LateRow, ls []LateRow, topic string) []iceberg.LateRow {
	for _, l := range ls {
		rows = append(rows, iceberg.LateRow{Raw: string(l.Raw), Topic: topic, Partition: l.Partition, Offset: l.Offset,
			KafkaTimestampMs: l.KafkaTsMs, WatermarkMs: watermarkPtr(l.WatermarkMs), EventID: l.EventID, UUID: l.UUID,
			EventTimestampMs: l.EventTimeMs})
	}
	return rows
}

func appendRejectedRows(rows []iceberg.RejectedRow, rs []RejectedRow, topic string) []iceberg.RejectedRow {
	for _, r := range rs {
		rows = append(rows, iceberg.RejectedRow{Raw: string(r.Raw), Reason: r.Reason, Topic: topic, Partition: r.Partition,
			Offset: r.Offset, KafkaTimestampMs: r.KafkaTsMs, WatermarkMs: watermarkPtr(r.WatermarkMs)})
	}
	return rows
}

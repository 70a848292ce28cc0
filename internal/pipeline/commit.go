package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/metrics"
	"github.com/sessionize/sessionize/internal/session"
)

// commit writes everything processed since the last commit, in the order
// docs/commit-protocol.md explains: checkpoint, late, rejected, sessions.
func (p *Pipeline) commit(ctx context.Context) (err error) {
	if p.fenced {
		return errFenced
	}
	if !p.dirty || len(p.parts) == 0 {
		return nil
	}
	started := time.Now()
	p.seq++
	ids := p.owned()

	var entries []partitionCheckpoint
	ours := progress{topic: p.cfg.Kafka.Topic, offsets: map[int32]int64{}, checkpoints: map[int32]string{}, counters: map[int32]Counters{}}
	var sessions []iceberg.SessionRow
	var late []iceberg.LateRow
	var rejected []iceberg.RejectedRow
	var open int64
	var closedAt []int64
	for _, id := range ids {
		part := p.parts[id]
		entries = append(entries, partitionCheckpoint{partition: id, next: part.next, rejected: part.rejectedCount, state: part.stream.AppendState(nil)})
		ours.offsets[id] = part.next
		part.observe(p.cfg.Metrics) // sessions a drain just closed, too
		c := part.counters()
		ours.counters[id] = c
		open += c.Open
		s, at, l, r := part.takeOutput()
		closedAt = append(closedAt, at...)
		sessions = appendSessionRows(sessions, s)
		late = appendLateRows(late, l, p.cfg.Kafka.Topic)
		rejected = appendRejectedRows(rejected, r, p.cfg.Kafka.Topic)
	}
	// The output is out of the partitions now. If this commit fails, no
	// later one may go ahead without it: it would move the offsets past
	// rows never written. Drop the state as when fenced; it is reloaded
	// from the tables (a restart or a rejoin replays from the last commit).
	defer func() {
		if err != nil {
			p.fenced = true
		}
	}()
	data, err := encodeCheckpoint(entries)
	if err != nil {
		return fmt.Errorf("encode checkpoint: %w", err)
	}
	uri, err := retryOp(ctx, p, "write checkpoint", func(ctx context.Context) (string, error) {
		return p.wh.WriteFile(ctx, fmt.Sprintf("%s/%s-%08d.ckpt", p.cfg.Kafka.Group, p.writer, p.seq), data)
	})
	if err != nil {
		return err
	}
	// Everything so far was the checkpoint: state, compression, file.
	p.cfg.Metrics.Checkpoint(len(data), time.Since(started))
	for _, id := range ids {
		ours.checkpoints[id] = uri
	}
	// The late and rejected tables can be ahead of where we read (their
	// previous owner committed them and died before its sessions
	// snapshot): the rows below their offsets are there, so never move
	// those offsets back, or whoever restores next writes them again.
	lateProg := progress{topic: ours.topic, offsets: map[int32]int64{}}
	rejectedProg := progress{topic: ours.topic, offsets: map[int32]int64{}}
	for _, id := range ids {
		part := p.parts[id]
		lateProg.offsets[id] = max(part.next, part.lateDone)
		rejectedProg.offsets[id] = max(part.next, part.rejectedDone)
	}
	if len(late) > 0 {
		if err := p.commitTable(ctx, iceberg.Commit{Table: iceberg.TableLate, Late: late}, lateProg); err != nil {
			return err
		}
	}
	if len(rejected) > 0 {
		if err := p.commitTable(ctx, iceberg.Commit{Table: iceberg.TableRejected, Rejected: rejected}, rejectedProg); err != nil {
			return err
		}
	}
	if err := p.commitTable(ctx, iceberg.Commit{Table: iceberg.TableSessions, Sessions: sessions}, ours); err != nil {
		return err
	}
	p.src.CommitOffsets(ours.offsets) // monitoring only; never waits (a rebalance would stall us)
	visible := time.Now().UnixMilli()
	info := CommitInfo{Seq: p.seq, Partitions: len(ids), Records: p.sinceCommit, Sessions: len(sessions), Late: len(late),
		Rejected: len(rejected), OpenEvents: open, StateBytes: len(data), Duration: time.Since(started)}
	for _, at := range closedAt {
		info.CloseToVisible = append(info.CloseToVisible, time.Duration(visible-at)*time.Millisecond)
	}
	if lags, err := p.src.Lag(ctx); err == nil {
		for _, l := range lags {
			info.Lag += l.Lag
		}
	}
	p.cfg.Logger.Info("commit", "seq", info.Seq, "records", info.Records, "sessions", info.Sessions, "late", info.Late,
		"rejected", info.Rejected, "open_events", info.OpenEvents, "state_bytes", info.StateBytes,
		"commit_ms", info.Duration.Milliseconds(), "lag", info.Lag)
	if m := p.cfg.Metrics; m != nil {
		byReason := map[string]int64{}
		for i := range sessions {
			byReason[sessions[i].EndReason]++
		}
		for r, n := range byReason {
			m.AddSessions(r, n)
		}
		m.Committed(metrics.Commit{Time: time.Now(), Records: info.Records, Sessions: info.Sessions, Late: info.Late,
			Rejected: info.Rejected, DurationMs: info.Duration.Milliseconds(), Lag: info.Lag, StateBytes: info.StateBytes})
		p.reportOpen()
	}
	p.sinceCommit, p.dirty, p.lastCommit = 0, false, time.Now()
	if p.cfg.OnCommit != nil {
		p.cfg.OnCommit(info)
	}
	return nil
}

// commitTable appends c on top of the table's current snapshot, with our
// partitions' progress merged into the summary. It retries conflicts with
// writers of other partitions and transient failures, and returns
// errFenced if a writer moved one of our partitions.
func (p *Pipeline) commitTable(ctx context.Context, c iceberg.Commit, ours progress) error {
	_, err := retryOp(ctx, p, "commit "+c.Table, func(ctx context.Context) (struct{}, error) {
		base, parent, err := p.current(ctx, c.Table)
		if err != nil {
			return struct{}{}, err
		}
		if done, err := p.checkFence(c.Table, base, ours); err != nil || done {
			return struct{}{}, err
		}
		c.Properties = base.merged(ours).properties(p.cfg.Kafka.Group, p.writer)
		c.ExpectParentSnapshotID = parent
		// On ErrConflict the next attempt reloads and merges again. On
		// ErrCommitUnknown it finds out: only we move our partitions'
		// offsets, so if they show ours the commit landed.
		_, err = p.wh.Commit(ctx, c)
		return struct{}{}, err
	})
	if err != nil {
		return err
	}
	for id, off := range ours.offsets {
		p.expected[c.Table][id] = off
	}
	return nil
}

// checkFence compares the table's offsets for our partitions with what we
// expect. All equal: go ahead. All already at ours: an earlier attempt
// whose outcome was unknown did land (done); when the commit does not move
// the offsets (a drain at stop), the sessions table tells by naming this
// commit's checkpoint file. Anything else: fenced.
func (p *Pipeline) checkFence(table string, base progress, ours progress) (done bool, err error) {
	landed, untouched := true, true
	for id, want := range p.expected[table] {
		got, ok := base.offsets[id]
		if !ok {
			got = noOffset
		}
		if got != ours.offsets[id] {
			landed = false
		}
		if got != want {
			untouched = false
		}
		if got != want && got != ours.offsets[id] {
			p.fenced = true
			return false, backoff.Permanent(fmt.Errorf("%w: %s partition %d is at offset %d, we expected %d", errFenced, table, id, got, want))
		}
	}
	if !landed && !untouched {
		// Some of our partitions are at this commit's offsets, others
		// still at the previous ones: no commit of ours did that (one
		// moves all our partitions at once), another writer did.
		p.fenced = true
		return false, backoff.Permanent(fmt.Errorf("%w: %s has partitions of ours both at this commit's offsets and at the previous ones", errFenced, table))
	}
	if landed && len(p.expected[table]) > 0 &&
		(!sameOffsets(p.expected[table], ours.offsets) || sameCheckpoints(base.checkpoints, ours.checkpoints)) {
		return true, nil
	}
	return false, nil
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

func (p *Pipeline) current(ctx context.Context, table string) (progress, int64, error) {
	snap, ok, err := p.wh.Current(ctx, table)
	if err != nil {
		return progress{}, 0, err
	}
	if !ok {
		return progress{offsets: map[int32]int64{}, checkpoints: map[int32]string{}, counters: map[int32]Counters{}}, iceberg.NoSnapshot, nil
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

func appendSessionRows(rows []iceberg.SessionRow, ss []session.Session) []iceberg.SessionRow {
	for i := range ss {
		rows = append(rows, iceberg.NewSessionRow(&ss[i]))
	}
	return rows
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

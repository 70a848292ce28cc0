package pipeline

import (
	"context"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// maintainLoop runs table maintenance every interval until ctx is done,
// on the pipeline's own Warehouse: its commits and the pipeline's take
// turns under the Warehouse's per-table commit lock instead of racing
// (iceberg/commit_lock.go), so a pipeline committing every second neither
// starves compaction nor loses commits to it. Maintenance snapshots carry
// the pipeline's summary properties forward; a pipeline commit planned on
// the snapshot before one finds the head moved, reloads and merges onto it
// as it does for any other writer.
func maintainLoop(ctx context.Context, cfg Config, wh *iceberg.Warehouse) {
	tick := time.NewTicker(cfg.MaintainEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rep, err := wh.Maintain(ctx, iceberg.MaintainOptions{OlderThan: snapshotRetention(cfg.CommitInterval), TargetFileSize: InRunTargetFileSize})
		if err != nil {
			if ctx.Err() == nil {
				cfg.Logger.Warn("table maintenance failed; retrying at the next interval", "error", err)
			}
			continue
		}
		expired, deleted := 0, 0
		for _, t := range rep.Tables {
			expired += t.ExpiredSnapshots
			deleted += len(t.DeletedFiles)
		}
		cfg.Logger.Info("table maintenance", "expired_snapshots", expired, "deleted_files", deleted,
			"deleted_checkpoints", len(rep.CheckpointsDeleted), "ms", rep.Duration.Milliseconds())
	}
}

// snapshotRetention is how long run --maintain-every keeps snapshots: about
// retainedCommits commit intervals, between a minute and an hour (not the
// table command's default day: at a commit every 10 s a day is ~8,600
// snapshots, and every commit rewrites metadata that lists them all, so
// commit time would grow with it). 20 minutes at the default 10 s interval;
// at 1 s the minute, below which expiry's floor of the last 100 snapshots
// (iceberg.DefaultRetainLast) keeps them anyway. Each snapshot is about
// 2.3 KiB of metadata that every commit reads and writes again: in
// bench/freshness (a commit a second) 360 commit intervals meant 650 KiB
// of metadata per table and commit p99 growing from 0.4 to 1.4 s over the
// first six minutes, while about 100 snapshots held it at 0.4 s.
func snapshotRetention(commitInterval time.Duration) time.Duration {
	const retainedCommits = 120
	return min(max(retainedCommits*commitInterval, time.Minute), time.Hour)
}

// InRunTargetFileSize is the file size run --maintain-every compacts to:
// files of 3/4 of it or more are left alone. With the table's 128 MiB a
// day partition's one compacted file stayed below that for most of the
// day, so every run read and rewrote the whole day again (13 s a run
// after 5 minutes at 50k events/s, and growing); at 32 MiB a run merges
// the small files since the last into files that then stay, and a day
// holds a few dozen of them. sessionize table maintain still compacts to
// the table's size.
const InRunTargetFileSize = 32 << 20

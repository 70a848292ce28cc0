package pipeline

import (
	"context"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// maintainLoop runs table maintenance every interval on a Warehouse handle
// of its own until ctx is done. Maintenance commits are optimistic like
// the pipeline's and carry its summary properties forward, so the two can
// run side by side: on a conflict maintenance reloads and redoes its work,
// and a pipeline commit that loses a race to it merges onto the new
// snapshot like it does for any other writer.
func maintainLoop(ctx context.Context, cfg Config) {
	wh, err := iceberg.Open(ctx, cfg.Warehouse, cfg.Logger)
	if err != nil {
		cfg.Logger.Error("table maintenance disabled: cannot open the warehouse", "error", err)
		return
	}
	defer wh.Close()
	tick := time.NewTicker(cfg.MaintainEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// An hour, not the command's default day: at a commit every 10 s
		// a day is ~8,600 snapshots, and every commit rewrites metadata
		// listing them all.
		rep, err := wh.Maintain(ctx, iceberg.MaintainOptions{OlderThan: time.Hour})
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

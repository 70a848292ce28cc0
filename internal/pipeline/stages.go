package pipeline

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/sessionize/sessionize/internal/metrics"
)

// Where the job's time goes, for the final log line and
// sessionize_stage_seconds_total: cheap cumulative timers, so that a slow
// drain says whether it waited on Kafka, parsed, ran the engine, encoded
// Parquet or committed.
const (
	StagePoll       = "poll"       // waiting in Source.Poll for records (fetch)
	StageProcess    = "process"    // wall time of processing the polled batches (parse + engine, all partitions)
	StageParse      = "parse"      // decoding record values, summed over the partitions (sampled)
	StageEngine     = "engine"     // the session engine and the rows kept for the tables, summed over the partitions (sampled)
	StageCheckpoint = "checkpoint" // encoding and writing the state checkpoint of each commit
	StageDataFiles  = "data_files" // encoding and writing the Parquet data files of each commit
	StageCommit     = "commit"     // the rest of each commit: loading snapshots, fence checks, catalog commits
)

// stageOrder is the order of the final log line.
func stageOrder() []string {
	return []string{StagePoll, StageProcess, StageParse, StageEngine, StageCheckpoint, StageDataFiles, StageCommit}
}

// sampleEvery: parse and engine are timed on one record in this many and
// the time scaled up. Two clock reads per record would cost about 5% of a
// record's processing; one in 16 costs nothing measurable and, over the
// thousands of records of a batch, gives the split to a few percent.
const sampleEvery = 16

// stageClock sums the stages' time. It is touched only by the goroutine
// running the pipeline (the partitions' sampled times are added once their
// batch is done).
type stageClock struct {
	total map[string]time.Duration
	m     *metrics.Pipeline
}

func newStageClock(m *metrics.Pipeline) *stageClock {
	return &stageClock{total: map[string]time.Duration{}, m: m}
}

func (c *stageClock) add(stage string, d time.Duration) {
	if d <= 0 {
		return
	}
	c.total[stage] += d
	c.m.AddStage(stage, d)
}

// since adds the time since start to stage and returns now, for chaining.
func (c *stageClock) since(stage string, start time.Time) time.Time {
	now := time.Now()
	c.add(stage, now.Sub(start))
	return now
}

// logAttrs are the totals in seconds, one attribute per stage.
func (c *stageClock) logAttrs() []any {
	var out []any
	for _, s := range stageOrder() {
		out = append(out, slog.String(s+"_s", strconv.FormatFloat(c.total[s].Seconds(), 'f', 3, 64)))
	}
	return out
}

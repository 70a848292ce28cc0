package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/sessionize/sessionize/internal/kafka"
	"github.com/sessionize/sessionize/internal/metrics"
)

// minParallelRecords is the smallest poll worth spreading over goroutines:
// below it the hand-off costs more than a second core gives.
const minParallelRecords = 2048

// processPoll runs a poll's records through their partitions. Partitions
// share nothing while they process (each has its own decoder, rule
// marker and engine), so a poll holding several is processed on up to
// GOMAXPROCS goroutines, one partition at a time each; the rest of the
// pipeline's state is touched only here, afterwards, on the caller's
// goroutine. It returns the first decoder error (Prepare: the schema
// registry could not be asked), after every partition has processed what
// came before its failing record.
func (p *Pipeline) processPoll(ctx context.Context, b kafka.Batch) error {
	jobs := make([]*partitionJob, 0, len(b.Partitions))
	records := 0
	for i := range b.Partitions {
		pb := &b.Partitions[i]
		if part := p.parts[pb.Partition]; part != nil {
			jobs = append(jobs, &partitionJob{part: part, pb: pb, metrics: p.cfg.Metrics})
			records += len(pb.Records)
		}
	}
	workers := min(len(jobs), runtime.GOMAXPROCS(0))
	if workers <= 1 || records < minParallelRecords {
		for _, j := range jobs {
			j.run(ctx)
		}
	} else {
		var wg sync.WaitGroup
		next := make(chan *partitionJob, len(jobs))
		for _, j := range jobs {
			next <- j
		}
		close(next)
		for range workers {
			wg.Go(func() {
				for j := range next {
					j.run(ctx)
				}
			})
		}
		wg.Wait()
	}
	var firstErr error
	for _, j := range jobs {
		// A partition's batch without records (transaction markers only)
		// still moves its offset: dirty, as before, so that it is
		// committed (and --stop-when-idle sees it at the end).
		if j.err == nil || j.processed > 0 {
			p.dirty = true
		}
		if j.err != nil {
			if firstErr == nil {
				firstErr = j.err
			}
			continue
		}
		p.cfg.Metrics.SetPartition(j.pb.Partition, max(0, j.pb.LastStableOffset-j.part.next), j.part.stream.Watermark())
		p.sinceCommit += int64(len(j.pb.Records))
	}
	return firstErr
}

// partitionJob is one partition's part of a poll.
type partitionJob struct {
	part      *partition
	pb        *kafka.PartitionBatch
	metrics   *metrics.Pipeline // safe for concurrent use
	processed int               // records taken
	err       error             // Prepare failed at a record: it and the rest were not taken
}

func (j *partitionJob) run(ctx context.Context) {
	part, pb := j.part, j.pb
	for i := range pb.Records {
		r := &pb.Records[i]
		if r.Offset >= part.next {
			// A registry that cannot be asked is no verdict on the
			// record: stop before it, so that what came before is
			// committed (OnRevoked) and a restart resumes here.
			if err := part.parser.Prepare(ctx, r.Value); err != nil {
				if i > 0 {
					part.advance()
				}
				j.err = fmt.Errorf("partition %d offset %d: %w", r.Partition, r.Offset, err)
				return
			}
		}
		part.process(&Record{Partition: r.Partition, Offset: r.Offset, TimestampMs: r.TimestampMs, Key: r.Key, Value: r.Value})
		j.processed++
	}
	part.next = max(part.next, pb.Next)
	if part.replaying() && part.next >= part.replayTo {
		part.endReplay() // read up to the committed offset: caught up
	}
	part.advance()
	part.observe(j.metrics)
}

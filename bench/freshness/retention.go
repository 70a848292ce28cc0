package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// limitRetention bounds what the broker keeps of the topic to bytes per
// partition, checked every 10 s, as a real cluster's retention would.
// The broker (kfake) holds every record in memory, ~190 MiB per million
// events: 30 minutes at 50k/s would need ~17 GB. Records the run has not
// committed when they go would be lost to it; the end-of-run account
// (records in the tables against records produced) then says so.
func limitRetention(ctx context.Context, servers, topic string, bytes int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(servers))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// The broker's retention check runs every log.cleaner.backoff.ms
	// (an hour by default); it is set before the topic's retention, which
	// starts the check.
	backoff := "10000"
	if _, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.cleaner.backoff.ms", Value: &backoff}}); err != nil {
		return fmt.Errorf("setting log.cleaner.backoff.ms: %w", err)
	}
	v := strconv.FormatInt(bytes, 10)
	res, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.bytes", Value: &v}}, topic)
	if err != nil {
		return fmt.Errorf("setting retention.bytes: %w", err)
	}
	for _, r := range res {
		if r.Err != nil {
			return fmt.Errorf("setting retention.bytes of %s: %w", r.Name, r.Err)
		}
	}
	return nil
}

package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Preflight checks what NewSource will need of Kafka before a job touches
// anything else: that a broker at cfg.Servers answers (waiting up to
// cfg.ConnectTimeout, as NewSource does) and that the topic exists, unless
// cfg.WaitForTopic. A run given a mistyped server or topic then fails
// without having created a warehouse, its catalog and empty tables first.
func Preflight(ctx context.Context, cfg SourceConfig, logger *slog.Logger) error {
	if err := connect(ctx, cfg.Servers, cfg.Security, cfg.ConnectTimeout, logger); err != nil {
		return err
	}
	if cfg.WaitForTopic {
		return nil
	}
	topic := cfg.Topic
	if topic == "" {
		topic = DefaultTopic
	}
	cl, err := newClient(cfg.Servers, cfg.Security, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = topicPartitions(ctx, kadm.NewClient(cl), topic)
	if errors.Is(err, ErrTopicNotFound) {
		return fmt.Errorf("kafka: %w: %q on %s", ErrTopicNotFound, topic, strings.Join(cfg.Servers, ","))
	}
	return err
}

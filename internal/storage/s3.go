package storage

import (
	"context"
	"fmt"
	"net/http"
	"time"

	iceio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/utils"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// An S3 IO that iceberg-go opens on its own (for every table it loads)
// resolves the AWS configuration again: the default chain's files and
// variables, the CA bundle if AWS_CA_BUNDLE is set (parsing it costs
// milliseconds), and a new HTTP client that shares no connections. With a
// resolved configuration in the context (iceberg-go's utils.WithAwsConfig,
// as its Glue catalog does) every IO reuses it, its credential cache and
// its connections.

// defaultCompatRegion signs requests to an --s3-endpoint when no region
// is configured anywhere.
const defaultCompatRegion = "us-east-1"

// s3Config resolves the AWS configuration for props once, with one HTTP
// client tuned for many parallel requests to one host.
func s3Config(ctx context.Context, props map[string]string) (*aws.Config, error) {
	cfg, err := s3.ParseAWSConfig(ctx, props)
	if err != nil {
		return nil, fmt.Errorf("storage: S3 configuration: %w", err)
	}
	if cfg.Region == "" && props[iceio.S3EndpointURL] != "" {
		// Requests must be signed for some region; S3-compatible
		// servers take the SDK's traditional default.
		cfg.Region = defaultCompatRegion
	}
	var client *awshttp.BuildableClient
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		client = bc
	} else {
		client = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = client.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 256
		t.IdleConnTimeout = 90 * time.Second
	})
	return cfg, nil
}

// Context returns ctx carrying the store's resolved S3 configuration, for
// every call into iceberg-go (catalog loads, commits, scans) whose IO
// reaches this warehouse; other stores return ctx as it is.
func (s *Store) Context(ctx context.Context) context.Context {
	if s.aws == nil || utils.GetAwsConfig(ctx) == s.aws {
		return ctx
	}
	return utils.WithAwsConfig(ctx, s.aws)
}

package testservers

import (
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/sessionize/sessionize/internal/storage"
)

// S3 is a running S3-compatible server with one bucket.
type S3 struct {
	// Name says which server it is, for test names and logs.
	Name     string
	Endpoint string
	Bucket   string
	// AccessKey and SecretKey are the static credentials the server
	// accepts.
	AccessKey, SecretKey string
}

// Options returns the storage options that reach the server.
func (s S3) Options() storage.Options {
	return storage.Options{S3: storage.S3Options{
		Endpoint:        s.Endpoint,
		Region:          "us-east-1",
		AccessKeyID:     s.AccessKey,
		SecretAccessKey: s.SecretKey,
	}}
}

// Warehouse returns an s3:// warehouse URL under prefix in the bucket.
func (s S3) Warehouse(prefix string) string {
	return fmt.Sprintf("s3://%s/%s", s.Bucket, prefix)
}

// Flags returns the sessionize command-line flags that reach the server
// (the secret as a flag is fine for a throwaway test server).
func (s S3) Flags() []string {
	return []string{"--s3-endpoint", s.Endpoint, "--s3-region", "us-east-1",
		"--s3-access-key-id", s.AccessKey, "--s3-secret-access-key", s.SecretKey}
}

// Env returns environment entries for a child process that uses the
// server: the AWS SDK must never probe an instance-metadata address.
func (s S3) Env() []string {
	return []string{"AWS_EC2_METADATA_DISABLED=true"}
}

// DisableIMDS keeps the AWS SDK of this test process from probing the EC2
// instance-metadata address; call it from TestMain, before any test runs
// in parallel.
func DisableIMDS() {
	_ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// StartFakeS3 starts gofakes3, an in-memory S3 server, in process: fast,
// for unit tests of the storage layer. It checks no signatures; the
// integration tests use StartVersityGW.
func StartFakeS3(t testing.TB) S3 {
	t.Helper()
	backend := s3mem.New()
	const bucket = "lake"
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return S3{Name: "gofakes3", Endpoint: srv.URL, Bucket: bucket, AccessKey: "fake-key", SecretKey: "fake-secret"}
}

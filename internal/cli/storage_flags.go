package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/storage"
)

// storageFlags say how to reach an object-store --warehouse; shared by every
// command that has --warehouse. Empty ones leave the choice to the AWS
// SDK's default chain (AWS_* variables, ~/.aws files, web identity,
// instance roles).
type storageFlags struct {
	endpoint, region             string
	accessKeyID, secretAccessKey string
	secretAccessKeyFile          string
	sessionToken                 string
	pathStyle                    bool
}

// storageFlagNames are the flags of storageFlags, for sharedFlags.
func storageFlagNames() []string {
	return []string{"s3-endpoint", "s3-region", "s3-access-key-id", "s3-secret-access-key",
		"s3-secret-access-key-file", "s3-session-token", "s3-path-style"}
}

func (s *storageFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&s.endpoint, "s3-endpoint", "", "URL of an S3-compatible server for an s3:// --warehouse (MinIO, versitygw, Ceph...); empty is AWS")
	fs.StringVar(&s.region, "s3-region", "", "S3 region; empty takes the AWS default chain's (AWS_REGION, ~/.aws/config), or us-east-1 with --s3-endpoint")
	fs.StringVar(&s.accessKeyID, "s3-access-key-id", "", "S3 access key id; empty uses the AWS default credential chain")
	fs.StringVar(&s.secretAccessKey, "s3-secret-access-key", "", "S3 secret key: set it with SESSIONIZE_S3_SECRET_ACCESS_KEY or --s3-secret-access-key-file rather than on the command line")
	fs.StringVar(&s.secretAccessKeyFile, "s3-secret-access-key-file", "", "file holding the S3 secret key (surrounding whitespace ignored)")
	fs.StringVar(&s.sessionToken, "s3-session-token", "", "S3 session token of temporary credentials")
	fs.BoolVar(&s.pathStyle, "s3-path-style", false, "path-style S3 requests (host/bucket/key); the default is path style whenever --s3-endpoint is set")
}

// options returns the storage options, reading the secret key file.
func (s *storageFlags) options() (storage.Options, error) {
	secret := s.secretAccessKey
	if s.secretAccessKeyFile != "" {
		if secret != "" {
			return storage.Options{}, usagef("give the S3 secret key once: --s3-secret-access-key (or its variable) or --s3-secret-access-key-file")
		}
		b, err := os.ReadFile(s.secretAccessKeyFile)
		if err != nil {
			return storage.Options{}, usagef("--s3-secret-access-key-file: %v", err)
		}
		secret = strings.TrimSpace(string(b))
		if secret == "" {
			return storage.Options{}, usagef("--s3-secret-access-key-file %s is empty", s.secretAccessKeyFile)
		}
	}
	if (s.accessKeyID == "") != (secret == "") {
		return storage.Options{}, usagef("--s3-access-key-id and the S3 secret key (--s3-secret-access-key or --s3-secret-access-key-file) go together; give both, or neither to use the AWS default chain")
	}
	if s.sessionToken != "" && s.accessKeyID == "" {
		return storage.Options{}, usagef("--s3-session-token goes with --s3-access-key-id and the S3 secret key")
	}
	if s.endpoint != "" && !strings.HasPrefix(s.endpoint, "http://") && !strings.HasPrefix(s.endpoint, "https://") {
		return storage.Options{}, usagef("invalid argument %q for \"--s3-endpoint\" flag: give a URL, http(s)://host:port", s.endpoint)
	}
	return storage.Options{S3: storage.S3Options{
		Endpoint: s.endpoint, Region: s.region,
		AccessKeyID: s.accessKeyID, SecretAccessKey: secret, SessionToken: s.sessionToken,
		PathStyle: s.pathStyle,
	}}, nil
}

// String never shows the secret (for %v in logs or errors).
func (s storageFlags) String() string {
	return fmt.Sprintf("endpoint=%q region=%q access_key_id=%q", s.endpoint, s.region, s.accessKeyID)
}

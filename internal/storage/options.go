package storage

import (
	"log/slog"
	"strconv"

	iceio "github.com/apache/iceberg-go/io"
)

// S3Options configure the S3 client of an s3:// (or s3a://) warehouse.
// Empty fields fall back to the AWS SDK's default chain (AWS_* variables,
// shared config and credentials files, web identity, instance roles).
type S3Options struct {
	// Endpoint is the URL of an S3-compatible server (MinIO, versitygw,
	// SeaweedFS, Ceph...); "" is AWS (or AWS_S3_ENDPOINT).
	Endpoint string
	Region   string
	// AccessKeyID and SecretAccessKey are a static key pair; both or
	// neither. SessionToken goes with temporary keys.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// PathStyle forces path-style requests (http://host/bucket/key).
	// Without it requests are path style whenever Endpoint is set (what
	// S3-compatible servers expect) and virtual-hosted on AWS.
	PathStyle bool
}

// Props returns the options as iceberg-go io properties (s3.endpoint,
// s3.region, ...): the form every iceberg-go IO and catalog takes, so a
// catalog given them opens table files with the same client settings.
func (o S3Options) Props() map[string]string {
	props := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			props[k] = v
		}
	}
	set(iceio.S3EndpointURL, o.Endpoint)
	set(iceio.S3Region, o.Region)
	set(iceio.S3AccessKeyID, o.AccessKeyID)
	set(iceio.S3SecretAccessKey, o.SecretAccessKey)
	set(iceio.S3SessionToken, o.SessionToken)
	if o.PathStyle {
		props[iceio.S3ForceVirtualAddressing] = strconv.FormatBool(false)
	}
	return props
}

// LogValue describes the options without the secret key or session token.
func (o S3Options) LogValue() slog.Value {
	attrs := []slog.Attr{}
	if o.Endpoint != "" {
		attrs = append(attrs, slog.String("endpoint", o.Endpoint))
	}
	if o.Region != "" {
		attrs = append(attrs, slog.String("region", o.Region))
	}
	if o.AccessKeyID != "" {
		attrs = append(attrs, slog.String("credentials", "static key "+o.AccessKeyID))
	} else {
		attrs = append(attrs, slog.String("credentials", "AWS default chain"))
	}
	if o.PathStyle {
		attrs = append(attrs, slog.Bool("path_style", true))
	}
	return slog.GroupValue(attrs...)
}

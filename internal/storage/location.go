package storage

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// schemes maps each warehouse URL scheme sessionize accepts to the one it
// is stored as in table metadata: s3a:// (Hadoop's name, as in Spark
// configurations) is the same bucket as s3://, and the s3:// form is the
// one every Iceberg engine reads.
var schemes = map[string]string{
	"s3":    "s3",
	"s3a":   "s3",
	"gs":    "gs",
	"abfs":  "abfs",
	"abfss": "abfss",
	"wasb":  "wasb",
	"wasbs": "wasbs",
}

// SupportedSchemes lists the warehouse URL schemes, for help and errors.
func SupportedSchemes() []string {
	out := []string{"file"}
	for s := range schemes {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Location is a parsed warehouse location.
type Location struct {
	// URI is the root as table locations are built from it: an absolute
	// local path (no file:// prefix, as sessionize always wrote them) or
	// scheme://bucket/prefix without a trailing slash.
	URI string
	// Scheme is "" for a local directory, else the normalized scheme.
	Scheme string
	// Bucket is the bucket (or container) of an object-store location.
	Bucket string
}

// Local reports whether the location is a local directory.
func (l Location) Local() bool { return l.Scheme == "" }

// Join returns the location of a file or directory below l; elem are
// slash-separated relative paths.
func (l Location) Join(elem ...string) string {
	if l.Local() {
		return filepath.Join(append([]string{l.URI}, elem...)...)
	}
	return strings.Join(append([]string{l.URI}, elem...), "/")
}

// Contains reports whether loc names something strictly below l, and
// returns its slash-separated path relative to l.
func (l Location) Contains(loc string) (string, bool) {
	if l.Local() {
		if rest, ok := strings.CutPrefix(loc, "file://"); ok {
			loc = rest
		}
		rel, err := filepath.Rel(l.URI, filepath.Clean(loc))
		if err != nil || rel == "." || !filepath.IsLocal(rel) {
			return "", false
		}
		return filepath.ToSlash(rel), true
	}
	rel, ok := strings.CutPrefix(loc, l.URI+"/")
	if !ok || !plainPath(rel) {
		return "", false
	}
	return rel, true
}

// ParseLocation parses a warehouse given as a local path, a file:// URL or
// an object-store URL (s3://bucket/prefix, s3a://, gs://, abfs://, wasb://
// ...). A scheme it does not know is an error rather than a directory
// named after it: "s3:/bucket" or "minio://..." must not become a local
// directory that silently collects the tables.
func ParseLocation(raw string) (Location, error) {
	if raw == "" {
		return Location{}, fmt.Errorf("storage: warehouse is required: a local directory or a URL such as s3://bucket/warehouse")
	}
	scheme, rest, hasScheme := strings.Cut(raw, ":")
	if !hasScheme || strings.ContainsAny(scheme, `/\.`) || scheme == "" || filepath.VolumeName(raw) != "" {
		return localLocation(raw)
	}
	scheme = strings.ToLower(scheme)
	if scheme == "file" {
		u, err := url.Parse(raw)
		if err != nil {
			return Location{}, fmt.Errorf("storage: warehouse %q: %w", raw, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return Location{}, fmt.Errorf("storage: warehouse %q: a file:// URL names a local path (file:///dir); host %q is not supported", raw, u.Host)
		}
		if u.Path == "" {
			return Location{}, fmt.Errorf("storage: warehouse %q: a file:// URL needs an absolute path (file:///dir)", raw)
		}
		return localLocation(u.Path)
	}
	norm, ok := schemes[scheme]
	if !ok {
		return Location{}, fmt.Errorf("storage: warehouse %q: unknown scheme %q: give a local directory or a URL with one of %s",
			raw, scheme, strings.Join(SupportedSchemes(), ", "))
	}
	if !strings.HasPrefix(rest, "//") {
		return Location{}, fmt.Errorf("storage: warehouse %q: write %s://bucket/path", raw, scheme)
	}
	bucket, prefix, _ := strings.Cut(rest[2:], "/")
	if bucket == "" {
		return Location{}, fmt.Errorf("storage: warehouse %q: no bucket: write %s://bucket/path", raw, scheme)
	}
	if strings.ContainsAny(bucket, "?#") || strings.ContainsAny(prefix, "?#") {
		return Location{}, fmt.Errorf("storage: warehouse %q: query strings and fragments are not part of a warehouse location", raw)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" && !plainPath(prefix) {
		return Location{}, fmt.Errorf("storage: warehouse %q: the path inside the bucket must be plain (no '.', '..' or empty segments)", raw)
	}
	uri := norm + "://" + bucket
	if prefix != "" {
		uri += "/" + prefix
	}
	return Location{URI: uri, Scheme: norm, Bucket: bucket}, nil
}

func localLocation(path string) (Location, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Location{}, fmt.Errorf("storage: warehouse %q: %w", path, err)
	}
	// iceberg-go builds table locations with url.JoinPath, which escapes
	// characters such as spaces; the escaped location would then name a
	// different local directory. Refuse such paths instead of scattering
	// files in two places.
	if escaped := (&url.URL{Path: abs}).EscapedPath(); escaped != abs {
		return Location{}, fmt.Errorf("storage: warehouse path %q contains characters that need URL escaping; use a plain path", abs)
	}
	return Location{URI: abs}, nil
}

// plainPath reports whether p is a non-empty slash-separated relative path
// without empty, "." or ".." segments: one that names one object key.
func plainPath(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return p != ""
}

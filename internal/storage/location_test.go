package storage

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseLocation(t *testing.T) {
	abs, err := filepath.Abs("wh")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in, uri, scheme, bucket string
		err                     string // substring of the error; "" for none
	}{
		{in: "wh", uri: abs},
		{in: "/data/wh/", uri: "/data/wh"},
		{in: "file:///data/wh", uri: "/data/wh"},
		{in: "file://localhost/data/wh", uri: "/data/wh"},
		{in: "./a:b", uri: filepath.Join(filepath.Dir(abs), "a:b")},
		{in: "s3://lake/warehouse", uri: "s3://lake/warehouse", scheme: "s3", bucket: "lake"},
		{in: "s3://lake/warehouse/", uri: "s3://lake/warehouse", scheme: "s3", bucket: "lake"},
		{in: "s3://lake", uri: "s3://lake", scheme: "s3", bucket: "lake"},
		{in: "s3a://data-lake/warehouse", uri: "s3://data-lake/warehouse", scheme: "s3", bucket: "data-lake"},
		{in: "S3://lake/w", uri: "s3://lake/w", scheme: "s3", bucket: "lake"},
		{in: "gs://lake/w", uri: "gs://lake/w", scheme: "gs", bucket: "lake"},
		{in: "abfs://container@account.dfs.core.windows.net/w", uri: "abfs://container@account.dfs.core.windows.net/w", scheme: "abfs", bucket: "container@account.dfs.core.windows.net"},
		{in: "wasb://c@a.blob.core.windows.net/w", uri: "wasb://c@a.blob.core.windows.net/w", scheme: "wasb", bucket: "c@a.blob.core.windows.net"},
		{in: "", err: "warehouse is required"},
		{in: "s3:/lake/warehouse", err: "write s3://bucket/path"},
		{in: "s3:///warehouse", err: "no bucket"},
		{in: "minio://lake/w", err: `unknown scheme "minio"`},
		{in: "http://host/w", err: `unknown scheme "http"`},
		{in: "s3://lake/a/../b", err: "must be plain"},
		{in: "s3://lake/a//b", err: "must be plain"},
		{in: "s3://lake/w?x=1", err: "query strings"},
		{in: "file://host/data", err: "host"},
		{in: "/data/with space", err: "URL escaping"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			loc, err := ParseLocation(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseLocation(%q) = %+v, %v; want error with %q", tc.in, loc, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLocation(%q): %v", tc.in, err)
			}
			if loc.URI != tc.uri || loc.Scheme != tc.scheme || loc.Bucket != tc.bucket || loc.Local() != (tc.scheme == "") {
				t.Fatalf("ParseLocation(%q) = %+v, want uri %q scheme %q bucket %q", tc.in, loc, tc.uri, tc.scheme, tc.bucket)
			}
		})
	}
}

func TestLocationContains(t *testing.T) {
	s3 := Location{URI: "s3://lake/wh", Scheme: "s3", Bucket: "lake"}
	local := Location{URI: "/data/wh"}
	cases := []struct {
		loc  Location
		in   string
		rel  string
		want bool
	}{
		{s3, "s3://lake/wh/a/b.ckpt", "a/b.ckpt", true},
		{s3, "s3://lake/wh", "", false},
		{s3, "s3://lake/wh2/a", "", false},
		{s3, "s3://other/wh/a", "", false},
		{s3, "s3://lake/wh/../x", "", false},
		{local, "/data/wh/a/b.ckpt", "a/b.ckpt", true},
		{local, "file:///data/wh/a", "a", true},
		{local, "/data/wh/../x", "", false},
		{local, "/data/wh", "", false},
	}
	for _, tc := range cases {
		rel, ok := tc.loc.Contains(tc.in)
		if rel != tc.rel || ok != tc.want {
			t.Errorf("%s.Contains(%q) = %q, %t; want %q, %t", tc.loc.URI, tc.in, rel, ok, tc.rel, tc.want)
		}
	}
}

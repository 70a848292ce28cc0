package input

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestGunzip(t *testing.T) {
	text := strings.Repeat(`{"uuid": "u", "event_id": "1"}`+"\n", 5000)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(text))
	zw.Close()
	gz := b.Bytes()
	cases := []struct {
		name    string
		data    []byte
		gzipped bool
		want    string // the content, when readable to its end
		err     error  // else the error, from Gunzip or from reading
	}{
		{"plain text", []byte(text), false, text, nil},
		{"empty", nil, false, "", nil},
		{"gzip", gz, true, text, nil},
		{"two gzip members", append(bytes.Clone(gz), gz...), true, text + text, nil},
		{"cut in the header", gz[:5], true, "", ErrTruncatedGzip},
		{"cut in the data", gz[:len(gz)/2], true, "", ErrTruncatedGzip},
		{"cut in the trailer", gz[:len(gz)-3], true, "", ErrTruncatedGzip},
		{"bad checksum", append(bytes.Clone(gz[:len(gz)-8]), 0, 0, 0, 0, 0, 0, 0, 0), true, "", gzip.ErrChecksum},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, closeFn, gzipped, err := Gunzip(bufio.NewReader(bytes.NewReader(tc.data)))
			if err == nil {
				defer closeFn()
				if gzipped != tc.gzipped {
					t.Fatalf("gzipped %v, want %v", gzipped, tc.gzipped)
				}
				var got []byte
				got, err = io.ReadAll(r)
				if err == nil && string(got) != tc.want {
					t.Fatalf("read %d bytes, want %d", len(got), len(tc.want))
				}
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
		})
	}
}

package batch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestDamagedGzipInputFails: a gzip input that ends early (a copy cut
// short, a file still being written) or fails its checksum is an error
// naming the file, and no output appears. Before, a JSON lines input cut
// inside its gzip stream was read as if it ended there: exit 0 with the
// sessions of the part before the cut (its last, cut line rejected as
// invalid_json), a partial result reported as a finished run.
func TestDamagedGzipInputFails(t *testing.T) {
	var jsonl, csvText strings.Builder
	csvText.WriteString("uuid,event_timestamp,event_id,page_name,booking_details\n")
	for i := range 3000 {
		jsonl.WriteString(ev(fmt.Sprint(i), fmt.Sprint(1000+i*1000)) + "\n")
		fmt.Fprintf(&csvText, "u,%d,%d,p,\n", 1000+i*1000, i)
	}
	type damage struct {
		name string
		cut  func([]byte) []byte
		want string
	}
	damages := []damage{
		{"cut in the middle", func(b []byte) []byte { return b[:len(b)/2] }, "ends inside its gzip stream"},
		{"trailer missing", func(b []byte) []byte { return b[:len(b)-8] }, "ends inside its gzip stream"},
		{"one byte short", func(b []byte) []byte { return b[:len(b)-1] }, "ends inside its gzip stream"},
		{"checksum wrong", func(b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)-8] ^= 0xff // the CRC-32 of the trailer
			return b
		}, "checksum"},
	}
	for _, format := range []struct{ ext, text string }{{"jsonl.gz", jsonl.String()}, {"csv.gz", csvText.String()}} {
		for _, d := range damages {
			for _, stdin := range []bool{false, true} {
				if stdin && format.ext != "jsonl.gz" {
					continue // stdin is JSON lines only
				}
				name := fmt.Sprintf("%s %s stdin=%v", format.ext, d.name, stdin)
				t.Run(name, func(t *testing.T) {
					var b bytes.Buffer
					zw := gzip.NewWriter(&b)
					zw.Write([]byte(format.text))
					zw.Close()
					data := d.cut(b.Bytes())
					dir := t.TempDir()
					in := filepath.Join(dir, "in."+format.ext)
					cfg := Config{Inputs: []string{in}, Output: filepath.Join(dir, "out.jsonl"), Rejected: filepath.Join(dir, "rej.jsonl"),
						Workers: 2, Rules: defaultRulesForTest()}
					inName := in
					if stdin {
						in, inName = "-", "stdin"
						cfg.Inputs, cfg.Stdin = []string{"-"}, bytes.NewReader(data)
					} else if err := os.WriteFile(in, data, 0o644); err != nil {
						t.Fatal(err)
					}
					sum, err := Run(t.Context(), cfg)
					if err == nil {
						t.Fatalf("the run succeeded on a damaged input: %d records read, %d sessions, rejected %v",
							sum.RecordsRead, sum.Sessions, sum.RejectedByReason)
					}
					if !strings.Contains(err.Error(), inName) || !strings.Contains(err.Error(), d.want) {
						t.Fatalf("error %q: want the input's name %q and %q", err, inName, d.want)
					}
					entries, _ := os.ReadDir(dir)
					for _, e := range entries {
						if e.Name() != filepath.Base(in) {
							t.Errorf("a failed run left %s behind", e.Name())
						}
					}
				})
			}
		}
	}
}

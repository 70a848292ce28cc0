package testservers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/storage"
)

// SeaweedFS is a running `weed mini`.
type SeaweedFS struct {
	// CatalogURI is the Iceberg REST catalog, http://127.0.0.1:PORT.
	CatalogURI string
	// CatalogWarehouse is the catalog's warehouse: s3://<TableBucket>/.
	CatalogWarehouse string
	// S3Endpoint is the S3 gateway, http://127.0.0.1:PORT.
	S3Endpoint string
	// TableBucket holds the catalog's tables; Bucket is a plain S3 bucket
	// (for a warehouse's checkpoints, say).
	TableBucket, Bucket string
	// Dir holds the server's data and its log (weed.log).
	Dir string
}

// The server's one identity: its S3 key pair, which its Iceberg REST
// catalog also takes as OAuth2 client credentials. With it configured the
// server checks S3 signatures and wants a token for every catalog call, as
// a production catalog does.
const (
	seaweedAccessKey = "sessionize"
	seaweedSecretKey = "sessionize-secret"
)

// S3 is the server's S3 gateway with its plain bucket.
func (s *SeaweedFS) S3() S3 {
	return S3{Name: "seaweedfs", Endpoint: s.S3Endpoint, Bucket: s.Bucket, AccessKey: seaweedAccessKey, SecretKey: seaweedSecretKey}
}

// S3Props are iceberg-go IO properties that reach the server's S3 gateway.
func (s *SeaweedFS) S3Props() map[string]string {
	return s.S3().Options().S3.Props()
}

// Credential is the catalog's OAuth2 client credentials, CLIENT_ID:SECRET.
func (s *SeaweedFS) Credential() string { return seaweedAccessKey + ":" + seaweedSecretKey }

// SeaweedFSInstall is how CI gets weed: SeaweedFS cannot be go installed
// directly (its go.mod has a replace directive), so .ci/run builds it from
// the wrapper module in .ci/seaweedfs.
const SeaweedFSInstall = "go build -C .ci/seaweedfs -o $(go env GOPATH)/bin/weed github.com/seaweedfs/seaweedfs/weed"

// StartSeaweedFS starts `weed mini`: an S3 gateway and SeaweedFS's
// built-in Iceberg REST catalog in one process, with a table bucket for
// the catalog (s.TableBucket, the catalog's warehouse s3://<bucket>/) and a
// plain S3 bucket (s.Bucket), in a temporary directory on free local
// ports; it is stopped when the test ends. Clients get static keys and a region
// (S3Props), so the AWS SDK never looks for instance credentials; child
// processes should also get S3.Env().
func StartSeaweedFS(t testing.TB) *SeaweedFS {
	t.Helper()
	bin := findBinary(t, "weed", SeaweedFSInstall)
	dir, err := os.MkdirTemp("", "sessionize-weed-")
	if err != nil {
		t.Fatal(err)
	}
	s := &SeaweedFS{TableBucket: "lake", Bucket: "files", Dir: dir}
	s.CatalogWarehouse = "s3://" + s.TableBucket + "/"

	// weed mini serves gRPC on every HTTP port + 10000; each port is
	// chosen with that one free too.
	ports := freePorts(t, 6)
	master, volume, filer, s3, iceberg, admin := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	s.S3Endpoint = fmt.Sprintf("http://127.0.0.1:%d", s3)
	s.CatalogURI = fmt.Sprintf("http://127.0.0.1:%d", iceberg)
	logPath := filepath.Join(dir, "weed.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "mini", "-dir="+data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+strconv.Itoa(master), "-volume.port="+strconv.Itoa(volume),
		"-filer.port="+strconv.Itoa(filer), "-s3.port="+strconv.Itoa(s3),
		"-s3.port.iceberg="+strconv.Itoa(iceberg), "-admin.port="+strconv.Itoa(admin),
		"-admin.port.legacy=0", "-admin.ui=false", "-s3.port.lance=0", "-webdav=false",
		"-tableBucket="+s.TableBucket, "-bucket="+s.Bucket)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// With keys in its environment weed mini creates that identity and
	// checks every request against it.
	cmd.Env = append(withoutAWS(os.Environ()), "AWS_ACCESS_KEY_ID="+seaweedAccessKey, "AWS_SECRET_ACCESS_KEY="+seaweedSecretKey)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s mini: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		_ = logFile.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				t.Logf("weed mini log (last 4 KiB):\n%s", tail(log, 4096))
			}
		}
		_ = os.RemoveAll(dir)
	})

	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		ready, why := s.ready(ctx)
		if ready {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("weed mini exited before it was ready (%v):\n%s", err, tail(log, 4096))
		case <-ctx.Done():
			log, _ := os.ReadFile(logPath)
			t.Fatalf("weed mini not ready after %s (%s):\n%s", time.Since(started).Round(time.Second), why, tail(log, 4096))
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("weed mini ready in %s: catalog %s (warehouse %s), S3 %s", time.Since(started).Round(10*time.Millisecond),
		s.CatalogURI, s.CatalogWarehouse, s.S3Endpoint)
	return s
}

// ready reports whether the catalog serves the table bucket and hands out
// tokens, and S3 lists the plain bucket, and if not, why.
func (s *SeaweedFS) ready(ctx context.Context) (bool, string) {
	body, err := get(ctx, s.CatalogURI+"/v1/config?warehouse="+s.CatalogWarehouse)
	if err != nil {
		return false, "catalog: " + err.Error()
	}
	if !strings.Contains(body, `"prefix"`) {
		return false, "catalog config has no prefix for the table bucket yet: " + body
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {seaweedAccessKey}, "client_secret": {seaweedSecretKey}, "scope": {"catalog"}}
	rsp, err := http.PostForm(s.CatalogURI+"/v1/oauth/tokens", form)
	if err != nil {
		return false, "catalog token: " + err.Error()
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(rsp.Body).Decode(&tok)
	_ = rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK || err != nil {
		return false, fmt.Sprintf("catalog token: %s %v", rsp.Status, err)
	}
	// The table bucket is created a moment after the catalog answers.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.CatalogURI+"/v1/"+s.TableBucket+"/namespaces", nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rsp, err = http.DefaultClient.Do(req)
	if err != nil {
		return false, "catalog: " + err.Error()
	}
	_ = rsp.Body.Close()
	if rsp.StatusCode != http.StatusOK {
		return false, "catalog: table bucket " + s.TableBucket + ": " + rsp.Status
	}
	st, err := storage.Open(ctx, "s3://"+s.Bucket, s.S3().Options())
	if err != nil {
		return false, "S3: " + err.Error()
	}
	if err := st.Probe(st.Context(ctx), false); err != nil {
		return false, "S3 bucket " + s.Bucket + ": " + err.Error()
	}
	return true, ""
}

func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer rsp.Body.Close()
	body, err := io.ReadAll(rsp.Body)
	if err != nil {
		return "", err
	}
	if rsp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", rsp.Status, body)
	}
	return string(body), nil
}

// freePorts returns n distinct free local ports p with p+10000 free too.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries == 1000 {
			t.Fatal("no free local port pairs (p, p+10000)")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if p+10000 > 65535 {
			_ = l.Close()
			continue
		}
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			_ = l.Close()
			continue
		}
		held = append(held, l, l2)
		out = append(out, p)
	}
	return out
}

func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "S3_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

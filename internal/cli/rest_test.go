package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/testservers"
)

// TestRESTCatalogWarehouse runs the commands a user runs with an Iceberg
// REST catalog, SeaweedFS's (weed mini, a real server that checks S3
// signatures and catalog tokens): batch --output-table puts the tables
// where the catalog says (its table bucket), the read-only commands read
// them back through the catalog, with OAuth2 client credentials from
// --catalog-credential @FILE and with a bearer token from --catalog-token
// @FILE; no secret shows anywhere.
func TestRESTCatalogWarehouse(t *testing.T) {
	t.Parallel()
	weed := testservers.StartSeaweedFS(t)
	s3 := weed.S3()
	dir := t.TempDir()
	credential := writeFile(t, filepath.Join(dir, "credential"), weed.Credential()+"\n")
	_, clientSecret, _ := strings.Cut(weed.Credential(), ":")
	secret := writeFile(t, filepath.Join(dir, "secret"), s3.SecretKey+"\n")
	flags := []string{"--warehouse", s3.Warehouse("rest"), "--catalog-uri", weed.CatalogURI,
		"--catalog-warehouse", weed.CatalogWarehouse, "--catalog-credential", "@" + credential, "--namespace", "cli_rest",
		"--s3-endpoint", s3.Endpoint, "--s3-region", "us-east-1", "--s3-access-key-id", s3.AccessKey, "--s3-secret-access-key-file", secret}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	in := writeFile(t, filepath.Join(dir, "in.jsonl"), clickLines(day, 6))

	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, append(args, flags...)...)
		outputs = append(outputs, out, stderr)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s\n%s", args, code, stderr, out)
		}
		return out
	}
	run("batch", "--input", in, "--output-table", "sessions", "--log-level", "debug")
	desc := run("table", "describe", "sessions")
	if !strings.Contains(desc, "s3://"+weed.TableBucket+"/cli_rest/sessions") {
		t.Fatalf("describe does not show the table where the catalog put it (s3://%s/cli_rest/sessions...):\n%s", weed.TableBucket, desc)
	}
	var a iceberg.Audit
	if err := json.Unmarshal([]byte(run("table", "audit", "--json")), &a); err != nil || !a.Holds || !a.OK || a.Account.Sessions == 0 {
		t.Fatalf("audit through the REST catalog: %+v (%v)", a, err)
	}
	var rep struct {
		Source   struct{ Catalog string }
		Sessions int64
	}
	if err := json.Unmarshal([]byte(run("report", "--json")), &rep); err != nil || rep.Source.Catalog != "rest" || rep.Sessions == 0 {
		t.Fatalf("report: %+v (%v)", rep, err)
	}
	if got := run("table", "sessions", "--uuid", "u1", "--json"); strings.Count(got, "\n") != 2 {
		t.Fatalf("sessions --uuid u1 through the REST catalog:\n%s", got)
	}

	// Maintenance through the catalog: compaction, expiry, orphans (the
	// files where the catalog put the table, not in --warehouse).
	run("batch", "--input", writeFile(t, filepath.Join(dir, "more.jsonl"), clickLines(day.Add(24*time.Hour), 6)), "--output-table", "sessions")
	var mrep iceberg.MaintainReport
	if err := json.Unmarshal([]byte(run("table", "maintain", "--json", "--orphan-age", "1ns", "--older-than", "1ns", "--retain-last", "1")), &mrep); err != nil || len(mrep.Tables) != 3 {
		t.Fatalf("maintain: %+v (%v)", mrep, err)
	}
	t.Logf("maintain: %+v", mrep.Tables[0])
	var a2 iceberg.Audit
	if err := json.Unmarshal([]byte(run("table", "audit", "--json")), &a2); err != nil || !a2.Holds || !a2.OK || a2.Account.Sessions <= a.Account.Sessions {
		t.Fatalf("audit after maintenance: %+v (%v)", a2, err)
	}

	// A bearer token instead (got from the server's token endpoint).
	token := catalogToken(t, weed)
	tokenFile := writeFile(t, filepath.Join(dir, "token"), token+"\n")
	i := slices.Index(flags, "--catalog-credential")
	withToken := slices.Concat(flags[:i], []string{"--catalog-token", "@" + tokenFile}, flags[i+2:])
	code, out, stderr := runCLI(t, append([]string{"table", "describe", "sessions"}, withToken...)...)
	outputs = append(outputs, out, stderr)
	if code != 0 || !strings.Contains(out, "s3://"+weed.TableBucket+"/cli_rest/sessions") {
		t.Fatalf("describe with a token: exit %d: %s\n%s", code, stderr, out)
	}
	tokenFile2 := writeFile(t, filepath.Join(dir, "bad-token"), "not-a-token\n")
	withBad := slices.Concat(flags[:i], []string{"--catalog-token", "@" + tokenFile2}, flags[i+2:])
	code, _, stderr = runCLI(t, append([]string{"table", "describe"}, withBad...)...)
	outputs = append(outputs, stderr)
	if code != ExitError {
		t.Fatalf("describe with a bad token: exit %d: %s", code, stderr)
	}

	// A namespace the catalog does not have: the read-only commands say
	// so, and create nothing.
	other := append(append([]string{}, flags...), "--namespace", "cli_rest_none")
	code, _, stderr = runCLI(t, append([]string{"table", "describe"}, other...)...)
	outputs = append(outputs, stderr)
	if code != ExitError || !strings.Contains(stderr, "no table cli_rest_none.") {
		t.Fatalf("describe of a missing namespace: exit %d: %s", code, stderr)
	}
	req, _ := http.NewRequest(http.MethodGet, weed.CatalogURI+"/v1/"+weed.TableBucket+"/namespaces", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if body, err := httpDo(req); err != nil || !strings.Contains(body, "cli_rest") || strings.Contains(body, "cli_rest_none") {
		t.Fatalf("a read-only command created the namespace (or the listing failed: %v): %s", err, body)
	}
	for _, o := range outputs {
		for _, secret := range []string{token, clientSecret, s3.SecretKey} {
			if strings.Contains(o, secret) {
				t.Fatalf("a secret shows in the output:\n%s", o)
			}
		}
	}
}

// catalogToken asks the server's OAuth2 endpoint for a bearer token.
func catalogToken(t *testing.T, weed *testservers.SeaweedFS) string {
	t.Helper()
	id, secret, _ := strings.Cut(weed.Credential(), ":")
	rsp, err := http.PostForm(weed.CatalogURI+"/v1/oauth/tokens",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"catalog"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(rsp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: %s %v", rsp.Status, err)
	}
	return tok.AccessToken
}

func httpDo(req *http.Request) (string, error) {
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	return string(b), err
}

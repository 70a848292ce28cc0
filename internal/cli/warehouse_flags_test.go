package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The catalog secrets come from the flag, @FILE or the environment, and
// show in no help, usage line or error.
func TestCatalogSecretFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const secret = "cid:very-secret-value"
	file := writeFile(t, filepath.Join(dir, "cred"), secret+"\n")
	for _, tc := range []struct {
		name string
		set  func(cmdFlags []string) []string
	}{
		{"value", func(f []string) []string { return append(f, "--catalog-credential", secret) }},
		{"file", func(f []string) []string { return append(f, "--catalog-credential", "@"+file) }},
	} {
		var wf warehouseFlags
		cmd := &cobra.Command{Use: "x"}
		wf.register(cmd, "warehouse")
		_ = cmd.Flags().Parse(tc.set(nil))
		cfg, err := wf.config()
		if err != nil || cfg.Catalog.Credential != secret {
			t.Errorf("%s: credential %q, %v", tc.name, cfg.Catalog.Credential, err)
		}
		if u := cmd.Flags().FlagUsages(); strings.Contains(u, "very-secret") {
			t.Errorf("%s: the flag usage shows the secret:\n%s", tc.name, u)
		}
	}
	var wf warehouseFlags
	cmd := &cobra.Command{Use: "x"}
	wf.register(cmd, "warehouse")
	if err := cmd.Flags().Parse([]string{"--catalog-token", "@" + filepath.Join(dir, "missing")}); err == nil {
		t.Error("a token from a missing file was accepted")
	}
	if err := cmd.Flags().Parse([]string{"--catalog-token", "@" + writeFile(t, filepath.Join(dir, "empty"), "\n")}); err == nil {
		t.Error("a token from an empty file was accepted")
	}

	if code, _, stderr := runCLI(t, "table", "describe", "--warehouse", dir, "--catalog-prop", "novalue"); code != ExitUsage || !strings.Contains(stderr, "KEY=VALUE") {
		t.Fatalf("--catalog-prop novalue: exit %d: %s", code, stderr)
	}
}

// From the environment: used, and shown neither by --help nor in an error.
func TestCatalogSecretFromEnv(t *testing.T) {
	const secret = "cid:very-secret-value"
	t.Setenv("SESSIONIZE_CATALOG_CREDENTIAL", secret)
	code, out, stderr := runCLI(t, "table", "describe", "--help")
	if code != 0 || strings.Contains(out+stderr, "very-secret") {
		t.Fatalf("describe --help with the credential in the environment: exit %d:\n%s%s", code, out, stderr)
	}
	code, _, stderr = runCLI(t, "table", "describe", "--warehouse", t.TempDir(), "--catalog-uri", "http://127.0.0.1:1/none")
	if code != ExitError || strings.Contains(stderr, "very-secret") || !strings.Contains(stderr, "rest http://127.0.0.1:1/none") {
		t.Fatalf("describe against no catalog: exit %d: %s", code, stderr)
	}
}

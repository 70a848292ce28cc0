package cli

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/avro"
	"github.com/sessionize/sessionize/internal/decode"
)

// inputFormatFlags say how Kafka record values are encoded, and where the
// schema registry of Avro values is; shared by run and check.
type inputFormatFlags struct {
	format       string
	registry     []string
	username     string
	password     secretValue
	passwordFile string
	retryFor     time.Duration
}

func (f *inputFormatFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.format, "input-format", string(decode.JSON), "how Kafka record values are encoded: json (one JSON object) or avro (Confluent wire format: magic byte 0, 4-byte schema id, Avro binary; needs --schema-registry)")
	fs.StringSliceVar(&f.registry, "schema-registry", nil, "schema registry URL(s) for --input-format avro, http(s)://host:port, comma-separated; writer schemas are fetched by id and cached")
	fs.StringVar(&f.username, "schema-registry-username", "", "user for HTTP basic auth to the schema registry")
	fs.Var(&f.password, "schema-registry-password", "password for --schema-registry-username, from the SESSIONIZE_SCHEMA_REGISTRY_PASSWORD variable only: on the command line every user of the machine could read it (or use --schema-registry-password-file). Never logged")
	fs.StringVar(&f.passwordFile, "schema-registry-password-file", "", "file holding the schema registry password (a trailing newline is dropped)")
	fs.DurationVar(&f.retryFor, "schema-registry-retry", avro.DefaultRetryFor, "how long to retry fetching a schema while the registry cannot be reached or fails (5xx); then the run stops with an error (records are never rejected because the registry is down; a restart resumes at the record)")
}

// config reads the flags; it reads the password file, so call it in RunE.
func (f *inputFormatFlags) config(cmd *cobra.Command) (decode.Format, avro.RegistryConfig, error) {
	if onCommandLine(cmd, "schema-registry-password") {
		return "", avro.RegistryConfig{}, usagef("--schema-registry-password is refused on the command line, where every user of the machine can read it: set SESSIONIZE_SCHEMA_REGISTRY_PASSWORD or give --schema-registry-password-file")
	}
	format, err := decode.ParseFormat(f.format)
	if err != nil {
		return "", avro.RegistryConfig{}, usagef("--input-format: %v", err)
	}
	rc := avro.RegistryConfig{URLs: f.registry, Username: f.username, Password: f.password.v, RetryFor: f.retryFor}
	switch {
	case format == decode.Avro && len(f.registry) == 0:
		return "", rc, usagef("--input-format avro needs --schema-registry URL")
	case format == decode.JSON && len(f.registry) > 0:
		return "", rc, usagef("--schema-registry is for Avro record values: give --input-format avro too")
	}
	if f.passwordFile != "" {
		// The file wins over the variable, as for --kafka-sasl-password-file.
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return "", rc, fmt.Errorf("--schema-registry-password-file: %w", err)
		}
		rc.Password = strings.TrimRight(string(b), "\r\n")
	}
	if rc.Password != "" && rc.Username == "" {
		return "", rc, usagef("a schema registry password without --schema-registry-username")
	}
	return format, rc, nil
}

// onCommandLine reports whether flag name was typed on the command line
// (not set from its environment variable): secrets are refused there.
func onCommandLine(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed && f.Annotations[envAnnotation] == nil
}

package avro

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// DefaultRetryFor bounds how long one schema fetch retries a registry that
// is down or failing, before the run stops.
const DefaultRetryFor = 2 * time.Minute

// RegistryConfig says where the schema registry is.
type RegistryConfig struct {
	// URLs of the registry (several: tried in turn), without credentials.
	URLs     []string
	Username string
	Password string // with Username: HTTP basic auth
	// RetryFor bounds the retries of one fetch while the registry cannot
	// be reached or answers 5xx (0: DefaultRetryFor).
	RetryFor time.Duration
	// HTTPClient, if set, replaces the default one (timeout 10s).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// errUnknownID is the registry's answer that it has no schema of that id:
// a property of the record, which is rejected, not of the registry.
var errUnknownID = errors.New("the schema registry has no schema of this id")

// registry fetches schemas by id through franz-go's sr client.
type registry struct {
	cl       *sr.Client
	where    string // the URLs, for messages
	retryFor time.Duration
	log      *slog.Logger
}

func newRegistry(cfg RegistryConfig) (*registry, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no schema registry: give --schema-registry URL with --input-format avro")
	}
	for _, u := range cfg.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("schema registry URL %q: want http://host:port or https://host:port", redact(u))
		}
		if pu.User != nil {
			// Keeps the password out of every message that names the URL.
			return nil, fmt.Errorf("schema registry URL %q: give the user with --schema-registry-username and the password with --schema-registry-password-file or SESSIONIZE_SCHEMA_REGISTRY_PASSWORD, not in the URL", redact(u))
		}
	}
	opts := []sr.ClientOpt{sr.URLs(cfg.URLs...), sr.UserAgent("sessionize")}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	opts = append(opts, sr.HTTPClient(hc))
	if cfg.Username != "" || cfg.Password != "" {
		opts = append(opts, sr.BasicAuth(cfg.Username, cfg.Password))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry: %w", err)
	}
	r := &registry{cl: cl, where: strings.Join(cfg.URLs, ","), retryFor: cfg.RetryFor, log: cfg.Logger}
	if r.retryFor <= 0 {
		r.retryFor = DefaultRetryFor
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// schema fetches and parses the writer schema of id, with the schemas it
// references. It returns errUnknownID when the registry has none of that
// id, a *schemaError when the schema is not Avro or does not parse, and any
// other error when the registry could not be asked (after retrying for
// retryFor): the caller must stop, not reject.
func (r *registry) schema(ctx context.Context, id int) (hamba.Schema, error) {
	s, err := r.get(ctx, fmt.Sprintf("schema id %d", id), func(ctx context.Context) (sr.Schema, error) {
		return r.cl.SchemaByID(ctx, id)
	})
	if err != nil {
		return nil, err
	}
	if s.Type != sr.TypeAvro {
		return nil, &schemaError{id: id, err: fmt.Errorf("it is a %s schema, not Avro", s.Type)}
	}
	cache := &hamba.SchemaCache{} // per id: named types of one schema never leak into another
	if err := r.references(ctx, id, s.References, cache, 0); err != nil {
		return nil, err
	}
	parsed, err := hamba.ParseWithCache(s.Schema, "", cache)
	if err != nil {
		return nil, &schemaError{id: id, err: err}
	}
	return parsed, nil
}

// references parses the schemas s refers to, depth first, into cache.
func (r *registry) references(ctx context.Context, id int, refs []sr.SchemaReference, cache *hamba.SchemaCache, depth int) error {
	if depth > 16 {
		return &schemaError{id: id, err: errors.New("schema references nest deeper than 16")}
	}
	for _, ref := range refs {
		ss, err := r.get(ctx, fmt.Sprintf("reference %q (subject %q version %d) of schema id %d", ref.Name, ref.Subject, ref.Version, id),
			func(ctx context.Context) (sr.Schema, error) {
				ss, err := r.cl.SchemaByVersion(ctx, ref.Subject, ref.Version)
				return ss.Schema, err
			})
		if errors.Is(err, errUnknownID) {
			return &schemaError{id: id, err: fmt.Errorf("its reference %q (subject %q version %d) is not in the registry", ref.Name, ref.Subject, ref.Version)}
		}
		if err != nil {
			return err
		}
		if err := r.references(ctx, id, ss.References, cache, depth+1); err != nil {
			return err
		}
		if _, err := hamba.ParseWithCache(ss.Schema, "", cache); err != nil {
			return &schemaError{id: id, err: fmt.Errorf("reference %q: %w", ref.Name, err)}
		}
	}
	return nil
}

// get runs one registry request, retrying with exponential backoff while
// the registry cannot be reached or fails (5xx, 429), up to retryFor.
func (r *registry) get(ctx context.Context, what string, req func(context.Context) (sr.Schema, error)) (sr.Schema, error) {
	start := time.Now()
	refused := false // the registry answered, and no retry can change the answer
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 200*time.Millisecond, 10*time.Second
	s, err := backoff.Retry(ctx, func() (sr.Schema, error) {
		s, err := req(ctx)
		if err == nil {
			return s, nil
		}
		if final := r.final(err, what); final != nil {
			refused = true
			return s, backoff.Permanent(final)
		}
		r.log.Warn("schema registry request failed; retrying", "registry", r.where, "what", what, "error", err,
			"retrying_for", r.retryFor-time.Since(start).Round(time.Second))
		return s, err
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(r.retryFor))
	if err != nil && !refused && ctx.Err() == nil {
		err = fmt.Errorf("schema registry %s: %s: no answer after retrying for %s: %w (is the registry up? records are not rejected for this: the run stops, and a restart resumes at this record)",
			r.where, what, time.Since(start).Round(time.Second), err)
	}
	return s, err
}

// final is the error that ends the retries of a request that failed with
// err: errUnknownID for "not found", a refusal for 401 or 403 or another
// 4xx but 429; nil for an error worth retrying (no connection, 5xx, 429).
func (r *registry) final(err error, what string) error {
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return nil
	}
	switch {
	case re.StatusCode == http.StatusNotFound && (re.ErrorCode == sr.ErrSchemaNotFound.Code ||
		re.ErrorCode == sr.ErrSubjectNotFound.Code || re.ErrorCode == sr.ErrVersionNotFound.Code):
		return errUnknownID
	case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
		return fmt.Errorf("schema registry %s refused %s (HTTP %d: %s): check --schema-registry-username and the password",
			r.where, what, re.StatusCode, re.Message)
	case re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("schema registry %s: %s: HTTP %d: %s (is --schema-registry the registry's base URL?)",
			r.where, what, re.StatusCode, re.Error())
	}
	return nil
}

// schemaError says the registry's schema for an id is unusable: its
// records are rejected as avro_bad_schema.
type schemaError struct {
	id  int
	err error
}

func (e *schemaError) Error() string { return fmt.Sprintf("schema id %d: %v", e.id, e.err) }

// redact hides a password in a URL for messages.
func redact(u string) string {
	pu, err := url.Parse(u)
	if err != nil || pu.User == nil {
		return u
	}
	return pu.Redacted()
}

package batch

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

// TestSessionJSONKeysAreTheColumns: the JSON spellings of a session that
// cannot take their names from session.Columns (the hand-unrolled
// AppendSessionJSON, SessionRow's struct tags for table sessions --json)
// and the Parquet schema that does, all give its columns in its order.
func TestSessionJSONKeysAreTheColumns(t *testing.T) {
	s := session.Session{UUID: "u", StartMs: 1000, EndMs: 61_000, EventCount: 2, Pages: []string{"home", "search"},
		EntryPage: "home", ExitPage: "search", EndReason: session.Inactivity}
	row, err := json.Marshal(iceberg.NewSessionRow(&s))
	if err != nil {
		t.Fatal(err)
	}
	want := session.ColumnNames()
	for name, line := range map[string][]byte{"AppendSessionJSON": AppendSessionJSON(nil, &s), "SessionRow": row} {
		if got := objectKeys(t, line); !slices.Equal(got, want) {
			t.Errorf("%s writes the keys %v, want session.Columns' %v", name, got, want)
		}
	}
	var fields []string
	for _, f := range parquetSessionSchema().Fields() {
		fields = append(fields, f.Name)
	}
	if !slices.Equal(fields, want) {
		t.Errorf("Parquet columns %v, want %v", fields, want)
	}
}

// objectKeys returns the top-level keys of the JSON object b, in order.
func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not an object (%v)", b, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

package batch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/session"
)

// TableOutput sends a batch run's sessions to the Iceberg sessions table
// the streaming job writes, with the same schema and session ids.
type TableOutput struct {
	Warehouse iceberg.Config
	Table     string // only iceberg.TableSessions
}

func (t *TableOutput) validate() error {
	if t.Table != iceberg.TableSessions {
		return fmt.Errorf("--output-table %q: batch writes the %q table (use --namespace to keep runs apart)", t.Table, iceberg.TableSessions)
	}
	if t.Warehouse.Warehouse == "" {
		return fmt.Errorf("--output-table needs --warehouse DIR")
	}
	return nil
}

// tableWriter collects rows; they are committed in one snapshot once the
// run has succeeded, so a failed run adds nothing to the table.
type tableWriter struct {
	rows []iceberg.SessionRow
}

func (t *tableWriter) Write(s *session.Session) error {
	row := iceberg.NewSessionRow(s)
	row.PagesVisited = slices.Clone(s.Pages)
	t.rows = append(t.rows, row)
	return nil
}

func (t *tableWriter) Close() error { return nil }

// commit appends the rows as one snapshot. The streaming job keeps its
// progress in the sessions table's summary, so this snapshot carries the
// current sessionize.* properties forward unchanged; a conflict with a
// concurrent writer is retried on the new head.
func (t *tableWriter) commit(ctx context.Context, out *TableOutput, inputs []string, logger *slog.Logger) error {
	wh, err := iceberg.Open(ctx, out.Warehouse, logger)
	if err != nil {
		return err
	}
	defer wh.Close()
	for attempt := 0; ; attempt++ {
		snap, ok, err := wh.Current(ctx, iceberg.TableSessions)
		if err != nil {
			return err
		}
		props := map[string]string{}
		parent := iceberg.NoSnapshot
		if ok {
			parent = snap.ID
			props = iceberg.Carried(snap.Summary)
		}
		props["sessionize.batch.inputs"] = strings.Join(inputs, ",")
		_, err = wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, Sessions: t.rows, Properties: props, ExpectParentSnapshotID: parent})
		if err == nil || attempt >= 20 || !errors.Is(err, iceberg.ErrConflict) {
			if err != nil {
				return fmt.Errorf("commit %d sessions to %s: %w", len(t.rows), out.Warehouse.Warehouse, err)
			}
			return nil
		}
	}
}

// multiWriter sends every session to each of its writers.
type multiWriter []sessionWriter

func (m multiWriter) Write(s *session.Session) error {
	for _, w := range m {
		if err := w.Write(s); err != nil {
			return err
		}
	}
	return nil
}

func (m multiWriter) Close() error {
	for _, w := range m {
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

package pipeline

import (
	"context"
	"fmt"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// One warehouse namespace holds the output of one consumer group. Two
// groups on the same tables each read the whole topic and fence each other
// forever (each one's commits move the other's partitions), so a run whose
// tables hold another group's output is refused, at start, at every rejoin
// and whenever a commit of ours builds on a snapshot of the other group.
// (Fences alone do not tell: two groups that read the same records in the
// same batches commit the same offsets, and each takes the other's commit
// for its own.)
//
// Only the pipeline writes sessionize.group. Batch --output-table and
// table maintenance copy the parent snapshot's sessionize.* properties,
// so their snapshots name the group that wrote the parent, or none.

// ForeignGroupError says the tables hold the output of another consumer
// group.
type ForeignGroupError struct {
	Warehouse, Namespace string
	Table                string
	Group, Topic         string // theirs
	OurGroup             string
}

func (e *ForeignGroupError) Error() string {
	ns := "the default namespace"
	if e.Namespace != "" {
		ns = "namespace " + e.Namespace
	}
	return fmt.Sprintf("warehouse %s (%s) holds the output of consumer group %q on topic %q; this run uses group %q. "+
		"Run with --group %s to continue it, or use another --warehouse or --namespace",
		e.Warehouse, ns, e.Group, e.Topic, e.OurGroup, e.Group)
}

// checkGroup returns a *ForeignGroupError if the current snapshot of any
// of the tables was written by another consumer group.
func (p *Pipeline) checkGroup(ctx context.Context) error {
	for _, t := range p.tables() {
		if err := p.checkTableGroup(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (p *Pipeline) checkTableGroup(ctx context.Context, table string) error {
	snap, ok, err := p.wh.Current(ctx, table)
	if err != nil || !ok {
		return err
	}
	return p.foreignGroup(table, snap)
}

// foreignGroup returns a *ForeignGroupError if snap, the current snapshot
// of table, names another consumer group than ours. Every commit checks
// it on the snapshot it builds on.
func (p *Pipeline) foreignGroup(table string, snap iceberg.Snapshot) error {
	sum, err := iceberg.ParseSummary(snap.Summary)
	if err != nil {
		return fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err)
	}
	if sum.Group == "" || sum.Group == p.cfg.Kafka.Group {
		return nil
	}
	return &ForeignGroupError{Warehouse: p.cfg.Warehouse.Warehouse, Namespace: p.cfg.Warehouse.Namespace, Table: table,
		Group: sum.Group, Topic: sum.Topic, OurGroup: p.cfg.Kafka.Group}
}

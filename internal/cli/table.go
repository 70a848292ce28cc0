package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/pipeline"
)

func newTableCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "table",
		Short: "Inspect, audit and maintain the Iceberg tables",
		Long: `Inspect, audit and maintain the sessions, late_events and rejected_events tables of a
warehouse written by sessionize run (or batch --output-table).

All of them are safe while sessionize run writes to the same warehouse.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTableDescribeCmd(e), newTableSessionsCmd(e), newTableAuditCmd(e), newTableMaintainCmd(e))
	return cmd
}

// registerTableWarehouse adds --warehouse, --catalog-uri and --namespace;
// the tables must exist already, so --uuid-buckets means nothing here.
func registerTableWarehouse(cmd *cobra.Command, wf *warehouseFlags) {
	wf.register(cmd, "warehouse")
	_ = cmd.Flags().MarkHidden("uuid-buckets")
}

// openExisting opens a warehouse that must exist already: reading tables
// is no reason to create them.
func openExisting(ctx context.Context, e *env, wf *warehouseFlags) (*iceberg.Warehouse, error) {
	if wf.catalogURI == "" {
		catalog := filepath.Join(wf.warehouse, "catalog.db")
		if _, err := os.Stat(catalog); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no warehouse at %s (no %s); give --warehouse", wf.warehouse, catalog)
		}
	}
	return iceberg.Open(ctx, iceberg.Config{Warehouse: wf.warehouse, CatalogURI: wf.catalogURI, Namespace: wf.namespace}, e.logger)
}

func newTableDescribeCmd(e *env) *cobra.Command {
	var (
		wf        warehouseFlags
		snapshots int
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "describe [TABLE]",
		Short: "Show a table's schema, partitioning, properties, snapshots and data files",
		Long: `Show a table's schema, partition spec, properties, data files (count and size) and
snapshots, newest first: id, time, operation, records and data files added and in
total, and what the pipeline recorded in the snapshot summary (writer, Kafka offsets
per partition, state checkpoint files). Without TABLE, all three tables.`,
		Example: `  sessionize table describe --warehouse ./warehouse
  sessionize table describe sessions --snapshots 0 --json`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: iceberg.TableNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := iceberg.TableNames()
			if len(args) == 1 {
				if !slices.Contains(names, args[0]) {
					return usagef("unknown table %q: want %s", args[0], strings.Join(names, ", "))
				}
				names = args
			}
			if snapshots < 0 {
				return usagef("invalid argument %d for \"--snapshots\" flag: want 0 (all) or more", snapshots)
			}
			wh, err := openExisting(cmd.Context(), e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			var descs []iceberg.TableDescription
			for _, name := range names {
				d, err := wh.Describe(cmd.Context(), name)
				if err != nil {
					return err
				}
				descs = append(descs, d)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, descs)
			}
			for i, d := range descs {
				if i > 0 {
					fmt.Fprintln(out)
				}
				printDescription(out, wf.namespace, d, snapshots)
			}
			return nil
		},
	}
	registerTableWarehouse(cmd, &wf)
	cmd.Flags().IntVar(&snapshots, "snapshots", 20, "show this many snapshots, newest first (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

func printDescription(w io.Writer, namespace string, d iceberg.TableDescription, maxSnapshots int) {
	fmt.Fprintf(w, "table %s.%s\n", namespace, d.Name)
	fmt.Fprintf(w, "  location        %s\n", d.Location)
	fmt.Fprintf(w, "  metadata        %s (format v%d)\n", d.MetadataLocation, d.FormatVersion)
	fmt.Fprintf(w, "  partition spec  %s\n", strings.Join(strings.Fields(d.PartitionSpec), " "))
	fmt.Fprintf(w, "  schema:\n")
	for _, line := range strings.Split(strings.TrimSpace(d.Schema), "\n") {
		line = strings.TrimSpace(line)
		if line == "table {" || line == "}" {
			continue
		}
		fmt.Fprintf(w, "    %s\n", line)
	}
	fmt.Fprintf(w, "  properties:\n")
	for _, k := range slices.Sorted(maps.Keys(d.Properties)) {
		v := d.Properties[k]
		if len(v) > 100 {
			v = fmt.Sprintf("%s... (%d bytes; --json shows all)", v[:60], len(v))
		}
		fmt.Fprintf(w, "    %s = %s\n", k, v)
	}
	if d.CurrentSnapshotID == iceberg.NoSnapshot {
		fmt.Fprintf(w, "  no snapshots: the table is empty\n")
		return
	}
	c := d.Current
	fmt.Fprintf(w, "  current snapshot %d: %d data files, %s, %d records, %d manifests\n",
		d.CurrentSnapshotID, c.DataFiles, humanBytes(c.DataBytes), c.Records, c.Manifests)
	shown := d.Snapshots
	if maxSnapshots > 0 && len(shown) > maxSnapshots {
		shown = shown[:maxSnapshots]
	}
	fmt.Fprintf(w, "  snapshots: %d, newest first", len(d.Snapshots))
	if len(shown) < len(d.Snapshots) {
		fmt.Fprintf(w, " (the last %d; --snapshots 0 shows all)", len(shown))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    SNAPSHOT\tTIME (UTC)\tOPERATION\t+RECORDS\tRECORDS\t+FILES\tFILES\tWRITER\tOFFSETS\tCHECKPOINTS")
	for _, s := range shown {
		sum := s.Summary
		op := sum["operation"]
		if a := sum[iceberg.MaintenanceActionProperty]; a != "" {
			op += " (" + a + ")"
		}
		current := ""
		if s.ID == d.CurrentSnapshotID {
			current = "*"
		}
		fmt.Fprintf(tw, "    %d%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, current,
			time.UnixMilli(s.TimestampMs).UTC().Format("2006-01-02 15:04:05.000"), op,
			orDash(sum["added-records"]), orDash(sum["total-records"]),
			orDash(sum["added-data-files"]), orDash(sum["total-data-files"]),
			orDash(sum["sessionize.writer"]), orDash(compactPartitionMap(sum["sessionize.offsets"])),
			orDash(checkpointNames(sum["sessionize.checkpoints"])))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// compactPartitionMap renders {"0":12,"1":7} as 0:12 1:7, by partition.
func compactPartitionMap(raw string) string {
	var m map[string]json.RawMessage
	if raw == "" || json.Unmarshal([]byte(raw), &m) != nil {
		return raw
	}
	keys := slices.SortedFunc(maps.Keys(m), comparePartitions)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+":"+string(m[k]))
	}
	return strings.Join(parts, " ")
}

// checkpointNames renders the checkpoint property as file names, each with
// the partitions whose state it holds: "w1-00000002.ckpt(0,1,2)".
func checkpointNames(raw string) string {
	var m map[string]string
	if raw == "" || json.Unmarshal([]byte(raw), &m) != nil {
		return raw
	}
	byFile := map[string][]string{}
	for _, k := range slices.SortedFunc(maps.Keys(m), comparePartitions) {
		f := filepath.Base(m[k])
		byFile[f] = append(byFile[f], k)
	}
	parts := make([]string, 0, len(byFile))
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		parts = append(parts, f+"("+strings.Join(byFile[f], ",")+")")
	}
	return strings.Join(parts, " ")
}

func comparePartitions(a, b string) int {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return cmp.Compare(x, y)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTableSessionsCmd(e *env) *cobra.Command {
	var (
		wf     warehouseFlags
		uuid   string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "sessions --uuid USER",
		Short: "Show one user's sessions, ordered by start",
		Long: `Show one user's sessions from the sessions table, ordered by start time. The scan is
filtered on uuid: files whose uuid range (or uuid bucket) cannot hold the user are not read.`,
		Example: `  sessionize table sessions --warehouse ./warehouse --uuid 0b6e3a52-...
  sessionize table sessions --uuid u1 --json | jq .pages_visited`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if uuid == "" {
				return usagef("no user: give --uuid")
			}
			wh, err := openExisting(cmd.Context(), e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			rows, err := wh.ReadUserSessions(cmd.Context(), uuid)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			if len(rows) == 0 {
				fmt.Fprintf(out, "no sessions of user %q\n", uuid)
				return nil
			}
			var events int64
			for _, r := range rows {
				events += r.EventCount
			}
			fmt.Fprintf(out, "user %s: %d sessions, %d events\n", uuid, len(rows), events)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "START (UTC)\tEND\tDURATION\tEVENTS\tENDED BY\tSESSION\tPAGES")
			for _, r := range rows {
				pages := r.PagesVisited
				more := ""
				if len(pages) > 6 {
					pages, more = pages[:6], fmt.Sprintf(" ... (%d more)", len(r.PagesVisited)-6)
				}
				if r.PagesTruncated {
					more += " [truncated]"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s%s\n",
					time.UnixMilli(r.SessionStartTimeMs).UTC().Format("2006-01-02 15:04:05"),
					time.UnixMilli(r.SessionEndTimeMs).UTC().Format("15:04:05"),
					time.Duration(r.SessionDurationSeconds*float64(time.Second)).Round(time.Second),
					r.EventCount, r.EndReason, r.SessionID, strings.Join(pages, " > "), more)
			}
			return tw.Flush()
		},
	}
	registerTableWarehouse(cmd, &wf)
	cmd.Flags().StringVar(&uuid, "uuid", "", "the user whose sessions to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON lines (the output columns of batch) instead of text")
	return cmd
}

// partitionAudit is one Kafka partition's line of the audit.
type partitionAudit struct {
	Partition       int32             `json:"partition"`
	SessionsOffset  *int64            `json:"sessions_offset"`
	LateOffset      *int64            `json:"late_offset"`
	RejectedOffset  *int64            `json:"rejected_offset"`
	Counters        pipeline.Counters `json:"counters"`
	LateRows        int64             `json:"late_rows"`
	RejectedRows    int64             `json:"rejected_rows"`
	Problems        []string          `json:"problems,omitempty"`
	hasSessionsData bool
}

type auditReport struct {
	Account    pipeline.Account `json:"account"`
	Holds      bool             `json:"holds"`
	Partitions []partitionAudit `json:"partitions"`
	OK         bool             `json:"ok"`
}

func newTableAuditCmd(e *env) *cobra.Command {
	var (
		wf     warehouseFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check from the tables that every consumed record is accounted for",
		Long: `Make the nothing-lost account from the tables alone: every record the pipeline
consumed (per the counters in the sessions table's current snapshot) is an event in a
session, a duplicate, a late event, a rejected record, or an event of a session still
open at the last commit.

Per Kafka partition it also shows the offsets each table has committed and checks
the late_events and rejected_events rows against the counters: equal when the table's
offset equals the sessions table's, at least as many when it is ahead (late and
rejected rows commit first, see docs/commit-protocol.md).

Exits 1 if anything does not add up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			wh, err := openExisting(ctx, e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			rep, err := audit(ctx, wh)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else {
				printAudit(out, rep)
			}
			if !rep.OK {
				return errors.New("the account does not add up")
			}
			return nil
		},
	}
	registerTableWarehouse(cmd, &wf)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

func audit(ctx context.Context, wh *iceberg.Warehouse) (auditReport, error) {
	var rep auditReport
	acct, err := pipeline.Audit(ctx, wh)
	if err != nil {
		return rep, err
	}
	rep.Account, rep.Holds = acct, acct.Holds()

	parts := map[int32]*partitionAudit{}
	part := func(p int32) *partitionAudit {
		if parts[p] == nil {
			parts[p] = &partitionAudit{Partition: p}
		}
		return parts[p]
	}
	for _, table := range iceberg.TableNames() {
		snap, ok, err := wh.Current(ctx, table)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue
		}
		var offsets map[string]int64
		if err := decodeSummary(snap.Summary, "sessionize.offsets", &offsets); err != nil {
			return rep, fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err)
		}
		for k, off := range offsets {
			p, err := strconv.ParseInt(k, 10, 32)
			if err != nil {
				return rep, fmt.Errorf("table %s snapshot %d: partition %q: %w", table, snap.ID, k, err)
			}
			switch table {
			case iceberg.TableSessions:
				part(int32(p)).SessionsOffset = &off
			case iceberg.TableLate:
				part(int32(p)).LateOffset = &off
			case iceberg.TableRejected:
				part(int32(p)).RejectedOffset = &off
			}
		}
		if table == iceberg.TableSessions {
			var counters map[string]pipeline.Counters
			if err := decodeSummary(snap.Summary, "sessionize.counters", &counters); err != nil {
				return rep, fmt.Errorf("table %s snapshot %d: %w", table, snap.ID, err)
			}
			for k, c := range counters {
				p, err := strconv.ParseInt(k, 10, 32)
				if err != nil {
					return rep, fmt.Errorf("table %s snapshot %d: partition %q: %w", table, snap.ID, k, err)
				}
				part(int32(p)).Counters = c
				part(int32(p)).hasSessionsData = true
			}
		}
	}
	late, err := wh.RowsByPartition(ctx, iceberg.TableLate)
	if err != nil {
		return rep, err
	}
	for p, n := range late {
		part(p).LateRows += n
	}
	rejected, err := wh.RowsByPartition(ctx, iceberg.TableRejected)
	if err != nil {
		return rep, err
	}
	for p, n := range rejected {
		part(p).RejectedRows += n
	}

	rep.OK = rep.Holds
	for _, p := range slices.Sorted(maps.Keys(parts)) {
		pa := parts[p]
		c := pa.Counters
		if c.Records != c.InSessions+c.Duplicates+c.Late+c.Rejected+c.Open {
			pa.Problems = append(pa.Problems, fmt.Sprintf("counters: records %d != in sessions %d + duplicates %d + late %d + rejected %d + open %d",
				c.Records, c.InSessions, c.Duplicates, c.Late, c.Rejected, c.Open))
		}
		pa.Problems = append(pa.Problems, checkRows("late_events", pa.LateRows, c.Late, pa.LateOffset, pa.SessionsOffset)...)
		pa.Problems = append(pa.Problems, checkRows("rejected_events", pa.RejectedRows, c.Rejected, pa.RejectedOffset, pa.SessionsOffset)...)
		if len(pa.Problems) > 0 {
			rep.OK = false
		}
		rep.Partitions = append(rep.Partitions, *pa)
	}
	return rep, nil
}

// checkRows compares a table's rows of one partition with the counter:
// equal when the table's offset is the sessions table's; more rows are
// fine when it is ahead (committed before a crash, before sessions).
func checkRows(table string, rows, counted int64, offset, sessionsOffset *int64) []string {
	switch {
	case rows == counted:
		return nil
	case rows > counted && offset != nil && sessionsOffset != nil && *offset > *sessionsOffset:
		return nil
	case rows > counted:
		return []string{fmt.Sprintf("%s has %d rows, the counters say %d", table, rows, counted)}
	default:
		return []string{fmt.Sprintf("%s has %d rows, fewer than the %d the counters say", table, rows, counted)}
	}
}

func decodeSummary(summary map[string]string, key string, v any) error {
	raw := summary[key]
	if raw == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("snapshot property %s: %w", key, err)
	}
	return nil
}

func printAudit(w io.Writer, rep auditReport) {
	fmt.Fprintf(w, "%s\n", rep.Account)
	fmt.Fprintf(w, "  sessions %d, late_events %d rows, rejected_events %d rows\n", rep.Account.Sessions, rep.Account.Late, rep.Account.Rejected)
	if len(rep.Partitions) == 0 {
		fmt.Fprintf(w, "no partition has committed anything yet\n")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PARTITION\tOFFSET\tLATE OFFSET\tREJ. OFFSET\tRECORDS\tIN SESSIONS\tDUPLICATES\tLATE\tLATE ROWS\tREJECTED\tREJ. ROWS\tOPEN\t")
	opt := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, p := range rep.Partitions {
		c := p.Counters
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", p.Partition,
			opt(p.SessionsOffset), opt(p.LateOffset), opt(p.RejectedOffset),
			c.Records, c.InSessions, c.Duplicates, c.Late, p.LateRows, c.Rejected, p.RejectedRows, c.Open)
	}
	tw.Flush()
	for _, p := range rep.Partitions {
		for _, problem := range p.Problems {
			fmt.Fprintf(w, "partition %d: %s\n", p.Partition, problem)
		}
	}
	if rep.OK {
		fmt.Fprintln(w, "OK: every record is accounted for")
	} else {
		fmt.Fprintln(w, "DOES NOT ADD UP")
	}
}

func newTableMaintainCmd(e *env) *cobra.Command {
	var (
		wf                              warehouseFlags
		opts                            iceberg.MaintainOptions
		tables                          []string
		olderThan, orphanAge            time.Duration
		noCompact, noExpire, noOrphans  bool
		noCheckpoints, noManifests, dry bool
		asJSON                          bool
	)
	cmd := &cobra.Command{
		Use:   "maintain",
		Short: "Compact small files, expire old snapshots, delete orphan and stale checkpoint files",
		Long: `Maintain the tables: a streaming pipeline commits every few seconds, so the tables
collect small data files (slow scans) and snapshots (every commit gets slower as the
metadata grows). For each table, in order:

  expire     remove snapshots older than --older-than, except the last --retain-last,
             and, in sessions, the snapshot that committed each state checkpoint
             the current snapshot still names
  compact    rewrite the data files below 75% of --target-file-size into files of
             about that size, per partition; merge the manifests
  expire     again, after a compaction
  orphans    delete files under the table's location that no snapshot references
             and that are older than --orphan-age

then delete checkpoint files that no recent sessions snapshot names and that are
older than --orphan-age.

Safe while sessionize run writes: every maintenance commit applies only on the
snapshot it was planned on, and is redone on the new one if the pipeline committed
in between; the pipeline's offsets, checkpoints and counters are carried forward
unchanged in every snapshot maintenance makes. --orphan-age must be longer than any
commit of any writer takes (written files not yet in the catalog look like orphans).`,
		Example: `  sessionize table maintain --warehouse ./warehouse
  sessionize table maintain --older-than 1h --retain-last 20 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, t := range tables {
				if !slices.Contains(iceberg.TableNames(), t) {
					return usagef("unknown table %q for --table: want %s", t, strings.Join(iceberg.TableNames(), ", "))
				}
			}
			switch {
			case olderThan < 0:
				return usagef("invalid argument %s for \"--older-than\" flag: want 0 or more", olderThan)
			case orphanAge <= 0:
				return usagef("invalid argument %s for \"--orphan-age\" flag: want a positive duration", orphanAge)
			case opts.RetainLast < 1:
				return usagef("invalid argument %d for \"--retain-last\" flag: want 1 or more", opts.RetainLast)
			case opts.MinInputFiles < 1:
				return usagef("invalid argument %d for \"--min-input-files\" flag: want 1 or more", opts.MinInputFiles)
			}
			if orphanAge < 10*time.Minute {
				e.logger.Warn("a short --orphan-age can delete the files of a commit still in flight", "orphan_age", orphanAge)
			}
			opts.Tables = tables
			opts.OlderThan = max(olderThan, time.Nanosecond) // 0: everything beyond --retain-last
			opts.OrphanAge = orphanAge
			opts.SkipCompaction, opts.SkipExpiry, opts.SkipOrphans = noCompact, noExpire, noOrphans
			opts.SkipCheckpoints, opts.SkipManifests, opts.DryRun = noCheckpoints, noManifests, dry
			wh, err := openExisting(cmd.Context(), e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			rep, err := wh.Maintain(cmd.Context(), opts)
			out := cmd.OutOrStdout()
			if asJSON {
				if jerr := writeJSON(out, rep); jerr != nil {
					return errors.Join(err, jerr)
				}
			} else {
				printMaintenance(out, rep, dry)
			}
			return err
		},
	}
	registerTableWarehouse(cmd, &wf)
	fs := cmd.Flags()
	fs.StringSliceVar(&tables, "table", nil, "maintain only these tables (repeatable; default: all three)")
	fs.DurationVar(&olderThan, "older-than", iceberg.DefaultExpireOlderThan, "expire snapshots older than this (0: all beyond --retain-last)")
	fs.IntVar(&opts.RetainLast, "retain-last", iceberg.DefaultRetainLast, "always keep this many snapshots")
	fs.DurationVar(&orphanAge, "orphan-age", iceberg.DefaultOrphanAge, "never delete files younger than this (commits in flight)")
	fs.Var(newByteSize(&opts.TargetFileSize, 0), "target-file-size", "size compacted files aim for (default: the table's write.target-file-size-bytes, 128MiB)")
	fs.IntVar(&opts.MinInputFiles, "min-input-files", iceberg.DefaultMinInputFiles, "compact a partition only if it has at least this many small files")
	fs.BoolVar(&noCompact, "no-compact", false, "do not compact data files")
	fs.BoolVar(&noManifests, "no-rewrite-manifests", false, "do not merge manifests")
	fs.BoolVar(&noExpire, "no-expire", false, "do not expire snapshots")
	fs.BoolVar(&noOrphans, "no-orphans", false, "do not delete orphan files")
	fs.BoolVar(&noCheckpoints, "no-checkpoints", false, "do not delete unreferenced checkpoint files")
	fs.BoolVar(&dry, "dry-run", false, "only report what would be done")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printMaintenance(w io.Writer, rep iceberg.MaintainReport, dry bool) {
	verb := map[bool]string{false: "", true: "would be "}[dry]
	for _, tm := range rep.Tables {
		b, a := tm.Before, tm.After
		fmt.Fprintf(w, "%s:\n", tm.Table)
		if dry {
			fmt.Fprintf(w, "  %d data files (%s), %d snapshots, %d manifests\n", b.DataFiles, humanBytes(b.DataBytes), b.Snapshots, b.Manifests)
			fmt.Fprintf(w, "  %d small files in %d groups would be compacted; %d snapshots would be expired (%d kept for their checkpoints); %d orphan files would be deleted\n",
				tm.RewrittenFiles, tm.Groups, tm.ExpiredSnapshots, tm.KeptForCheckpoints, len(tm.DeletedFiles))
			continue
		}
		fmt.Fprintf(w, "  data files  %d -> %d (%s -> %s)\n", b.DataFiles, a.DataFiles, humanBytes(b.DataBytes), humanBytes(a.DataBytes))
		fmt.Fprintf(w, "  snapshots   %d -> %d (%d expired, %d kept for their checkpoints)\n", b.Snapshots, a.Snapshots, tm.ExpiredSnapshots, tm.KeptForCheckpoints)
		fmt.Fprintf(w, "  manifests   %d -> %d\n", b.Manifests, a.Manifests)
		fmt.Fprintf(w, "  compacted   %d files into %d in %d partition groups\n", tm.RewrittenFiles, tm.AddedFiles, tm.Groups)
		fmt.Fprintf(w, "  deleted     %d unreferenced files\n", len(tm.DeletedFiles))
		if tm.Conflicts > 0 {
			fmt.Fprintf(w, "  retried     %d commits that lost a race with another writer\n", tm.Conflicts)
		}
	}
	fmt.Fprintf(w, "checkpoints: %d %sdeleted, %d kept\n", len(rep.CheckpointsDeleted), verb, rep.CheckpointsKept)
	fmt.Fprintf(w, "took %s\n", rep.Duration.Round(time.Millisecond))
}

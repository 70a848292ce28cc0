package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

func newTableCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "table",
		Short: "Inspect, audit and maintain the Iceberg tables",
		Long: `Inspect, audit and maintain the sessions, late_events and rejected_events tables of a
warehouse written by sessionize run (or batch --output-table), and the events table
once a run with --events-table has made it.

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

// openReadOnly opens a warehouse for a command that only reads: nothing
// is created or written, so it works on a read-only warehouse too.
func openReadOnly(ctx context.Context, e *env, wf *warehouseFlags) (*iceberg.Warehouse, error) {
	cfg, err := wf.config()
	if err != nil {
		return nil, err
	}
	return iceberg.OpenReadOnly(ctx, cfg, e.logger)
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
total, and what the writer recorded in the snapshot summary (the pipeline's writer,
Kafka offsets per partition and state checkpoint files, or "batch RUN-ID" for a batch
--output-table run; table audit lists the runs). Without TABLE, every table (the
events table too once a run with --events-table has made it).`,
		Example: `  sessionize table describe --warehouse ./warehouse
  sessionize table describe sessions --snapshots 0 --json`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: iceberg.AllTableNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && !slices.Contains(iceberg.AllTableNames(), args[0]) {
				return usagef("unknown table %q: want %s", args[0], strings.Join(iceberg.AllTableNames(), ", "))
			}
			if snapshots < 0 {
				return usagef("invalid argument %d for \"--snapshots\" flag: want 0 (all) or more", snapshots)
			}
			wh, err := openReadOnly(cmd.Context(), e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			names := wh.Tables()
			if len(args) == 1 {
				names = args
			}
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
		writer, offsets, checkpoints := "-", "-", "-"
		if ps, err := iceberg.ParseSummary(sum); err != nil {
			writer = "unreadable: " + err.Error()
		} else {
			writer = orDash(ps.Writer)
			if ps.BatchRun != "" {
				writer = "batch " + ps.BatchRun
			}
			offsets = orDash(compactOffsets(ps.Offsets))
			checkpoints = orDash(checkpointNames(ps.Checkpoints))
		}
		fmt.Fprintf(tw, "    %d%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, current,
			time.UnixMilli(s.TimestampMs).UTC().Format("2006-01-02 15:04:05.000"), op,
			orDash(sum["added-records"]), orDash(sum["total-records"]),
			orDash(sum["added-data-files"]), orDash(sum["total-data-files"]),
			writer, offsets, checkpoints)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// compactOffsets renders offsets as 0:12 1:7, by partition.
func compactOffsets(m map[int32]int64) string {
	parts := make([]string, 0, len(m))
	for _, p := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d:%d", p, m[p]))
	}
	return strings.Join(parts, " ")
}

// checkpointNames renders checkpoint files, each with the partitions whose
// state it holds: "w1-00000002.ckpt(0,1,2)".
func checkpointNames(m map[int32]string) string {
	byFile := map[string][]string{}
	for _, p := range slices.Sorted(maps.Keys(m)) {
		f := filepath.Base(m[p])
		byFile[f] = append(byFile[f], strconv.Itoa(int(p)))
	}
	parts := make([]string, 0, len(byFile))
	for _, f := range slices.Sorted(maps.Keys(byFile)) {
		parts = append(parts, f+"("+strings.Join(byFile[f], ",")+")")
	}
	return strings.Join(parts, " ")
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
			wh, err := openReadOnly(cmd.Context(), e, &wf)
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

func newTableAuditCmd(e *env) *cobra.Command {
	var (
		wf      warehouseFlags
		servers []string
		kSec    kafkaSecurityFlags
		topic   string
		timeout time.Duration
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check from the tables that every consumed record is accounted for",
		Long: `Make the nothing-lost account from the tables alone: every record the writers
consumed (per the counters in the sessions table's current snapshot: the streaming
pipeline's per Kafka partition, and each batch --output-table run's) is an event in a
session, a duplicate, a late event, a rejected record (in rejected_events, or, for
batch, in the run's --rejected file), an event of a session still open at the last
commit (or carried to a batch --carry-open file), or an event of a session a batch
--replace-range replaced on purpose.

Per Kafka partition it also shows the offsets each table has committed and checks
the late_events and rejected_events rows against the counters: equal when the table's
offset equals the sessions table's, at least as many when it is ahead (a crash
between the late or rejected commit and the sessions commit, see
docs/commit-protocol.md).

The tables alone cannot tell whether a run read the whole topic. With
--kafka-servers, every partition of the topic (--topic, default: the one the tables
were written from) is checked against its end offset: a partition whose committed
offset in the sessions table is below its end is reported with how many records
it is behind, and the audit fails.

Exits 1 if anything does not add up or, with --kafka-servers, if the tables do not
hold the whole topic.`,
		Example: `  sessionize table audit --warehouse ./warehouse
  sessionize table audit --warehouse ./warehouse --kafka-servers 127.0.0.1:9092`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if len(servers) == 0 && cmd.Flags().Changed("topic") {
				return usagef("--topic needs --kafka-servers: the topic's end offsets come from Kafka")
			}
			wh, err := openReadOnly(ctx, e, &wf)
			if err != nil {
				return err
			}
			defer wh.Close()
			rep, err := wh.Audit(ctx)
			if err != nil {
				return err
			}
			if len(servers) > 0 {
				if topic == "" {
					topic = rep.Topic
				}
				if topic == "" {
					return usagef("no topic: the tables hold no streaming output to name one; give --topic")
				}
				if rep.Topic != "" && topic != rep.Topic {
					return fmt.Errorf("the tables hold output of topic %q, not %q", rep.Topic, topic)
				}
				sec, err := kSec.security(cmd, e.logger)
				if err != nil {
					return err
				}
				kctx, cancel := context.WithTimeout(ctx, timeout)
				ends, err := kafka.TopicEnds(kctx, servers, sec, topic)
				cancel()
				if err != nil {
					return fmt.Errorf("end offsets of topic %q: %w", topic, err)
				}
				rep.Topic = topic
				rep.CheckTopicEnds(ends)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if err := writeJSON(out, rep); err != nil {
					return err
				}
			} else {
				printAudit(out, rep)
			}
			switch {
			case !rep.Holds:
				return errors.New("the account does not add up")
			case !rep.OK && behind(rep) > 0:
				return fmt.Errorf("the tables do not hold the whole topic %q: %d records behind", rep.Topic, behind(rep))
			case !rep.OK:
				return errors.New("the account does not add up")
			}
			return nil
		},
	}
	registerTableWarehouse(cmd, &wf)
	fs := cmd.Flags()
	fs.StringSliceVar(&servers, "kafka-servers", nil, "also check every partition of the topic against its end offset in this Kafka cluster (host:port, comma-separated)")
	kSec.register(fs)
	fs.StringVar(&topic, "topic", "", "the topic to check with --kafka-servers (default: the one the tables were written from)")
	fs.DurationVar(&timeout, "kafka-timeout", 30*time.Second, "give up on Kafka after this long")
	fs.BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// behind is how many records of the topic the tables lack.
func behind(rep iceberg.Audit) int64 {
	var n int64
	for _, p := range rep.Partitions {
		n += p.Behind
	}
	return n
}

func printAudit(w io.Writer, rep iceberg.Audit) {
	fmt.Fprintf(w, "%s\n", rep.Account)
	fmt.Fprintf(w, "  sessions %d, late_events %d rows, rejected_events %d rows\n", rep.Account.Sessions, rep.Account.Late, rep.Account.Rejected)
	if len(rep.BatchRuns) > 0 {
		fmt.Fprintf(w, "batch runs: %d\n", len(rep.BatchRuns))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  RUN\tCOMMITTED (UTC)\tSESSIONS START\tSESSIONS\tRECORDS\tIN SESSIONS\tDUPLICATES\tREJECTED\tCARRIED\tREPLACED\tINPUTS")
		for _, r := range rep.BatchRuns {
			c := r.Counters
			replaced := "-"
			if r.Replaced != nil {
				replaced = fmt.Sprintf("%d sessions (%d events) in %s", r.Replaced.Sessions, r.Replaced.Events, formatRange(r.Replaced.FromMs, r.Replaced.ToMs))
			}
			rejected := strconv.FormatInt(c.Rejected, 10)
			if c.Rejected > 0 {
				rejected += " in " + cmp.Or(r.RejectedTo, "(not kept)")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\n", r.ID,
				time.UnixMilli(r.CommittedMs).UTC().Format("2006-01-02 15:04:05"), formatRange(r.FromMs, r.ToMs),
				r.Sessions, c.Records, c.InSessions, c.Duplicates, rejected, c.Open, replaced, inputNames(r))
		}
		tw.Flush()
	}
	if len(rep.Partitions) == 0 {
		if len(rep.BatchRuns) == 0 {
			fmt.Fprintf(w, "no partition has committed anything yet\n")
		}
	} else {
		if len(rep.BatchRuns) > 0 {
			fmt.Fprintf(w, "stream partitions (topic %q):\n", rep.Topic)
		}
		printPartitions(w, rep)
	}
	switch {
	case rep.TopicChecked && behind(rep) > 0:
		n := 0
		for _, p := range rep.Partitions {
			if p.Behind > 0 {
				n++
			}
		}
		fmt.Fprintf(w, "INCOMPLETE: %d of %d partitions of topic %q are behind their end; %d records are not in the tables\n",
			n, len(rep.Partitions), rep.Topic, behind(rep))
	case !rep.OK:
		fmt.Fprintln(w, "DOES NOT ADD UP")
	case rep.TopicChecked:
		fmt.Fprintf(w, "OK: every record is accounted for, and every partition of topic %q is committed up to its end\n", rep.Topic)
	default:
		fmt.Fprintln(w, "OK: every record is accounted for")
	}
	if !rep.TopicChecked && len(rep.Partitions) > 0 {
		fmt.Fprintf(w, "note: completeness against the topic was not checked: a run that stopped early looks complete here; give --kafka-servers HOST:PORT to check every partition of %q against its end offset\n",
			cmp.Or(rep.Topic, "the topic"))
	}
}

func printPartitions(w io.Writer, rep iceberg.Audit) {
	opt := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := "PARTITION\tOFFSET\tLATE OFFSET\tREJ. OFFSET\tRECORDS\tIN SESSIONS\tDUPLICATES\tLATE\tLATE ROWS\tREJECTED\tREJ. ROWS\tOPEN\t"
	if rep.TopicChecked {
		header += "END\tBEHIND\t"
	}
	fmt.Fprintln(tw, header)
	for _, p := range rep.Partitions {
		c := p.Counters
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t", p.Partition,
			opt(p.SessionsOffset), opt(p.LateOffset), opt(p.RejectedOffset),
			c.Records, c.InSessions, c.Duplicates, c.Late, p.LateRows, c.Rejected, p.RejectedRows, c.Open)
		if rep.TopicChecked {
			fmt.Fprintf(tw, "%s\t%d\t", opt(p.EndOffset), p.Behind)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, p := range rep.Partitions {
		for _, problem := range p.Problems {
			fmt.Fprintf(w, "partition %d: %s\n", p.Partition, problem)
		}
	}
}

// formatRange renders a window of session starts.
func formatRange(fromMs, toMs int64) string {
	const layout = "2006-01-02 15:04:05"
	return time.UnixMilli(fromMs).UTC().Format(layout) + " .. " + time.UnixMilli(toMs).UTC().Format(layout)
}

// inputNames lists a batch run's inputs as recorded.
func inputNames(r iceberg.BatchRun) string {
	s := strings.Join(r.Inputs, ", ")
	if more := r.InputCount - len(r.Inputs); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
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
				if !slices.Contains(iceberg.AllTableNames(), t) {
					return usagef("unknown table %q for --table: want %s", t, strings.Join(iceberg.AllTableNames(), ", "))
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
			whc, err := wf.config()
			if err != nil {
				return err
			}
			// The tables must exist: maintaining is no reason to create them.
			open := iceberg.OpenExisting
			if dry {
				open = iceberg.OpenReadOnly
			}
			wh, err := open(cmd.Context(), whc, e.logger)
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
	fs.StringSliceVar(&tables, "table", nil, "maintain only these tables (repeatable; default: every table, the events table too once it exists)")
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

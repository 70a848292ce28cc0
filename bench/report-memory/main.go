// Command report-memory measures the peak RSS and wall time of
// `sessionize report` and `sessionize table audit` over a warehouse of N
// generated sessions (a month of them by default), for one or more
// sessionize binaries, and prints a table. See bench/report-memory.sh,
// which builds the binaries.
//
//	go run ./bench/report-memory --sessions 10000000 --bin after=bench/out/sessionize
//
// The warehouse is written once per (sessions, users, days, seed) straight
// through the project's Iceberg writer (iceberg.Commit, in commits of
// --commit-rows sessions in time order, so each day partition gets a file
// or two, as after compaction) and kept under --out for the next run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

type binFlag []string

func (b *binFlag) String() string     { return strings.Join(*b, ",") }
func (b *binFlag) Set(v string) error { *b = append(*b, v); return nil }

func main() {
	var (
		sessions   = flag.Int("sessions", 10_000_000, "sessions in the warehouse")
		users      = flag.Int("users", 2_000_000, "distinct users")
		days       = flag.Int("days", 30, "days the sessions start on")
		seed       = flag.Uint64("seed", 1, "generator seed")
		commitRows = flag.Int("commit-rows", 500_000, "sessions per commit while writing the warehouse")
		out        = flag.String("out", "bench/out", "directory for the warehouse")
		bins       binFlag
	)
	flag.Var(&bins, "bin", "name=path of a sessionize binary to measure (repeatable)")
	flag.Parse()
	if len(bins) == 0 {
		fmt.Fprintln(os.Stderr, "report-memory: give at least one --bin name=path")
		os.Exit(2)
	}
	ctx := context.Background()
	dir := filepath.Join(*out, fmt.Sprintf("report-wh-%ds-%du-%dd-seed%d", *sessions, *users, *days, *seed))
	day0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	if err := ensureWarehouse(ctx, dir, *sessions, *users, *days, *seed, *commitRows, day0); err != nil {
		fmt.Fprintln(os.Stderr, "report-memory:", err)
		os.Exit(1)
	}
	size, files := dirSize(filepath.Join(dir, "sessionize.db", "sessions", "data"))
	fmt.Printf("machine:   %d cores, %s\n", runtime.NumCPU(), cpuModel())
	fmt.Printf("warehouse: %s: %d sessions of %d users over %d days, %d data files, %.0f MiB\n",
		dir, *sessions, *users, *days, files, float64(size)/(1<<20))
	week := []string{"--from", day0.AddDate(0, 0, 7).Format(time.DateOnly), "--to", day0.AddDate(0, 0, 13).Format(time.DateOnly)}
	runs := []struct {
		name string
		args []string
	}{
		{"report (whole table)", []string{"report", "--warehouse", dir, "--json"}},
		{"report --from/--to (7 days)", append([]string{"report", "--warehouse", dir, "--json"}, week...)},
		{"table audit", []string{"table", "audit", "--warehouse", dir}},
	}
	// The machines are shared: CPU seconds (user + sys) vary less than wall.
	fmt.Printf("\n%-8s %-30s %8s %8s %14s %6s\n", "binary", "command", "wall s", "CPU s", "peak RSS MiB", "exit")
	for _, b := range bins {
		name, path, ok := strings.Cut(b, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "report-memory: --bin %q: want name=path\n", b)
			os.Exit(2)
		}
		for _, r := range runs {
			wall, cpu, rssKiB, code, err := measure(path, r.args)
			if err != nil {
				fmt.Fprintf(os.Stderr, "report-memory: %s %s: %v\n", name, r.name, err)
				os.Exit(1)
			}
			fmt.Printf("%-8s %-30s %8.1f %8.1f %14.0f %6d\n", name, r.name, wall.Seconds(), cpu.Seconds(), float64(rssKiB)/1024, code)
		}
	}
}

// measure runs bin with args under GNU time, output discarded, and
// returns its wall time, its peak RSS (KiB) and its exit code. The peak
// RSS cannot come from this process's wait4: Go starts a child with
// CLONE_VM, and Linux carries the parent's RSS high-water mark across
// the child's exec, so the child would report at least this process's
// peak (the warehouse writer's).
func measure(bin string, args []string) (wall, cpu time.Duration, rssKiB int64, code int, err error) {
	f, err := os.CreateTemp("", "report-memory-*.time")
	if err != nil {
		return 0, 0, 0, 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%e %U %S %M", "-o", f.Name(), bin, "--log-level", "warn"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, 0, 0, 0, fmt.Errorf("%w (needs GNU time at /usr/bin/time: apt-get install time)", err)
	}
	code = cmd.ProcessState.ExitCode()
	if code != 0 && code != 1 { // 1: the audit found the account does not add up
		return 0, 0, 0, 0, fmt.Errorf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return 0, 0, 0, 0, err
	}
	// GNU time writes "Command exited with non-zero status N" first then.
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var secs, user, sys float64
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%f %f %f %d", &secs, &user, &sys, &rssKiB); err != nil {
		return 0, 0, 0, 0, fmt.Errorf("read GNU time output %q: %w", b, err)
	}
	return seconds(secs), seconds(user + sys), rssKiB, code, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ensureWarehouse writes the warehouse unless a complete one is there.
func ensureWarehouse(ctx context.Context, dir string, n, users, days int, seed uint64, commitRows int, day0 time.Time) error {
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "writing %d sessions into %s ...\n", n, dir)
	wh, err := iceberg.Open(ctx, iceberg.Config{Warehouse: dir}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer wh.Close()
	g := newGenerator(seed, users, day0, days, n)
	parent := iceberg.NoSnapshot
	for written := 0; written < n; {
		rows := g.next(min(commitRows, n-written))
		s, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableSessions, Sessions: rows, ExpectParentSnapshotID: parent})
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		parent = s.ID
		written += len(rows)
		fmt.Fprintf(os.Stderr, "  %d / %d sessions, %.0f s\n", written, n, time.Since(start).Seconds())
	}
	// Some late and rejected rows, so the audit reads those tables too.
	var late []iceberg.LateRow
	var rejected []iceberg.RejectedRow
	for i := range n / 100 {
		ms := day0.UnixMilli() + int64(i)*int64(days)*86_400_000/int64(n/100)
		late = append(late, iceberg.LateRow{Raw: fmt.Sprintf(`{"uuid":"u%d","event_id":"e%d"}`, i, i), Topic: "clicks",
			Partition: int32(i % 8), Offset: int64(i), KafkaTimestampMs: ms, EventID: fmt.Sprintf("e%d", i), UUID: fmt.Sprintf("u%d", i), EventTimestampMs: ms - 3_600_000})
		if i%2 == 0 {
			rejected = append(rejected, iceberg.RejectedRow{Raw: "not json", Reason: "invalid_json", Topic: "clicks",
				Partition: int32(i % 8), Offset: int64(i), KafkaTimestampMs: ms})
		}
	}
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableLate, Late: late, ExpectParentSnapshotID: iceberg.NoSnapshot}); err != nil {
		return err
	}
	if _, err := wh.Commit(ctx, iceberg.Commit{Table: iceberg.TableRejected, Rejected: rejected, ExpectParentSnapshotID: iceberg.NoSnapshot}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "written in %.0f s\n", time.Since(start).Seconds())
	return os.WriteFile(done, nil, 0o644)
}

// generator makes sessions in start-time order over the days, with
// travel-site pages (the report's funnel steps among others), durations
// and event counts with long tails.
type generator struct {
	rng        *rand.Rand
	users      int
	startMs    int64
	stepMs     float64
	i, n       int
	pages      []string
	funnel     []string
	endReasons []string
}

func newGenerator(seed uint64, users int, day0 time.Time, days, n int) *generator {
	return &generator{
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), users: users,
		startMs: day0.UnixMilli(), stepMs: float64(days) * 86_400_000 / float64(n), n: n,
		pages:      []string{"home", "search", "results", "details", "booking", "confirmation", "account", "help", "deals", "logout"},
		funnel:     []string{"home", "search", "results", "details", "booking", "confirmation"},
		endReasons: []string{"inactivity", "inactivity", "inactivity", "max_duration", "end_of_input"},
	}
}

func (g *generator) next(k int) []iceberg.SessionRow {
	rows := make([]iceberg.SessionRow, k)
	for j := range rows {
		i := g.i
		g.i++
		start := g.startMs + int64(float64(i)*g.stepMs)
		var pages []string
		steps := g.rng.IntN(len(g.funnel) + 1)
		pages = append(pages, g.funnel[:steps]...)
		for range g.rng.IntN(4) {
			pages = append(pages, g.pages[g.rng.IntN(len(g.pages))])
		}
		if len(pages) == 0 {
			pages = append(pages, "home")
		}
		events := int64(len(pages)) + int64(g.rng.ExpFloat64()*3)
		durMs := int64(0)
		if events > 1 {
			durMs = min(int64(g.rng.ExpFloat64()*float64(events)*45_000), 7_200_000)
		}
		user := g.rng.IntN(g.users)
		rows[j] = iceberg.SessionRow{
			SessionID:              fmt.Sprintf("%08x-%04x-5%03x-8%03x-%012x", i, i>>16&0xffff, i&0xfff, user&0xfff, uint64(i)*0x9e3779b1),
			UUID:                   fmt.Sprintf("%08x-0000-4000-8000-%012x", user, user),
			SessionStartTimeMs:     start,
			SessionEndTimeMs:       start + durMs,
			SessionDurationSeconds: float64(durMs) / 1000,
			EventCount:             events,
			PagesVisited:           pages,
			EntryPage:              pages[0],
			ExitPage:               pages[len(pages)-1],
			EndReason:              g.endReasons[g.rng.IntN(len(g.endReasons))],
		}
	}
	return rows
}

func dirSize(dir string) (int64, int) {
	var size int64
	var files int
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				size += info.Size()
				files++
			}
		}
		return nil
	})
	return size, files
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

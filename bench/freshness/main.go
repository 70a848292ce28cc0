// Command freshness measures issue 14's target 1: sessions visible within
// 2 s of closing, sustained, with the tables kept healthy by the job
// itself. It runs `sessionize broker` and `sessionize run --commit-interval
// 1s --maintain-every 1m` as child processes and feeds them with `sessionize
// produce --realtime --rate 50000` into 6 partitions, and every -window
// prints one row:
//
//   - events produced (the topic's end offsets) and the consumer lag;
//   - close-to-visible p50 and p99 of the sessions committed in the
//     window (the difference of two scrapes of the run's
//     sessionize_close_to_visible_seconds histogram) and the exact share
//     within 2 s (the le="2" bucket);
//   - commit time p50, p99 and max, from the run's per-commit log lines;
//   - snapshots per table, data files per day partition of the sessions
//     table (the most small ones in one day partition, below the size
//     the run's compaction leaves alone; the most of any size; the total),
//     the sessions metadata file's size;
//   - the table maintenance runs and what they did (their log lines);
//   - RSS of the run and the broker, and the load average.
//
// At the end it lets the run drain (SIGTERM with --drain), checks the
// nothing-lost account (`sessionize table audit --kafka-servers`) and that
// the sessions table equals `sessionize batch` over the same events minus
// those in late_events, and prints PASS, or FAIL with every target missed
// (exit 1).
//
// The events are generated to a file first (`produce -o events.jsonl.gz`,
// deterministic) and sent with `produce --input FILE --realtime --rate R`:
// the file is what batch reads, and the wall-clock rate is independent of
// the event-time span. By default the events span about one simulated day
// (-users = events / 20, the generator's 20 events per user per day), so
// sessions close all through the run and the day partition of the sessions
// table is written all through it: its file count is a real test of
// compaction.
//
// Run it from the repository root:
//
//	go run ./bench/freshness                              # 30 minutes
//	go run ./bench/freshness -duration 3m -window 1m      # a short run
//	go run ./bench/freshness -bin /path/to/sessionize     # another build
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionize/sessionize/bench/internal/child"
	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

type config struct {
	duration, window, commitInterval, maintainEvery, drainTimeout time.Duration
	rate, users, port, httpPort, retentionMB                      int
	seed                                                          uint64
	bin, out                                                      string
	keep                                                          bool
}

const (
	topic      = "clickstream"
	partitions = 6
	target     = 2.0 // seconds: close-to-visible p99 target
)

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 30*time.Minute, "how long to produce (wall clock): -rate * -duration events")
	flag.IntVar(&c.rate, "rate", 50_000, "events per second of wall-clock time (produce --realtime --rate)")
	flag.DurationVar(&c.window, "window", 5*time.Minute, "print one row per window of this length")
	flag.DurationVar(&c.commitInterval, "commit-interval", time.Second, "run --commit-interval")
	flag.DurationVar(&c.maintainEvery, "maintain-every", time.Minute, "run --maintain-every")
	flag.StringVar(&c.bin, "bin", "", "sessionize binary to measure (default: build ./cmd/sessionize)")
	flag.StringVar(&c.out, "out", "bench/out/freshness", "directory for the events, the warehouse, the logs and report.txt (emptied first)")
	flag.IntVar(&c.users, "users", 0, "distinct users (0: events / 20, about one simulated day of event time)")
	flag.Uint64Var(&c.seed, "seed", 7, "generator seed")
	flag.IntVar(&c.port, "port", 29292, "broker port")
	flag.IntVar(&c.httpPort, "http-port", 29465, "port of the run's /metrics")
	flag.DurationVar(&c.drainTimeout, "drain-timeout", 10*time.Minute, "how long the run may take to catch up once the producer is done")
	flag.IntVar(&c.retentionMB, "retention-mb", 512, "retention.bytes of each partition in MiB (the broker keeps records in memory; 0: keep everything)")
	flag.BoolVar(&c.keep, "keep", false, "keep the events file, the warehouse and batch's output (deleted at the end otherwise)")
	flag.Parse()
	os.Exit(run(c))
}

// bench holds the children and the report.
type bench struct {
	c       config
	bin     string
	dir     string
	servers string
	w       io.Writer // stdout and report.txt
	procs   []*child.Proc
	misses  []string
}

func run(c config) int {
	b := &bench{c: c, dir: c.out, servers: fmt.Sprintf("127.0.0.1:%d", c.port)}
	check(os.RemoveAll(b.dir))
	check(os.MkdirAll(b.dir, 0o755))
	report, err := os.Create(filepath.Join(b.dir, "report.txt"))
	check(err)
	defer report.Close()
	b.w = io.MultiWriter(os.Stdout, report)
	defer b.killAll()

	b.bin = c.bin
	if b.bin == "" {
		b.bin = filepath.Join(b.dir, "sessionize")
		build := exec.Command("go", "build", "-o", b.bin, "./cmd/sessionize")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		check(build.Run())
	}
	help, _ := exec.Command(b.bin, "run", "--help").CombinedOutput()
	jsonLogs := strings.Contains(string(help), "--log-format")
	for _, f := range []string{"--drain", "--maintain-every", "--http-addr"} {
		if !strings.Contains(string(help), f) {
			fmt.Fprintf(os.Stderr, "freshness bench: %s run has no %s flag\n", b.bin, f)
			return 1
		}
	}

	events := int64(c.rate) * int64(c.duration/time.Second)
	users := c.users
	if users == 0 {
		users = int(max(events/20, 50_000))
	}
	evFile := filepath.Join(b.dir, "events.jsonl.gz")
	began := time.Now()
	gen := exec.Command(b.bin, "produce", "--events", strconv.FormatInt(events, 10), "--num-users", strconv.Itoa(users),
		"--seed", strconv.FormatUint(c.seed, 10), "-o", evFile)
	gen.Env = child.CleanEnv()
	if out, err := gen.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "freshness bench: generating the events: %v\n%s", err, out)
		return 1
	}
	st, err := os.Stat(evFile)
	check(err)
	fmt.Fprintf(b.w, "freshness benchmark: %s\n", b.bin)
	fmt.Fprintf(b.w, "  %d events from %d users (seed %d), %.0f MB gzipped, generated in %s; sent at %d/s for %s into %d partitions\n",
		events, users, c.seed, float64(st.Size())/1e6, time.Since(began).Round(time.Second), c.rate, c.duration, partitions)
	fmt.Fprintf(b.w, "  run --commit-interval %s --maintain-every %s --drain; JSON logs: %v; out %s; %s\n",
		c.commitInterval, c.maintainEvery, jsonLogs, b.dir, loadavg())

	b.start("broker", "broker", "--listen", b.servers, "--partitions", strconv.Itoa(partitions))
	check(child.WaitPort(b.servers, 20*time.Second))
	ctx := context.Background()
	if _, err := kafka.CreateTopic(ctx, []string{b.servers}, kafka.Security{}, topic, partitions); err != nil {
		check(fmt.Errorf("creating topic: %w", err))
	}
	if c.retentionMB > 0 {
		check(limitRetention(ctx, b.servers, topic, int64(c.retentionMB)<<20))
	}
	warehouse := filepath.Join(b.dir, "warehouse")
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", c.httpPort)
	args := []string{"run", "--kafka-servers", b.servers, "--topic", topic, "--group", "freshness",
		"--warehouse", warehouse, "--commit-interval", c.commitInterval.String(), "--maintain-every", c.maintainEvery.String(),
		"--http-addr", fmt.Sprintf("127.0.0.1:%d", c.httpPort), "--drain"}
	if jsonLogs {
		args = append(args, "--log-format", "json")
	}
	runner := b.start("run", args...)
	b.waitUntil("the run to be assigned its partitions", 60*time.Second, func() bool {
		log, _ := os.ReadFile(runner.Log)
		return strings.Contains(string(log), "partitions assigned")
	})
	broker := b.procs[0]

	producer := b.start("producer", "produce", "--kafka-servers", b.servers, "--topic", topic,
		"--input", evFile, "--realtime", "--rate", strconv.Itoa(c.rate))
	start := time.Now()
	tail := &logTail{path: runner.Log}
	prev, _ := fetchScrape(metricsURL)
	prevEnds := int64(0)
	fmt.Fprintln(b.w)
	fmt.Fprintf(b.w, "%-11s %10s %8s %9s %8s | %7s %7s %7s | %7s %6s %6s %6s | %-14s %-13s %8s | %5s | %-9s %5s\n",
		"window", "produced", "/s", "lag", "sessions", "c2v p50", "p99", "<=2s", "commits", "p50 ms", "p99 ms", "max ms",
		"snapshots s/l/r", "files/day", "meta KiB", "maint", "RSS MiB", "load")
	fmt.Fprintf(b.w, "%-11s %10s %8s %9s %8s | %7s %7s %7s | %7s %6s %6s %6s | %-14s %-13s %8s | %5s | %-9s %5s\n",
		"", "", "", "", "", "s", "s", "", "", "", "", "", "", "small/max/all", "sessions", "runs", "run/brok", "1 min")
	var rows []row
	for i := 0; ; i++ {
		from, to := time.Duration(i)*c.window, time.Duration(i+1)*c.window
		partial := false
		select {
		case <-time.After(time.Until(start.Add(to))):
		case <-producer.Done():
			partial = true
			to = time.Since(start)
		}
		r := b.measure(ctx, warehouse, metricsURL, tail, &prev, &prevEnds, from, to, partial, []*child.Proc{runner, broker})
		rows = append(rows, r)
		b.printRow(r)
		if partial || !runner.Alive() {
			break
		}
	}
	if !runner.Alive() {
		b.miss("the run exited early (%v); see %s", runner.Exit, runner.Log)
		return b.verdict(rows, nil, nil)
	}
	if producer.Exit != nil {
		b.miss("the producer failed: %v; see %s", producer.Exit, producer.Log)
	}
	produced := int64(0)
	if ends, err := kafka.TopicEnds(ctx, []string{b.servers}, kafka.Security{}, topic); err == nil {
		for _, e := range ends {
			produced += e
		}
	}
	fmt.Fprintf(b.w, "\nproducer done after %s: %d records in the topic (%d generated)\n", time.Since(start).Round(time.Second), produced, events)

	// Drain: wait for the run to read everything, then stop it; --drain
	// closes and commits every open session.
	caught := time.Now()
	b.waitUntil("the run to catch up with the topic", c.drainTimeout, func() bool {
		s, err := fetchScrape(metricsURL)
		return err == nil && s.hasLag && s.lag == 0
	})
	fmt.Fprintf(b.w, "run caught up %s after the producer was done; stopping it (SIGTERM, --drain)\n", time.Since(caught).Round(100*time.Millisecond))
	stopped := time.Now()
	_ = runner.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-runner.Done():
	case <-time.After(5 * time.Minute):
		runner.Kill()
		b.miss("the run did not exit within 5 min of SIGTERM")
	}
	fmt.Fprintf(b.w, "run exited %s after SIGTERM: %v\n", time.Since(stopped).Round(100*time.Millisecond), cmp.Or[any](runner.Exit, "exit 0"))
	if runner.Exit != nil {
		b.miss("the run exited with %v at stop; see %s", runner.Exit, runner.Log)
	}
	b.reportMaintenance(tail)

	if h, err := readHealth(ctx, warehouse); err == nil {
		s := h[iceberg.TableSessions]
		fmt.Fprintf(b.w, "tables after the drain: snapshots %d/%d/%d, sessions data files %d (max %d per day partition, of them %d small, %d partitions, mean %.1f MiB), %d manifests, metadata %.0f KiB\n",
			s.snapshots, h[iceberg.TableLate].snapshots, h[iceberg.TableRejected].snapshots, s.dataFiles, s.maxPerDay(), s.maxSmallPerDay(), len(s.filesPerDay), s.meanFileMiB(), s.manifests, float64(s.metadataBytes)/1024)
	}

	aud := b.audit(warehouse, produced)
	ex := b.exact(ctx, warehouse, evFile)
	code := b.verdict(rows, aud, ex)
	if !c.keep {
		for _, p := range []string{evFile, warehouse, filepath.Join(b.dir, "batch-sessions.jsonl")} {
			_ = os.RemoveAll(p)
		}
	}
	return code
}

// row is one window's figures.
type row struct {
	from, to      time.Duration
	partial       bool
	produced      int64
	lag           float64
	hist          window
	commits       []float64 // commit_ms of the commits logged in the window
	health        map[string]tableHealth
	healthErr     error
	maint         []logLine
	rss           []int64 // MiB, run and broker
	load          string
	scrapeFailure error
}

func (b *bench) measure(ctx context.Context, warehouse, url string, tail *logTail, prev *scrape, prevEnds *int64,
	from, to time.Duration, partial bool, ps []*child.Proc) row {
	r := row{from: from, to: to, partial: partial, load: loadavg()}
	if ends, err := kafka.TopicEnds(ctx, []string{b.servers}, kafka.Security{}, topic); err == nil {
		var sum int64
		for _, e := range ends {
			sum += e
		}
		r.produced, *prevEnds = sum-*prevEnds, sum
	}
	if s, err := fetchScrape(url); err != nil {
		r.scrapeFailure = err
	} else {
		r.hist, r.lag, *prev = diffScrapes(*prev, s), s.lag, s
	}
	lines, _ := tail.next()
	for _, l := range lines {
		switch {
		case l["msg"] == "commit":
			if ms, err := strconv.ParseFloat(l["commit_ms"], 64); err == nil {
				r.commits = append(r.commits, ms)
			}
		case isMaintenance(l["msg"]):
			r.maint = append(r.maint, l)
		}
	}
	r.health, r.healthErr = readHealth(ctx, warehouse)
	for _, p := range ps {
		r.rss = append(r.rss, rssMiB(p))
	}
	return r
}

func (b *bench) printRow(r row) {
	name := fmt.Sprintf("%s-%s", short(r.from), short(r.to))
	if r.partial {
		name += "*"
	}
	secs := (r.to - r.from).Seconds()
	c2v := func(q float64) string {
		v := r.hist.quantile(q)
		if math.IsNaN(v) {
			return "-"
		}
		if r.hist.overflow(q) {
			return fmt.Sprintf(">%.0f", v)
		}
		return fmt.Sprintf("%.2f", v)
	}
	share := "-"
	if v := r.hist.shareWithin(target); !math.IsNaN(v) {
		share = fmt.Sprintf("%.1f%%", 100*v)
	}
	cs := slices.Sorted(slices.Values(r.commits))
	snaps, files, meta := "-", "-", "-"
	if r.healthErr == nil {
		s := r.health[iceberg.TableSessions]
		snaps = fmt.Sprintf("%d/%d/%d", s.snapshots, r.health[iceberg.TableLate].snapshots, r.health[iceberg.TableRejected].snapshots)
		files = fmt.Sprintf("%d/%d/%d", s.maxSmallPerDay(), s.maxPerDay(), s.dataFiles)
		meta = fmt.Sprintf("%.0f", float64(s.metadataBytes)/1024)
	}
	fmt.Fprintf(b.w, "%-11s %10d %8.0f %9.0f %8.0f | %7s %7s %7s | %7d %6s %6s %6s | %-14s %-13s %8s | %5d | %-9s %5s\n",
		name, r.produced, float64(r.produced)/secs, r.lag, r.hist.total(), c2v(0.5), c2v(0.99), share,
		len(cs), pct(cs, 0.5), pct(cs, 0.99), pct(cs, 1), snaps, files, meta, len(r.maint),
		fmt.Sprintf("%d/%d", r.rss[0], r.rss[1]), r.load)
	for _, m := range r.maint {
		fmt.Fprintf(b.w, "    %s %s: %s\n", clock(m["time"]), m["msg"], m.describeFields())
	}
	if r.scrapeFailure != nil {
		fmt.Fprintf(b.w, "    metrics: %v\n", r.scrapeFailure)
	}
	if r.healthErr != nil {
		fmt.Fprintf(b.w, "    tables: %v\n", r.healthErr)
	}
}

// isMaintenance: the pipeline's line per maintenance run ("table
// maintenance", or its "table maintenance failed ..." warning). The iceberg
// component's "iceberg maintenance done" is the same run told again.
func isMaintenance(msg string) bool { return strings.HasPrefix(msg, "table maintenance") }

// reportMaintenance prints the maintenance lines logged after the last
// window (during the drain).
func (b *bench) reportMaintenance(tail *logTail) {
	lines, _ := tail.next()
	for _, m := range lines {
		if isMaintenance(m["msg"]) {
			fmt.Fprintf(b.w, "    %s %s: %s\n", clock(m["time"]), m["msg"], m.describeFields())
		}
	}
}

// auditResult is what table audit said.
type auditResult struct {
	exit    error
	records int64
	open    int64
	late    int64
	summary string
}

func (b *bench) audit(warehouse string, produced int64) *auditResult {
	cmd := exec.Command(b.bin, "table", "audit", "--warehouse", warehouse, "--kafka-servers", b.servers, "--json")
	cmd.Env = child.CleanEnv()
	out, err := cmd.Output()
	a := &auditResult{exit: err}
	var rep struct {
		Account struct{ Records, Sessions, InSessions, Duplicates, Late, Rejected, Open int64 } `json:"account"`
		Holds   bool                                                                            `json:"holds"`
		OK      bool                                                                            `json:"ok"`
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		b.miss("table audit: %v, output not JSON: %v", err, jerr)
		return a
	}
	ac := rep.Account
	a.records, a.open, a.late = ac.Records, ac.Open, ac.Late
	a.summary = fmt.Sprintf("records %d = in sessions %d + duplicates %d + late %d + rejected %d + open %d; %d sessions; holds %v, whole topic committed %v",
		ac.Records, ac.InSessions, ac.Duplicates, ac.Late, ac.Rejected, ac.Open, ac.Sessions, rep.Holds, rep.OK)
	fmt.Fprintf(b.w, "audit: %s\n", a.summary)
	switch {
	case err != nil || !rep.OK:
		b.miss("table audit fails (%v)", err)
	case ac.Records != produced:
		b.miss("the tables account for %d records; the topic has %d", ac.Records, produced)
	case ac.Open != 0:
		b.miss("%d events still open after the drain", ac.Open)
	}
	return a
}

func (b *bench) exact(ctx context.Context, warehouse, events string) *exactResult {
	began := time.Now()
	ex, err := checkExact(ctx, b.bin, warehouse, events, b.dir, 2_000_000)
	if err != nil {
		b.miss("exactness check: %v", err)
		return nil
	}
	same := ex.table.equal(ex.batch)
	fmt.Fprintf(b.w, "exact: sessions table %d rows, batch over the events minus %d late (%d late_events rows) %d rows: %s (checked in %s)\n",
		ex.table.n, ex.lateDropped, ex.lateRows, ex.batch.n, map[bool]string{true: "identical", false: "DIFFERENT"}[same],
		time.Since(began).Round(time.Second))
	if !same {
		b.miss("the sessions table differs from batch minus late events: %d vs %d rows; %s", ex.table.n, ex.batch.n, ex.detail)
	}
	return &ex
}

// verdict checks the windows against the targets and prints PASS or FAIL.
func (b *bench) verdict(rows []row, aud *auditResult, ex *exactResult) int {
	var full []row
	for _, r := range rows {
		if !r.partial {
			full = append(full, r)
		}
	}
	for _, r := range rows {
		name := fmt.Sprintf("window %s-%s", short(r.from), short(r.to))
		if r.partial {
			if r.to-r.from < b.c.window/5 { // a sliver at the end: too few sessions to judge
				continue
			}
			name += " (partial)"
		}
		switch share := r.hist.shareWithin(target); {
		case len(r.hist.bounds) == 0 && r.scrapeFailure == nil:
			b.miss("%s: close-to-visible not measured: the build serves no %s", name, histName)
		case r.hist.total() == 0:
			b.miss("%s: no session became visible", name)
		case share < 0.99:
			b.miss("%s: close-to-visible p99 %.2f s > %.0f s (%.1f%% within %.0f s)", name, r.hist.quantile(0.99), target, 100*share, target)
		}
	}
	if len(full) >= 2 {
		ref := full[min(1, len(full)-2)] // the second window (the first of two): past start-up
		last := full[len(full)-1]
		p50ref, p50last := pctF(ref.commits, 0.5), pctF(last.commits, 0.5)
		// 1.5x, and more than 10 ms: a 2 ms commit taking 4 ms is noise.
		if p50last > 1.5*p50ref && p50last-p50ref > 10 {
			b.miss("commit time grows: p50 %.0f ms in the last full window, %.0f ms in window %s-%s (%.1fx)",
				p50last, p50ref, short(ref.from), short(ref.to), p50last/p50ref)
		}
		if len(full) >= 3 && ref.healthErr == nil && last.healthErr == nil {
			for _, t := range []string{iceberg.TableSessions, iceberg.TableLate, iceberg.TableRejected} {
				a, z := ref.health[t].snapshots, last.health[t].snapshots
				if float64(z) > 1.5*float64(a) && z-a > 20 {
					b.miss("%s snapshots keep growing: %d at %s, %d at %s", t, a, short(ref.to), z, short(last.to))
				}
			}
			// Small files, not all: files of the target size grow with
			// the data (see dayFiles).
			a, z := ref.health[iceberg.TableSessions].maxSmallPerDay(), last.health[iceberg.TableSessions].maxSmallPerDay()
			if float64(z) > 1.5*float64(a) && z-a > 20 {
				b.miss("small sessions data files per day partition keep growing: max %d at %s, %d at %s", a, short(ref.to), z, short(last.to))
			}
		} else if len(full) < 3 {
			fmt.Fprintln(b.w, "note: fewer than 3 full windows: snapshot and file growth not judged")
		}
	}
	fmt.Fprintln(b.w)
	if len(b.misses) == 0 {
		fmt.Fprintf(b.w, "PASS: every window within %.0f s at p99, commit time flat, snapshots and files bounded, tables exact", target)
		if ex != nil && aud != nil {
			fmt.Fprintf(b.w, " (%d sessions = batch; %d records accounted for, %d late)", ex.table.n, aud.records, aud.late)
		}
		fmt.Fprintln(b.w)
		return 0
	}
	fmt.Fprintf(b.w, "FAIL: %d target(s) missed:\n", len(b.misses))
	for _, m := range b.misses {
		fmt.Fprintf(b.w, "  - %s\n", m)
	}
	return 1
}

func (b *bench) miss(format string, args ...any) {
	b.misses = append(b.misses, fmt.Sprintf(format, args...))
}

func (b *bench) start(name string, args ...string) *child.Proc {
	p, err := child.Start(name, filepath.Join(b.dir, name+".log"), b.bin, args...)
	check(err)
	b.procs = append(b.procs, p)
	return p
}

func (b *bench) killAll() {
	for _, p := range b.procs {
		p.Kill()
	}
}

func (b *bench) waitUntil(what string, timeout time.Duration, ok func() bool) {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "freshness bench: timed out after %s waiting for %s; logs in %s\n", timeout, what, b.dir)
			b.killAll()
			os.Exit(1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func rssMiB(p *child.Proc) int64 {
	if !p.Alive() {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb / 1024
		}
	}
	return 0
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// pct is the nearest-rank percentile of sorted values, as text.
func pct(sorted []float64, q float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", pctF(sorted, q))
}

func pctF(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(vs))
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func short(d time.Duration) string {
	d = d.Round(time.Second)
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return d.String()
}

func clock(t string) string {
	if tm, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return tm.UTC().Format("15:04:05")
	}
	return t
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "freshness bench:", err)
		os.Exit(1)
	}
}

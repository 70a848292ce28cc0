// Command rebalance measures what group membership changes cost a running
// sessionize: members are `sessionize run` child processes sharing a
// 6-partition topic on a `sessionize broker` process, fed in real time by
// `sessionize produce --realtime`. It prints
//
//   - the pause of partitions that stay put while a third member joins:
//     the longest gap between two commits of a member that keeps its
//     partitions (every member commits every --commit-interval while
//     records flow), and the same while a member is killed and replaced;
//   - kill -9 of a member to the first commit, by the replacement or a
//     surviving member, covering each of its partitions (the replacement
//     is restarted at once, with the same --instance-id when the binary
//     has the flag);
//   - the slowest exit when every member is stopped at once (SIGTERM).
//
// Run it from the repository root:
//
//	go run ./bench/rebalance                            # builds ./cmd/sessionize
//	go run ./bench/rebalance -bin /path/to/sessionize   # e.g. an older build
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionize/sessionize/bench/internal/child"
)

var (
	binFlag     = flag.String("bin", "", "sessionize binary to measure (default: build ./cmd/sessionize)")
	port        = flag.Int("port", 29192, "broker port")
	rate        = flag.Int("rate", 1000, "records per second produced")
	interval    = flag.Duration("commit-interval", 500*time.Millisecond, "--commit-interval of the members")
	noInstances = flag.Bool("no-instance-id", false, "do not give the members --instance-id even if the binary has it")
	settle      = flag.Duration("settle", 4*time.Second, "time to let the group settle between steps")
)

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sessionize-rebalance-bench-")
	check(err)
	defer os.RemoveAll(dir)
	bin := *binFlag
	if bin == "" {
		bin = filepath.Join(dir, "sessionize")
		build := exec.Command("go", "build", "-o", bin, "./cmd/sessionize")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		check(build.Run())
	}
	help, _ := exec.Command(bin, "run", "--help").CombinedOutput()
	instanceIDs := strings.Contains(string(help), "--instance-id") && !*noInstances
	servers := fmt.Sprintf("127.0.0.1:%d", *port)
	b := &bench{bin: bin, dir: dir, servers: servers, instanceIDs: instanceIDs}
	defer b.killAll()

	b.start("broker", "broker", "--listen", servers, "--partitions", "6")
	check(child.WaitPort(servers, 20*time.Second))
	users := *rate * 800 // the generator needs this many for the rate
	producer := b.start("producer", "produce", "-q", "--kafka-servers", servers, "--topic", "clickstream", "--partitions", "6",
		"--rate", strconv.Itoa(*rate), "--events", strconv.Itoa(*rate*600), "--num-users", strconv.Itoa(users), "--realtime")
	fmt.Printf("rebalance benchmark: %s; members with --instance-id: %v; 6 partitions, %d records/s, --commit-interval %s, default session (10s) and rebalance (60s) timeouts\n",
		bin, instanceIDs, *rate, *interval)

	b.waitUntil("the producer to create the topic", 60*time.Second, func() bool {
		log, _ := os.ReadFile(producer.Log)
		return strings.Contains(string(log), `msg="created topic"`)
	})
	m1, m2 := b.member("m1"), b.member("m2")
	b.waitUntil("m1 and m2 to share the partitions and commit", 60*time.Second, func() bool {
		return len(m1.owned(time.Now())) > 0 && len(m2.owned(time.Now())) > 0 && m1.commitsAfter(m2.Started) > 0 && m2.commitsAfter(m2.Started) > 0
	})
	time.Sleep(*settle)

	// 1. A third member joins.
	joined := time.Now()
	m3 := b.member("m3")
	b.waitUntil("m3 to commit", 90*time.Second, func() bool { return len(m3.owned(time.Now())) > 0 && m3.commitsAfter(joined) > 0 })
	time.Sleep(*settle)
	gap, who := longestStayPutGap([]*member{m1, m2}, joined, time.Now())
	fmt.Printf("join of a third member:       longest commit gap of a member keeping partitions: %6.2f s (%s)\n", gap.Seconds(), who)

	// 2. kill -9 of m2; its replacement starts at once.
	killed := time.Now()
	dead := m2.owned(killed)
	m2.Kill()
	m2b := b.member("m2") // same name: same --instance-id
	cover, by := b.coverage(dead, killed, []*member{m1, m2b, m3}, 120*time.Second)
	time.Sleep(*settle)
	gap, who = longestStayPutGap([]*member{m1, m3}, killed, time.Now())
	if cover < 0 {
		fmt.Printf("kill -9 of a member:          its partitions %v were not all committed by another member within 120 s\n", dead)
	} else {
		fmt.Printf("kill -9 of a member:          first commits covering its partitions %v after %6.2f s (%s)\n", dead, cover.Seconds(), by)
	}
	fmt.Printf("                              longest commit gap of a member keeping partitions meanwhile: %6.2f s (%s)\n", gap.Seconds(), who)

	// 3. Stop every member at once.
	stopped := time.Now()
	members := []*member{m1, m2b, m3}
	for _, m := range members {
		_ = m.Cmd.Process.Signal(syscall.SIGTERM)
	}
	var slowest time.Duration
	var slowName string
	for _, m := range members {
		select {
		case <-m.Done():
		case <-time.After(150 * time.Second):
			m.Kill()
		}
		if d := m.ExitedAt.Sub(stopped); d > slowest {
			slowest, slowName = d, m.Name
		}
	}
	fmt.Printf("stop of all members at once:  slowest exit after SIGTERM: %6.2f s (%s)\n", slowest.Seconds(), slowName)
}

type bench struct {
	bin, dir, servers string
	instanceIDs       bool
	procs             []*member
}

// member is one sessionize run of the group.
type member struct{ *child.Proc }

func (b *bench) start(name string, args ...string) *member {
	p, err := child.Start(name, filepath.Join(b.dir, fmt.Sprintf("%s-%d.log", name, len(b.procs))), b.bin, args...)
	check(err)
	m := &member{p}
	b.procs = append(b.procs, m)
	return m
}

func (b *bench) member(name string) *member {
	args := []string{"run", "--kafka-servers", b.servers, "--topic", "clickstream", "--group", "bench",
		"--warehouse", filepath.Join(b.dir, "warehouse"), "--commit-interval", interval.String(), "--http-addr", "",
		"--wait-for-topic"}
	if b.instanceIDs {
		args = append(args, "--instance-id", name)
	}
	return b.start(name, args...)
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
			fmt.Fprintf(os.Stderr, "timed out waiting for %s; logs in %s\n", what, b.dir)
			b.killAll()
			os.Exit(1)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// coverage waits until, for every partition of dead, some member has
// committed while owning it after killed; it returns the time from killed
// to the last of those first commits, or -1 on timeout.
func (b *bench) coverage(dead []int32, killed time.Time, live []*member, timeout time.Duration) (time.Duration, string) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var last time.Time
		by := map[string]bool{}
		all := true
		for _, p := range dead {
			first := time.Time{}
			firstBy := ""
			for _, m := range live {
				if t, ok := m.firstCommitOwning(p, killed); ok && (first.IsZero() || t.Before(first)) {
					first, firstBy = t, m.Name
				}
			}
			if first.IsZero() {
				all = false
				break
			}
			by[firstBy] = true
			if first.After(last) {
				last = first
			}
		}
		if all {
			return last.Sub(killed), "by " + strings.Join(slices.Sorted(mapKeys(by)), ", ")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1, ""
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// longestStayPutGap is the longest gap between two commits, in [from, to],
// of a member that owned partitions all along: the pause of partitions
// that stay put. The gap before its first commit in the window counts from
// its last commit before it.
func longestStayPutGap(ms []*member, from, to time.Time) (time.Duration, string) {
	var longest time.Duration
	who := "none kept partitions"
	for _, m := range ms {
		evs := m.events()
		stay := m.owned(from)
		for _, e := range evs {
			if e.t.After(from) && e.t.Before(to) && e.kind == "revoke" {
				stay = slices.DeleteFunc(stay, func(p int32) bool { return slices.Contains(e.parts, p) })
			}
		}
		if len(stay) == 0 {
			continue
		}
		var prev time.Time
		for _, e := range evs {
			if e.kind != "commit" {
				continue
			}
			if e.t.After(from) && !prev.IsZero() {
				if g := e.t.Sub(prev); g > longest {
					longest, who = g, fmt.Sprintf("%s, keeping %v", m.Name, stay)
				}
			}
			if e.t.After(to) {
				break
			}
			prev = e.t
		}
		if !prev.IsZero() && to.Sub(prev) > longest { // no commit since
			longest, who = to.Sub(prev), fmt.Sprintf("%s, keeping %v, no commit since", m.Name, stay)
		}
	}
	return longest, who
}

type event struct {
	t     time.Time
	kind  string // assign, revoke, commit
	parts []int32
}

var (
	timeRe  = regexp.MustCompile(`^time=(\S+)`)
	partsRe = regexp.MustCompile(`partitions="?\[([0-9 ]*)\]`)
)

// events parses the member's log: assignments, revocations (lost too) and
// commits, in order.
func (m *member) events() []event {
	f, err := os.Open(m.Log)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		tm := timeRe.FindStringSubmatch(line)
		if tm == nil {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, tm[1])
		if err != nil {
			continue
		}
		var kind string
		switch {
		case strings.Contains(line, "msg=commit "):
			kind = "commit"
		case strings.Contains(line, `msg="partitions assigned"`):
			kind = "assign"
		case strings.Contains(line, `msg="partitions revoked"`), strings.Contains(line, `msg="partitions lost`),
			strings.Contains(line, `msg="fenced`):
			kind = "revoke"
		default:
			continue
		}
		var parts []int32
		if pm := partsRe.FindStringSubmatch(line); pm != nil {
			for _, f := range strings.Fields(pm[1]) {
				n, _ := strconv.Atoi(f)
				parts = append(parts, int32(n))
			}
		}
		out = append(out, event{t: t, kind: kind, parts: parts})
	}
	return out
}

// owned is what the member held at t, by its log.
func (m *member) owned(t time.Time) []int32 {
	set := map[int32]bool{}
	for _, e := range m.events() {
		if e.t.After(t) {
			break
		}
		for _, p := range e.parts {
			switch e.kind {
			case "assign":
				set[p] = true
			case "revoke":
				delete(set, p)
			}
		}
	}
	out := make([]int32, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (m *member) commitsAfter(t time.Time) int {
	n := 0
	for _, e := range m.events() {
		if e.kind == "commit" && e.t.After(t) {
			n++
		}
	}
	return n
}

// firstCommitOwning is the member's first commit after t while it owned p.
func (m *member) firstCommitOwning(p int32, t time.Time) (time.Time, bool) {
	owns := false
	for _, e := range m.events() {
		switch e.kind {
		case "assign":
			if slices.Contains(e.parts, p) {
				owns = true
			}
		case "revoke":
			if slices.Contains(e.parts, p) {
				owns = false
			}
		case "commit":
			if owns && e.t.After(t) {
				return e.t, true
			}
		}
	}
	return time.Time{}, false
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "rebalance bench:", err)
		os.Exit(1)
	}
}

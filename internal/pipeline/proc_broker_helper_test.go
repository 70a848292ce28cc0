//go:build unix

package pipeline

// Helpers for child-process tests that also run the broker as a child
// (scaleout_test.go): `sessionize broker` with a data directory, which can
// be killed with kill -9 and restarted from its data on the same address;
// a background producer the test can pause around such a kill; and the
// wait for the group as a whole to have committed everything produced.

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
	"github.com/sessionize/sessionize/internal/kafka"
)

// procBroker is a `sessionize broker --data-dir` child process.
type procBroker struct {
	ps         *procGroup
	dataDir    string
	partitions int
	addr       string // fixed by the first start, kept by restarts
	child      *procChild
	starts     int
}

// startBroker starts a broker child with a data directory and creates
// topic "clickstream" with partitions partitions on it, allowing the
// children's short session timeouts (testMinSessionTimeout).
func (ps *procGroup) startBroker(partitions int) *procBroker {
	t := ps.t
	t.Helper()
	b := &procBroker{ps: ps, dataDir: t.TempDir(), partitions: partitions, addr: "127.0.0.1:0"}
	b.start()
	if _, err := kafka.CreateTopic(t.Context(), b.Addrs(), kafka.Security{}, "clickstream", int32(partitions)); err != nil {
		t.Fatal(err)
	}
	return b
}

// procBrokerAddr is the line `sessionize broker` prints on stdout once it
// listens: the address clients connect to.
var procBrokerAddr = regexp.MustCompile(`(?m)^(127\.0\.0\.1:[0-9]+)$`)

// start starts the broker on b.addr (port 0 the first time: any free one)
// and waits until it listens.
func (b *procBroker) start() {
	t := b.ps.t
	t.Helper()
	b.starts++
	b.child = b.ps.start(fmt.Sprintf("broker-%d", b.starts), "broker", "--listen", b.addr,
		"--data-dir", b.dataDir, "--partitions", strconv.Itoa(b.partitions), "--min-session-timeout", testMinSessionTimeout.String())
	var addr string
	b.child.waitLog("the address it listens on", 30*time.Second, func(log string) bool {
		m := procBrokerAddr.FindStringSubmatch(log)
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	if b.addr != "127.0.0.1:0" && addr != b.addr {
		t.Fatalf("broker restarted on %s, not %s", addr, b.addr)
	}
	b.addr = addr
}

// Addrs is where clients connect, the same across restarts.
func (b *procBroker) Addrs() []string { return []string{b.addr} }

// kill9 kills the broker with SIGKILL: it saves nothing on the way out.
func (b *procBroker) kill9() { b.child.kill() }

// restart starts the broker again from its data directory, on the same
// address.
func (b *procBroker) restart() {
	b.ps.t.Helper()
	if !b.child.exited() {
		b.ps.t.Fatal("restart of a broker that is still running")
	}
	b.start()
}

// procTopicEnds returns every partition's end offset.
func procTopicEnds(t *testing.T, b brokerAddrs) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ends, err := kafka.TopicEnds(ctx, b.Addrs(), kafka.Security{}, "clickstream")
	if err != nil {
		t.Fatal(err)
	}
	return ends
}

// procWaitCommitted waits until the sessions table's offsets reach every
// partition's end as it is at the call: whichever members hold them, the
// group has processed and committed everything produced so far. (A run's
// --stop-when-idle looks only at the partitions that member owns.) It
// fails if one of watch exits meanwhile, and returns the ends.
func procWaitCommitted(t *testing.T, b brokerAddrs, warehouse testWarehouse, timeout time.Duration, watch ...*procChild) map[int32]int64 {
	t.Helper()
	ends := procTopicEnds(t, b)
	deadline := time.Now().Add(timeout)
	for {
		offsets := procReadState(t, warehouse)[iceberg.TableSessions].offsets
		behind := map[int32]int64{}
		for p, end := range ends {
			if o := offsets[p]; o < end {
				behind[p] = end - o
			}
		}
		if len(behind) == 0 {
			return ends
		}
		for _, c := range watch {
			if c.exited() {
				t.Fatalf("%s exited (%v) while the group had records left to commit: %v behind", c.name, c.waitErr, behind)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sessions table did not reach the topic's end within %s: partitions %v records behind (ends %v)",
				timeout, behind, ends)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// procFeeder produces records in order, a piece at a time in the
// background, up to a limit the test raises (feedTo); pause and resume
// bracket what must happen with no produce request in flight (killing
// the broker).
type procFeeder struct {
	t     *testing.T
	b     brokerAddrs
	recs  []procRecord
	piece int
	every time.Duration

	mu     sync.Mutex // held while a piece is produced
	next   int        // recs[:next] are produced
	limit  int
	paused bool
	err    error
	stop   chan struct{}
	done   chan struct{}
}

// newProcFeeder starts a feeder that produces up to piece records every
// interval, from recs[from:] on (recs[:from] must be produced already).
func newProcFeeder(t *testing.T, b brokerAddrs, recs []procRecord, from, piece int, every time.Duration) *procFeeder {
	f := &procFeeder{t: t, b: b, recs: recs, piece: piece, every: every, next: from, limit: from,
		stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	t.Cleanup(func() {
		close(f.stop)
		<-f.done
	})
	return f
}

func (f *procFeeder) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		case <-time.After(f.every):
		}
		f.mu.Lock()
		if f.err == nil && !f.paused && f.next < f.limit {
			end := min(f.next+f.piece, f.limit)
			if f.err = procProduce(f.t.Context(), f.b, f.recs[f.next:end]); f.err == nil {
				f.next = end
			}
		}
		f.mu.Unlock()
	}
}

// feedTo lets the feeder go on up to recs[:n].
func (f *procFeeder) feedTo(n int) {
	f.mu.Lock()
	f.limit = max(f.limit, min(n, len(f.recs)))
	f.mu.Unlock()
}

// trickle lets the feeder produce one more piece, up to recs[:upTo]; it
// returns false once recs[:upTo] are all produced.
func (f *procFeeder) trickle(upTo int) bool {
	f.t.Helper()
	next := f.produced()
	if next >= upTo {
		return false
	}
	f.feedTo(min(next+f.piece, upTo))
	return true
}

// trickleUntil keeps records trickling in (a piece every 100 ms, up to
// recs[:upTo]) until done returns true: a member commits only when it
// has read something, so a test waiting for a commit must give it
// records. It fails if the records up to upTo run out first, timeout
// passes, or one of watch exits.
func (f *procFeeder) trickleUntil(upTo int, timeout time.Duration, what string, done func() bool, watch ...*procChild) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for last := (time.Time{}); !done(); time.Sleep(10 * time.Millisecond) {
		for _, c := range watch {
			if c.exited() {
				f.t.Fatalf("%s exited (%v) while waiting for %s", c.name, c.waitErr, what)
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no %s within %s", what, timeout)
		}
		if time.Since(last) >= 100*time.Millisecond {
			last = time.Now()
			if !f.trickle(upTo) {
				f.t.Fatalf("the records up to %d ran out while waiting for %s", upTo, what)
			}
		}
	}
}

// produced returns how many records are produced, failing the test if a
// produce failed.
func (f *procFeeder) produced() int {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		f.t.Fatalf("producing: %v", f.err)
	}
	return f.next
}

// waitFed waits until everything up to the limit is produced.
func (f *procFeeder) waitFed(timeout time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		next, limit, err := f.next, f.limit, f.err
		f.mu.Unlock()
		if err != nil {
			f.t.Fatalf("producing: %v", err)
		}
		if next >= limit {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("produced %d of %d records within %s", next, limit, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pause waits for a piece in flight and keeps the feeder from producing
// until resume.
func (f *procFeeder) pause() { f.setPaused(true) }

func (f *procFeeder) resume() { f.setPaused(false) }

func (f *procFeeder) setPaused(p bool) {
	f.mu.Lock()
	f.paused = p
	f.mu.Unlock()
}

// produceNow produces the records up to recs[:n] at once, paused or not.
func (f *procFeeder) produceNow(n int) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	n = min(n, len(f.recs))
	if f.next < n {
		if err := procProduce(f.t.Context(), f.b, f.recs[f.next:n]); err != nil {
			f.t.Fatalf("producing: %v", err)
		}
		f.next = n
	}
	f.limit = max(f.limit, n)
}

// procOwners says which partitions each member of group holds, as the
// broker's group coordinator sees it (for logs).
func procOwners(t *testing.T, b brokerAddrs, group string) string {
	t.Helper()
	ms, err := kafka.GroupMembers(t.Context(), b.Addrs(), kafka.Security{}, group, "clickstream")
	if err != nil {
		return err.Error()
	}
	held := map[string][]int32{}
	for _, m := range ms {
		held[m.MemberID] = m.Partitions
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(held)) {
		out = append(out, fmt.Sprintf("%v", held[id]))
	}
	return fmt.Sprint(out)
}

// procWaitAssigned waits until the group has members members holding
// every one of the topic's partitions, with the same assignment on two
// looks a second apart: a group that is rebalancing (a join is two rounds
// under the cooperative protocol) shows members without partitions, and
// members stopped then own nothing to drain. It returns the owners.
func procWaitAssigned(t *testing.T, b brokerAddrs, group string, members, partitions int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ms, err := kafka.GroupMembers(t.Context(), b.Addrs(), kafka.Security{}, group, "clickstream")
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, m := range ms {
			held += len(m.Partitions)
		}
		owners := procOwners(t, b, group)
		if len(ms) == members && held == partitions && owners == last {
			return owners
		}
		last = owners
		if time.Now().After(deadline) {
			t.Fatalf("the group did not settle on %d members holding %d partitions within %s: owners %s", members, partitions, timeout, owners)
		}
		time.Sleep(time.Second)
	}
}

package batch

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSpillGivesSameSessions: a memory limit far below the input forces
// every partition to disk; the sessions must be byte-identical to an
// in-memory run, and the spill files must be gone afterwards.
func TestSpillGivesSameSessions(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeLines(t, in, randomStream(rand.New(rand.NewPCG(3, 3)), 3000), "not json", `{"uuid":"x"}`)
	mem, memLines := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "mem.jsonl")})
	spillDir := filepath.Join(dir, "spill")
	if err := os.Mkdir(spillDir, 0o755); err != nil {
		t.Fatal(err)
	}
	disk, diskLines := runBatch(t, Config{Inputs: []string{in}, Output: filepath.Join(dir, "disk.jsonl"),
		MemoryLimit: 4 << 10, TempDir: spillDir})
	if disk.SpilledBytes == 0 || mem.SpilledBytes != 0 {
		t.Fatalf("spilled %d bytes with a 4KiB limit and %d without", disk.SpilledBytes, mem.SpilledBytes)
	}
	if disk.Partitions <= mem.Partitions {
		t.Errorf("a small limit should use more partitions: %d vs %d", disk.Partitions, mem.Partitions)
	}
	slices.Sort(memLines)
	slices.Sort(diskLines)
	if !slices.Equal(memLines, diskLines) || len(memLines) == 0 {
		t.Fatalf("spilled run gave %d sessions, in-memory %d, or they differ", len(diskLines), len(memLines))
	}
	if disk.Rejected != 2 || !disk.InvariantHolds {
		t.Fatalf("summary: %+v", disk)
	}
	left, _ := os.ReadDir(spillDir)
	if len(left) != 0 {
		t.Fatalf("spill files left behind: %v", left)
	}
}

package batch

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// partitionStore buffers each partition's encoded events until the input is
// read. While they fit in the memory budget they stay in memory; past it,
// every partition spills to its own temp file and further events are
// appended there, so a run's memory no longer grows with its input.
type partitionStore struct {
	parts    []storedPartition
	memBytes int64
	budget   int64
	dir      string // spill directory, created on first spill
	tempRoot string
	spilled  int64 // bytes written to spill files
}

type storedPartition struct {
	slabs [][]byte
	file  *os.File
	w     *bufio.Writer
}

func newPartitionStore(parts int, budget int64, tempRoot string) *partitionStore {
	return &partitionStore{parts: make([]storedPartition, parts), budget: budget, tempRoot: tempRoot}
}

func (s *partitionStore) spilling() bool { return s.dir != "" }

func (s *partitionStore) add(i int, slab []byte) error {
	if len(slab) == 0 {
		return nil
	}
	if s.spilling() {
		return s.write(i, slab)
	}
	p := &s.parts[i]
	p.slabs = append(p.slabs, slab)
	s.memBytes += int64(len(slab))
	if s.memBytes > s.budget {
		return s.spillAll()
	}
	return nil
}

func (s *partitionStore) spillAll() error {
	dir, err := os.MkdirTemp(s.tempRoot, "sessionize-spill-")
	if err != nil {
		return fmt.Errorf("create spill directory (set --temp-dir to a disk with room): %w", err)
	}
	s.dir = dir
	for i := range s.parts {
		p := &s.parts[i]
		for _, slab := range p.slabs {
			if err := s.write(i, slab); err != nil {
				return err
			}
		}
		p.slabs = nil
	}
	s.memBytes = 0
	return nil
}

func (s *partitionStore) write(i int, slab []byte) error {
	p := &s.parts[i]
	if p.file == nil {
		f, err := os.Create(filepath.Join(s.dir, fmt.Sprintf("part-%05d", i)))
		if err != nil {
			return fmt.Errorf("create spill file: %w", err)
		}
		p.file, p.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	if _, err := p.w.Write(slab); err != nil {
		return fmt.Errorf("spill partition %d to %s: %w", i, s.dir, err)
	}
	s.spilled += int64(len(slab))
	return nil
}

// take returns all of partition i's events and forgets them.
func (s *partitionStore) take(i int) ([][]byte, error) {
	p := &s.parts[i]
	slabs := p.slabs
	p.slabs = nil
	if p.file == nil {
		return slabs, nil
	}
	if err := p.w.Flush(); err != nil {
		return nil, fmt.Errorf("spill partition %d: %w", i, err)
	}
	if _, err := p.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind spill file: %w", err)
	}
	st, err := p.file.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat spill file: %w", err)
	}
	data := make([]byte, st.Size())
	if _, err = io.ReadFull(p.file, data); err != nil {
		return nil, fmt.Errorf("read back spilled partition %d: %w", i, err)
	}
	p.file.Close()
	os.Remove(p.file.Name())
	p.file, p.w = nil, nil
	return append(slabs, data), nil
}

// close removes every spill file.
func (s *partitionStore) close() {
	for i := range s.parts {
		if f := s.parts[i].file; f != nil {
			f.Close()
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

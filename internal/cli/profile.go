package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

// startCPUProfile writes a CPU profile of the rest of the process to path
// (the hidden --cpuprofile of run and batch, for finding where a run's time goes); stop
// ends it and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// heapProfileEvery is how often --memprofile rewrites its file.
const heapProfileEvery = 30 * time.Second

// writeHeapProfiles rewrites a heap profile at path every heapProfileEvery
// until ctx ends (the hidden --memprofile of run, for finding what a long
// run's live heap holds: the profile is as of the last GC, so one taken
// during the run shows the open state, which a profile at exit, after the
// state is released, would not).
func writeHeapProfiles(ctx context.Context, path string) error {
	write := func() error {
		// Through a temporary file, so a reader never sees half a profile.
		tmp := path + ".tmp"
		if err := writeProfile("heap", tmp); err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		return os.Rename(tmp, path)
	}
	if err := write(); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(heapProfileEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = write() // it worked once; a later failure only loses a sample
			}
		}
	}()
	return nil
}

// writeAllocProfile writes the allocations of the whole process so far to
// path (the hidden --allocprofile of run, written as the run ends: how
// much a drain allocated, and where, which the 30-second --memprofile
// misses for any run shorter than that). Read it with go tool pprof
// -sample_index=alloc_space.
func writeAllocProfile(path string) error {
	if err := writeProfile("allocs", path); err != nil {
		return fmt.Errorf("--allocprofile: %w", err)
	}
	return nil
}

// writeProfile writes the runtime's profile name (see pprof.Lookup) to
// path.
func writeProfile(name, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = pprof.Lookup(name).WriteTo(f, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

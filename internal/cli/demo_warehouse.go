package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// demoMarker is the file the demo puts in the warehouse it creates. Only a
// directory holding it is the demo's own, to replace on the next run;
// anything else at that path is the user's, and stays unless --force.
const demoMarker = ".sessionize-demo"

// prepareDemoWarehouse makes dir the demo's empty warehouse: it creates it,
// or replaces an earlier demo's, or (with force) whatever is there. Called
// before anything else runs, so a refusal leaves no trace.
func prepareDemoWarehouse(dir string, force bool) error {
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("demo warehouse %s: %w", dir, err)
	case force:
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("replace %s (--force): %w", dir, err)
		}
	case !st.IsDir():
		return usagef("%s exists and is not a directory the demo made; the demo writes its warehouse there: pass --force to replace it, or give another --dir", dir)
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("demo warehouse %s: %w", dir, err)
		}
		if len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
				return usagef("%s exists and was not made by sessionize demo (it holds %s): pass --force to replace it, or give another --dir",
					dir, describeEntries(entries))
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("replace the earlier demo's warehouse %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the demo warehouse: %w", err)
	}
	note := "Made by sessionize demo, which replaces this directory on its next run with the same --dir.\n"
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte(note), 0o644); err != nil {
		return fmt.Errorf("create the demo warehouse: %w", err)
	}
	return nil
}

// describeEntries names the first few entries of a directory.
func describeEntries(entries []os.DirEntry) string {
	const show = 3
	var names []string
	for i, e := range entries {
		if i == show {
			names = append(names, fmt.Sprintf("and %d more", len(entries)-show))
			break
		}
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

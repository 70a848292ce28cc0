package cli

import (
	"runtime/debug"
	"strings"
)

// readBuildInfo is what Go recorded in the binary: the module version
// (for go install module@version) and, for a build in a git checkout, the
// revision, its time and whether the tree had uncommitted changes.
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// versionString is what --version prints: the -ldflags Version if one
// was set, else the module version, then the VCS revision and build
// details, e.g. "v0.3.1 (commit 59340e2c1a2b, 2026-12-01T23:10:00Z, modified; go1.26.0)".
func versionString(version, buildTime string, bi *debug.BuildInfo) string {
	v := version
	if v == "dev" && bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	var details []string
	if bi != nil {
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			details = append(details, "commit "+rev[:min(12, len(rev))])
		}
		if at != "" {
			details = append(details, "committed "+at)
		}
		if modified == "true" {
			details = append(details, "with uncommitted changes")
		}
	}
	if buildTime != "" {
		details = append(details, "built "+buildTime)
	}
	if bi != nil && bi.GoVersion != "" {
		details = append(details, bi.GoVersion)
	}
	if len(details) == 0 {
		return v
	}
	return v + " (" + strings.Join(details, ", ") + ")"
}

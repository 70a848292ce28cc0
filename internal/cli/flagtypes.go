package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sessionize/sessionize/internal/iceberg"
)

// unitDuration is a duration flag that also takes a bare number in a fixed
// unit, as the original tool did: "--inactivity-timeout 45" means 45 minutes,
// "--max-session-duration 1.5" means 1.5 hours.
type unitDuration struct {
	d        *time.Duration
	unit     time.Duration
	unitName string
}

func newUnitDuration(p *time.Duration, def, unit time.Duration, unitName string) *unitDuration {
	*p = def
	return &unitDuration{d: p, unit: unit, unitName: unitName}
}

func (u *unitDuration) String() string { return u.d.String() }
func (u *unitDuration) Type() string   { return "duration" }

func (u *unitDuration) Set(s string) error {
	s = strings.TrimSpace(s)
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || f > float64(math.MaxInt64)/float64(u.unit) {
			return fmt.Errorf("%q is out of range", s)
		}
		d = time.Duration(f * float64(u.unit))
	} else {
		pd, perr := time.ParseDuration(s)
		if perr != nil {
			return fmt.Errorf("want a Go duration such as 30m, 1h30m or 90s, or a bare number of %s", u.unitName)
		}
		d = pd
	}
	if d < time.Millisecond {
		return fmt.Errorf("must be at least 1ms, got %s", s)
	}
	*u.d = d
	return nil
}

// byteSize is a size flag: a plain number of bytes or a number with a unit
// (KiB, MiB, GiB, TiB, or KB, MB, GB, TB in powers of 1000). A flag whose
// default is 0 ("work it out": a share of the memory, the table's
// property) also takes 0, as its help says; other sizes must be positive.
type byteSize struct {
	n      *int64
	zeroOK bool
}

func newByteSize(p *int64, def int64) *byteSize {
	*p = def
	return &byteSize{n: p, zeroOK: def == 0}
}

func (b *byteSize) String() string { return formatBytes(*b.n) }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(s string) error {
	if b.zeroOK && strings.TrimSpace(s) == "0" {
		*b.n = 0
		return nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	*b.n = n
	return nil
}

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*mult > math.MaxInt64 {
		return 0, fmt.Errorf("want a positive size such as 1048576, 512MiB or 2GiB, got %q", s)
	}
	return int64(f * mult), nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

// startRange is a --replace-range FROM..TO: a half-open window of session
// starts. Each end is an RFC 3339 time, a UTC date or date-time without a
// zone (2026-11-25, 2026-11-25T10:00:00), or epoch milliseconds.
type startRange struct{ r **iceberg.StartRange }

func (s startRange) String() string {
	if *s.r == nil {
		return ""
	}
	return (*s.r).String()
}

func (s startRange) Type() string { return "FROM..TO" }

func (s startRange) Set(v string) error {
	from, to, ok := strings.Cut(v, "..")
	if !ok {
		return fmt.Errorf("want FROM..TO, e.g. 2026-11-25..2026-11-26")
	}
	f, err := parseInstant(from)
	if err != nil {
		return fmt.Errorf("FROM: %w", err)
	}
	t, err := parseInstant(to)
	if err != nil {
		return fmt.Errorf("TO: %w", err)
	}
	if f >= t {
		return fmt.Errorf("FROM must be before TO")
	}
	*s.r = &iceberg.StartRange{FromMs: f, ToMs: t}
	return nil
}

// parseInstant reads a time as epoch milliseconds.
func parseInstant(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("%q is not a time: want RFC 3339 (2026-11-25T10:00:00Z), a UTC date (2026-11-25) or epoch milliseconds", v)
}

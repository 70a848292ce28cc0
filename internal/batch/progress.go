package batch

import (
	"fmt"
	"io"
	"time"
)

// progress redraws one status line on a terminal, at most twice a second.
type progress struct {
	w     io.Writer
	total int64
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) due() bool {
	if p.w == nil {
		return false
	}
	now := time.Now()
	if now.Sub(p.last) < 500*time.Millisecond {
		return false
	}
	p.last = now
	return true
}

func (p *progress) reading(bytes, records int64) {
	if !p.due() {
		return
	}
	rate := float64(records) / time.Since(p.start).Seconds()
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" (%.0f%%)", 100*float64(bytes)/float64(p.total))
	}
	fmt.Fprintf(p.w, "\r\033[Kreading: %s%s, %d records, %.0f records/s", humanBytes(bytes), pct, records, rate)
}

func (p *progress) folding(done, total int) {
	if !p.due() {
		return
	}
	fmt.Fprintf(p.w, "\r\033[Ksessionizing: partition %d of %d", done, total)
}

func (p *progress) done() {
	if p.w != nil && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

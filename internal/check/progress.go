package check

import (
	"fmt"
	"io"
	"time"
)

// progress redraws one status line on a terminal, at most twice a second,
// and only once the check has run for a second: small inputs print none.
type progress struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w}
}

func (p *progress) update(records, bytesRead, bytesTotal int64, start time.Time) {
	now := time.Now()
	if now.Sub(start) < time.Second || now.Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	rate := float64(records) / now.Sub(start).Seconds()
	switch {
	case bytesTotal > 0:
		fmt.Fprintf(p.w, "\r\033[Kchecking: %s of %s (%.0f%%), %s records, %s records/s",
			humanBytes(bytesRead), humanBytes(bytesTotal), 100*float64(bytesRead)/float64(bytesTotal), groupDigits(records), humanRate(rate))
	case bytesRead > 0:
		fmt.Fprintf(p.w, "\r\033[Kchecking: %s, %s records, %s records/s", humanBytes(bytesRead), groupDigits(records), humanRate(rate))
	default:
		fmt.Fprintf(p.w, "\r\033[Kchecking: %s records, %s records/s", groupDigits(records), humanRate(rate))
	}
}

// kafka draws the line for a topic: records read of the offsets to read.
func (p *progress) kafka(records, offsetsDone, offsetsTotal int64, start time.Time) {
	now := time.Now()
	if now.Sub(start) < time.Second || now.Sub(p.last) < 500*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	rate := float64(records) / now.Sub(start).Seconds()
	pct := 0.0
	if offsetsTotal > 0 {
		pct = 100 * float64(offsetsDone) / float64(offsetsTotal)
	}
	fmt.Fprintf(p.w, "\r\033[Kchecking: %s records (%.0f%% of the offsets to read), %s records/s", groupDigits(records), pct, humanRate(rate))
}

// done clears the line if one was drawn.
func (p *progress) done() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2fM", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0fk", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

package pipeline

import (
	"strings"

	"github.com/sessionize/sessionize/internal/event"
)

// inputCheck tallies, since this process took a partition, what
// event.Advice needs to say the records are read with the wrong schema:
// records, rejections by reason, implausible times (against the Kafka
// timestamps) and one rejected record.
type inputCheck struct {
	records  int64
	rejected map[string]int64
	times    event.TimeCheck
	sample   []byte
	users    userSample // spread.go
}

func (c *inputCheck) reject(why string, raw []byte) {
	if c.rejected == nil {
		c.rejected = map[string]int64{}
	}
	c.rejected[why]++
	if c.sample == nil {
		c.sample = append([]byte(nil), raw...)
	}
}

// warnAdvice logs, at a commit, what looks wrong with the records of the
// partitions held, with the likely fix; only when that changes, so a
// steady problem is said once, not at every commit.
func (p *Pipeline) warnAdvice() {
	var total inputCheck
	for _, id := range p.owned() {
		c := &p.parts[id].check
		total.records += c.records
		total.times.Add(&c.times)
		for why, n := range c.rejected {
			if total.rejected == nil {
				total.rejected = map[string]int64{}
			}
			total.rejected[why] += n
		}
		if total.sample == nil {
			total.sample = c.sample
		}
	}
	sch := p.cfg.Schema.OrDefault()
	advice := event.Advice(sch, total.records, total.rejected, &total.times, total.sample)
	if s, ok := p.splitUser(); ok {
		advice = append(advice, spreadAdvice(s, strings.Join(sch.UserNames(), "+"), p.warnedGrowth))
	}
	text := strings.Join(advice, "\n")
	if text == p.lastAdvice {
		return
	}
	p.lastAdvice = text
	for _, a := range advice {
		p.cfg.Logger.Warn(a, "records", total.records)
	}
}

package check

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sessionize/sessionize/internal/event"
)

// Condition is one --fail-on term, such as "rejected>1%" or "late>=100".
type Condition struct {
	Metric  string  // see Metrics
	Op      string  // ">" or ">="
	Value   float64 // a percent of records if Percent, else a count
	Percent bool
	Text    string // as written, spaces removed
}

// metricNames are the --fail-on metrics besides the rejection reasons.
var metricNames = []string{"rejected", "duplicates", "late", "out_of_order"}

// Metrics returns every name a --fail-on condition may use: rejected,
// duplicates, late (at --allowed-lateness), out_of_order, and each
// rejection reason. The legacy reason names missing_uuid and bad_timestamp
// are accepted too and count the reasons that replaced them.
func Metrics() []string {
	m := slices.Clone(metricNames)
	for r := event.Reason(1); int(r) < event.NumReasons; r++ {
		m = append(m, r.String())
	}
	return append(m, ReasonFutureTimestamp)
}

// ParseFailOn parses a comma-separated list of conditions METRIC>VALUE or
// METRIC>=VALUE, where VALUE is a count (100) or a percent of the records
// read (1%, 0.1%). "" is no conditions.
func ParseFailOn(s string) ([]Condition, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Condition
	for _, term := range strings.Split(s, ",") {
		c, err := parseCondition(term)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCondition(term string) (Condition, error) {
	t := strings.Join(strings.Fields(term), "")
	if t == "" {
		return Condition{}, errors.New("empty condition (want METRIC>VALUE, e.g. rejected>1%)")
	}
	i := strings.IndexAny(t, "<>=!")
	if i < 0 {
		return Condition{}, fmt.Errorf("condition %q has no comparison (want METRIC>VALUE or METRIC>=VALUE, e.g. rejected>1%% or late>100)", t)
	}
	c := Condition{Metric: t[:i], Text: t}
	rest := t[i:]
	switch {
	case strings.HasPrefix(rest, ">="):
		c.Op, rest = ">=", rest[2:]
	case strings.HasPrefix(rest, ">"):
		c.Op, rest = ">", rest[1:]
	default:
		return Condition{}, fmt.Errorf("condition %q: only > and >= are supported (the check fails when the metric is above the value)", t)
	}
	if c.Metric == "" {
		return Condition{}, fmt.Errorf("condition %q has no metric (one of %s)", t, strings.Join(Metrics(), ", "))
	}
	if _, legacy := event.LegacyReasons[c.Metric]; !legacy && !slices.Contains(Metrics(), c.Metric) {
		return Condition{}, fmt.Errorf("condition %q: unknown metric %q (one of %s)", t, c.Metric, strings.Join(Metrics(), ", "))
	}
	if strings.HasSuffix(rest, "%") {
		c.Percent, rest = true, rest[:len(rest)-1]
	}
	v, err := strconv.ParseFloat(rest, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || strings.ContainsAny(rest, "xXpP_") {
		return Condition{}, fmt.Errorf("condition %q: value %q is not a non-negative number (a count such as 100, or a percent such as 0.5%%)", t, rest)
	}
	if c.Percent && v > 100 {
		return Condition{}, fmt.Errorf("condition %q: a percent of records is at most 100%%", t)
	}
	c.Value = v
	return c, nil
}

// ConditionResult is one condition evaluated on a report.
type ConditionResult struct {
	Condition string  `json:"condition"`
	Count     int64   `json:"count"`
	Percent   float64 `json:"percent"` // of records read
	Held      bool    `json:"held"`
}

// FailOnResult is the --fail-on verdict.
type FailOnResult struct {
	Conditions []ConditionResult `json:"conditions"`
	Failed     bool              `json:"failed"` // some condition held
}

// Held returns the conditions that held, as text.
func (f *FailOnResult) Held() []string {
	var out []string
	for _, c := range f.Conditions {
		if c.Held {
			unit := "records"
			if c.Count == 1 {
				unit = "record"
			}
			out = append(out, fmt.Sprintf("%s (%s %s, %s of all)", c.Condition, groupDigits(c.Count), unit, fmtPct(c.Percent)))
		}
	}
	return out
}

// count returns the report's count for a metric.
func (r *Report) count(metric string) int64 {
	switch metric {
	case "rejected":
		return r.Rejected
	case "duplicates":
		return r.Duplicates
	case "late":
		return r.Late
	case "out_of_order":
		return r.OutOfOrder
	}
	if parts, legacy := event.LegacyReasons[metric]; legacy {
		// A name from before reasons were split by cause (bad_timestamp)
		// counts all of its successors, so existing --fail-on keep working.
		var n int64
		for _, p := range parts {
			n += r.RejectedByReason[p]
		}
		return n
	}
	return r.RejectedByReason[metric]
}

func evaluate(r *Report, conds []Condition) *FailOnResult {
	if len(conds) == 0 {
		return nil
	}
	res := &FailOnResult{}
	for _, c := range conds {
		n := r.count(c.Metric)
		pct := r.pct(n)
		x := float64(n)
		if c.Percent {
			x = pct
		}
		held := x > c.Value || (c.Op == ">=" && x == c.Value)
		res.Conditions = append(res.Conditions, ConditionResult{Condition: c.Text, Count: n, Percent: pct, Held: held})
		res.Failed = res.Failed || held
	}
	return res
}

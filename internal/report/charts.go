package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn with gonum.org/v1/plot onto its SVG canvas (vgsvg), so
// the page needs no JavaScript. Text is set in Liberation Sans, which
// gonum/plot ships and measures with; the page embeds that font once
// (chartFontFace) so the text is drawn exactly where it was measured.

// Chart is one rendered chart.
type Chart struct {
	ID    string // stable id, e.g. "sessions-per-day"
	Title string
	Wide  bool   // spans the page width
	SVG   string // an <svg> element, without the XML prolog
}

var (
	chartFont   = font.Font{Typeface: "Liberation", Variant: "Sans"}
	chartWidth  = vg.Points(480)
	chartHeight = vg.Points(270)

	colorBlue   = color.RGBA{0x3b, 0x6e, 0xa8, 0xff}
	colorOrange = color.RGBA{0xe8, 0x80, 0x2a, 0xff}
	colorGreen  = color.RGBA{0x4c, 0x9a, 0x52, 0xff}
	colorPurple = color.RGBA{0x8e, 0x63, 0xa6, 0xff}
	colorTeal   = color.RGBA{0x2f, 0x93, 0x8f, 0xff}
	colorRed    = color.RGBA{0xc8, 0x4b, 0x4b, 0xff}
	colorGrid   = color.RGBA{0xe3, 0xe6, 0xea, 0xff}
	colorText   = color.RGBA{0x22, 0x28, 0x30, 0xff}
)

// Charts renders every chart of the report, in page order.
func (r *Report) Charts() ([]Chart, error) {
	builders := []struct {
		id, title string
		build     func(title string) (*plot.Plot, error)
		wide      bool
	}{
		{"sessions-per-day", "Sessions per day (UTC)", r.plotPerDay, false},
		{"sessions-per-hour", "Sessions per hour (UTC)", r.plotPerHour, false},
		{"duration-histogram", "Session duration", r.plotDurations, false},
		{"events-histogram", "Events per session", r.plotEvents, false},
		{"funnel", "Funnel: " + r.funnelTitle(), r.plotFunnel, true},
		{"sessions-per-user", "Sessions per user", r.plotPerUser, false},
		{"top-entry-pages", "Top entry pages", func(t string) (*plot.Plot, error) { return r.plotPages(t, r.TopEntryPages, colorTeal) }, false},
		{"top-exit-pages", "Top exit pages", func(t string) (*plot.Plot, error) { return r.plotPages(t, r.TopExitPages, colorPurple) }, false},
		{"end-reasons", "End reasons", r.plotEndReasons, false},
	}
	out := make([]Chart, 0, len(builders))
	for _, b := range builders {
		var p *plot.Plot
		var err error
		if r.Sessions == 0 {
			p = emptyPlot(b.title, "no sessions in the window")
		} else if p, err = b.build(b.title); err != nil {
			return nil, fmt.Errorf("chart %s: %w", b.id, err)
		}
		w := chartWidth
		if b.wide {
			w = 2*chartWidth + 20
		}
		svg, err := renderSVG(p, w, chartHeight)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", b.id, err)
		}
		out = append(out, Chart{ID: b.id, Title: b.title, Wide: b.wide, SVG: svg})
	}
	return out, nil
}

// newPlot is a plot with the report's fonts, colors and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	setFont := func(f *font.Font, size vg.Length) {
		*f = font.From(chartFont, size)
	}
	setFont(&p.Title.TextStyle.Font, 13)
	p.Title.TextStyle.Color = colorText
	p.Title.Padding = 6
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		setFont(&ax.Label.TextStyle.Font, 10)
		setFont(&ax.Tick.Label.Font, 9)
		ax.Label.TextStyle.Color = colorText
		ax.Tick.Label.Color = colorText
		ax.Color = color.Gray{0x88}
		ax.Tick.Color = color.Gray{0x88}
	}
	setFont(&p.Legend.TextStyle.Font, 9)
	p.BackgroundColor = color.White
	return p
}

func addGrid(p *plot.Plot, vertical, horizontal bool) {
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colorGrid, colorGrid
	if !vertical {
		g.Vertical.Color = nil
	}
	if !horizontal {
		g.Horizontal.Color = nil
	}
	p.Add(g)
}

func emptyPlot(title, msg string) *plot.Plot {
	p := newPlot(title, "", "")
	p.HideAxes()
	l, _ := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0.5, Y: 0.5}}, Labels: []string{msg}})
	l.TextStyle[0].Font = font.From(chartFont, 12)
	l.TextStyle[0].XAlign, l.TextStyle[0].YAlign = draw.XCenter, draw.YCenter
	l.TextStyle[0].Color = color.Gray{0x66}
	p.Add(l)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p
}

func renderSVG(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("vgsvg wrote no <svg> element")
	}
	return s[i:], nil
}

// countTicks marks whole numbers at a 1-2-5 step, about five labels,
// with thousands separators, and minor ticks between.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, niceStep((hi-lo)/5))
	minor := step / 5
	if lead := step / math.Pow(10, math.Floor(math.Log10(step))); math.Round(lead) == 2 {
		minor = step / 4
	}
	if minor < 1 {
		minor = step
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/minor) * minor; v <= hi+1e-9; v += minor {
		t := plot.Tick{Value: v}
		if math.Abs(math.Remainder(v, step)) < 1e-9 {
			t.Label = num(int64(math.Round(v)))
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// fixRange keeps an axis from collapsing to a point (gonum panics on that).
func fixRange(ax *plot.Axis) {
	if !(ax.Max > ax.Min) {
		ax.Max = ax.Min + 1
	}
}

// barChart is a vertical bar chart over named categories.
func barChart(title, xLabel, yLabel string, names []string, values []float64, clr color.Color) (*plot.Plot, error) {
	p := newPlot(title, xLabel, yLabel)
	addGrid(p, false, true)
	width := vg.Length(math.Min(40, math.Max(2, 360/float64(max(1, len(values)))*0.75)))
	bc, err := plotter.NewBarChart(plotter.Values(values), width)
	if err != nil {
		return nil, err
	}
	bc.Color = clr
	bc.LineStyle.Width = 0
	p.Add(bc)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(len(values))-0.4 // keep the end bars off the frame
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	fixRange(&p.Y)
	p.Y.Max *= 1.05
	return p, nil
}

// thinLabels keeps about n labels of names, blanking the others.
func thinLabels(names []string, n int) []string {
	step := (len(names) + n - 1) / n
	if step <= 1 {
		return names
	}
	out := make([]string, len(names))
	for i := range names {
		if i%step == 0 {
			out[i] = names[i]
		}
	}
	return out
}

func (r *Report) plotPerDay(title string) (*plot.Plot, error) {
	names := make([]string, len(r.SessionsPerDay))
	values := make([]float64, len(r.SessionsPerDay))
	for i, d := range r.SessionsPerDay {
		t, _ := time.Parse("2006-01-02", d.Time)
		names[i] = t.Format("Jan 2")
		if len(r.SessionsPerDay) <= 3 {
			names[i] = d.Time
		}
		values[i] = float64(d.Sessions)
	}
	return barChart(title, "", "sessions", thinLabels(names, 12), values, colorBlue)
}

// plotPerHour draws every hour from the first to the last session start,
// empty hours included, on a time axis.
func (r *Report) plotPerHour(title string) (*plot.Plot, error) {
	counts := map[int64]int64{}
	var first, last int64 = math.MaxInt64, math.MinInt64
	for _, h := range r.SessionsPerHour {
		t, err := time.Parse(time.RFC3339, h.Time)
		if err != nil {
			return nil, err
		}
		u := t.Unix()
		counts[u] = h.Sessions
		first, last = min(first, u), max(last, u)
	}
	p := newPlot(title, "", "sessions started")
	addGrid(p, false, true)
	hist := &plotter.Histogram{FillColor: colorBlue, LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.3)}}
	for u := first; u <= last; u += 3600 {
		hist.Bins = append(hist.Bins, plotter.HistogramBin{Min: float64(u), Max: float64(u + 3600), Weight: float64(counts[u])})
	}
	p.Add(hist)
	p.X.Tick.Marker = timeTicks{}
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	fixRange(&p.Y)
	p.Y.Max *= 1.05
	return p, nil
}

// timeTicks marks whole UTC hours or days on an axis of Unix seconds.
type timeTicks struct{}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	steps := []int64{3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 364 * 86400}
	span := hi - lo
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/float64(s) <= 8 {
			step = s
			break
		}
	}
	minor := step
	switch {
	case step >= 86400 && step < 28*86400:
		minor = 86400
	case step > 3600 && step < 86400:
		minor = 3600
	}
	var ticks []plot.Tick
	start := int64(math.Ceil(lo/float64(minor))) * minor
	for v := start; float64(v) <= hi; v += minor {
		t := plot.Tick{Value: float64(v)}
		if v%step == 0 {
			tm := time.Unix(v, 0).UTC()
			switch {
			case step < 86400 && tm.Hour() == 0:
				t.Label = tm.Format("Jan 2")
			case step < 86400:
				t.Label = tm.Format("15:04")
			default:
				t.Label = tm.Format("Jan 2")
			}
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep is the smallest of 1, 2, 5 times a power of ten not below x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// histogram bins values/scale into equal bins of width w from lo; values
// past cap go into the last bin, and clipped says whether any did.
func histogram(values valueCounts, scale, lo, w, cap float64) (bins []plotter.HistogramBin, clipped bool) {
	n := int(math.Ceil((cap - lo) / w))
	n = max(n, 1)
	bins = make([]plotter.HistogramBin, n)
	for i := range bins {
		bins[i] = plotter.HistogramBin{Min: lo + float64(i)*w, Max: lo + float64(i+1)*w}
	}
	for v, count := range values.ascending() {
		i := int(math.Floor((v/scale - lo) / w))
		if i >= n {
			i, clipped = n-1, true
		}
		bins[max(i, 0)].Weight += float64(count)
	}
	return bins, clipped
}

// p99 is the nearest-rank 99th percentile of values, where the histograms
// clip so that a few outliers do not squash every bar into the first.
func p99(values valueCounts) float64 {
	return atRanks(values, nearestRankIndex(values.total(), 0.99))[0]
}

func (r *Report) plotDurations(title string) (*plot.Plot, error) {
	cap := p99(r.durations) / 60
	if cap <= 0 {
		cap = atRanks(r.durations, r.durations.total()-1)[0] / 60
	}
	w := niceStep(math.Max(cap, 1) / 30)
	bins, clipped := histogram(r.durations, 60, 0, w, math.Max(cap, w))
	xLabel := fmt.Sprintf("minutes (bins of %g)", w)
	if clipped {
		xLabel += "; the last bin holds the longest 1%"
	}
	return histPlot(title, xLabel, bins, colorOrange)
}

func (r *Report) plotEvents(title string) (*plot.Plot, error) {
	cap := math.Max(p99(r.events), 2)
	w := math.Max(1, math.Round(niceStep(cap/30)))
	bins, clipped := histogram(r.events, 1, 0.5, w, cap+0.5)
	xLabel := "events"
	if w > 1 {
		xLabel = fmt.Sprintf("events (bins of %g)", w)
	}
	if clipped {
		xLabel += "; the last bin holds the busiest 1%"
	}
	p, err := histPlot(title, xLabel, bins, colorGreen)
	if err != nil {
		return nil, err
	}
	p.X.Tick.Marker = countTicks{}
	return p, nil
}

func histPlot(title, xLabel string, bins []plotter.HistogramBin, clr color.Color) (*plot.Plot, error) {
	p := newPlot(title, xLabel, "sessions")
	addGrid(p, false, true)
	p.Add(&plotter.Histogram{Bins: bins, FillColor: clr, LineStyle: draw.LineStyle{Color: color.White, Width: vg.Points(0.5)}})
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	fixRange(&p.Y)
	p.Y.Max *= 1.05
	return p, nil
}

// hbarChart is a horizontal bar chart, first name on top, each bar
// labelled with its count and share.
func hbarChart(title, xLabel string, names []string, values []float64, labels []string, clr color.Color) (*plot.Plot, error) {
	n := len(names)
	rn := make([]string, n)
	rv := make(plotter.Values, n)
	xys := make(plotter.XYs, n)
	rl := make([]string, n)
	var maxV float64
	for i := range names {
		j := n - 1 - i
		rn[j], rv[j], rl[j] = names[i], values[i], labels[i]
		xys[j] = plotter.XY{X: values[i], Y: float64(j)}
		maxV = math.Max(maxV, values[i])
	}
	p := newPlot(title, xLabel, "")
	addGrid(p, true, false)
	height := vg.Length(math.Min(26, 200/float64(max(n, 1))))
	bc, err := plotter.NewBarChart(rv, height)
	if err != nil {
		return nil, err
	}
	bc.Horizontal = true
	bc.Color = clr
	bc.LineStyle.Width = 0
	p.Add(bc)
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: rl})
	if err != nil {
		return nil, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font = font.From(chartFont, 9)
		lb.TextStyle[i].Color = colorText
		lb.TextStyle[i].YAlign = draw.YCenter
	}
	lb.Offset = vg.Point{X: 4}
	p.Add(lb)
	p.NominalY(rn...)
	p.X.Min = 0
	p.X.Max = math.Max(maxV, 1) * 1.3 // room for the labels
	p.X.Tick.Marker = countTicks{}
	return p, nil
}

func (r *Report) plotFunnel(title string) (*plot.Plot, error) {
	n := len(r.Funnel.Steps)
	names, values, labels := make([]string, n), make([]float64, n), make([]string, n)
	for i, s := range r.Funnel.Steps {
		names[i] = s.Step
		values[i] = float64(s.Sessions)
		labels[i] = fmt.Sprintf("%s  (%s of all, %s of previous)", num(s.Sessions), pct(s.ShareOfSessions), pct(s.ConversionFromPrevious))
	}
	p, err := hbarChart(title, "sessions reaching the step", names, values, labels, colorBlue)
	if err != nil {
		return nil, err
	}
	p.X.Max = math.Max(values[0], 1) * 1.75
	return p, nil
}

func (r *Report) plotPages(title string, pages []NameCount, clr color.Color) (*plot.Plot, error) {
	if len(pages) == 0 {
		return emptyPlot(title, "no pages"), nil
	}
	names, values, labels := make([]string, len(pages)), make([]float64, len(pages)), make([]string, len(pages))
	for i, pc := range pages {
		names[i] = truncate(pc.Name, 28)
		values[i] = float64(pc.Sessions)
		labels[i] = fmt.Sprintf("%s (%s)", num(pc.Sessions), pct(pc.Share))
	}
	return hbarChart(title, "sessions", names, values, labels, clr)
}

func (r *Report) plotEndReasons(title string) (*plot.Plot, error) {
	names, values, labels := make([]string, len(r.EndReasons)), make([]float64, len(r.EndReasons)), make([]string, len(r.EndReasons))
	for i, nc := range r.EndReasons {
		names[i] = truncate(nc.Name, 28)
		values[i] = float64(nc.Sessions)
		labels[i] = fmt.Sprintf("%s (%s)", num(nc.Sessions), pct(nc.Share))
	}
	return hbarChart(title, "sessions", names, values, labels, colorRed)
}

func (r *Report) plotPerUser(title string) (*plot.Plot, error) {
	bs := r.SessionsPerUser.Distribution
	names, values := make([]string, len(bs)), make([]float64, len(bs))
	for i, b := range bs {
		names[i] = b.Label
		values[i] = float64(b.Count)
	}
	return barChart(title, "sessions in the window", "users", names, values, colorPurple)
}

func truncate(s string, n int) string {
	if s == "" {
		return "(empty)"
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// funnelTitle lists the funnel's steps.
func (r *Report) funnelTitle() string {
	var names []string
	for _, s := range r.Funnel.Steps {
		names = append(names, s.Step)
	}
	return strings.Join(names, " → ")
}

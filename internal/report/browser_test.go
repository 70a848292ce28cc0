package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionize/sessionize/internal/batch"
)

// chromiumPath is Debian's chromium package (apt-get install -y chromium).
const chromiumPath = "/usr/bin/chromium"

// chartTitles are the charts the page must show, by id.
var chartTitles = map[string]string{
	"sessions-per-day":   "Sessions per day (UTC)",
	"sessions-per-hour":  "Sessions per hour (UTC)",
	"duration-histogram": "Session duration",
	"events-histogram":   "Events per session",
	"funnel":             "Funnel: home → search → results → details → booking → confirmation",
	"sessions-per-user":  "Sessions per user",
	"top-entry-pages":    "Top entry pages",
	"top-exit-pages":     "Top exit pages",
	"end-reasons":        "End reasons",
}

// synthetic makes n sessions of a travel site over days days, walking
// the funnel with drop-off, deterministic for a seed.
func synthetic(n, days int, seed uint64) []Session {
	rng := rand.New(rand.NewPCG(seed, 1))
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	out := make([]Session, n)
	for i := range out {
		var pages []string
		if rng.Float64() < 0.7 {
			pages = append(pages, "home")
		}
		for _, step := range FunnelSteps[1:] {
			if rng.Float64() < 0.25 {
				break
			}
			pages = append(pages, step)
			if rng.Float64() < 0.3 {
				pages = append(pages, "results")
			}
		}
		if len(pages) == 0 {
			pages = []string{"details"}
		}
		if rng.Float64() < 0.1 {
			pages = append(pages, "logout")
		}
		events := int64(len(pages))
		dur := 0.0
		if events > 1 {
			dur = math.Round(rng.ExpFloat64()*float64(events)*40*1000) / 1000
		}
		reason := "inactivity"
		switch {
		case dur > 7200:
			dur, reason = 7200, "max_duration"
		case rng.Float64() < 0.03:
			reason = "end_of_input"
		}
		// More sessions in the day than at night.
		hour := int64(rng.NormFloat64()*4+14+24) % 24
		ms := start + int64(rng.IntN(days))*86400_000 + hour*3600_000 + rng.Int64N(3600_000)
		out[i] = Session{
			SessionID: fmt.Sprintf("s%05d", i), UUID: fmt.Sprintf("u%04d", rng.IntN(n/3+1)),
			SessionStartTimeMs: ms, SessionEndTimeMs: ms + int64(dur*1000), SessionDurationSeconds: dur,
			EventCount: events, PagesVisited: pages, EntryPage: pages[0], ExitPage: pages[len(pages)-1], EndReason: reason,
		}
	}
	return out
}

type pageChart struct {
	ID     string  `json:"id"`
	SVGs   int     `json:"svgs"`
	Text   string  `json:"text"`
	Paths  int     `json:"paths"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

type pageState struct {
	Charts     []pageChart `json:"charts"`
	FontLoaded bool        `json:"fontLoaded"`
	Resources  []string    `json:"resources"`
	Title      string      `json:"title"`
	Tables     int         `json:"tables"`
}

const inspectPage = `(async () => {
	await document.fonts.ready;
	const charts = [...document.querySelectorAll('figure[data-chart]')].map(f => {
		const s = f.querySelector('svg');
		const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
		return {id: f.dataset.chart, svgs: f.querySelectorAll('svg').length, text: s ? s.textContent : '',
			paths: s ? s.querySelectorAll('path').length : 0, width: r.width, height: r.height};
	});
	const fontLoaded = [...document.fonts].some(f => f.family.replace(/"/g, '') === 'Liberation Sans' && f.status === 'loaded');
	return {charts, fontLoaded, resources: performance.getEntriesByType('resource').map(e => e.name),
		title: document.title, tables: document.querySelectorAll('table').length};
})()`

// TestHTMLInBrowser loads the page in headless Chromium, checks that every
// chart is there with its title and that the page loads nothing, and
// checks that the screenshot is not blank.
func TestHTMLInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing and CI is set: install Debian's chromium (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("skipping the browser test: %s not found (install it with: apt-get install -y chromium)", chromiumPath)
	}
	var browserLog bytes.Buffer
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&browserLog),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		t.Fatalf("start %s: %v\n%s", chromiumPath, err, browserLog.String())
	}

	win := Options{}
	win.From, _ = ParseFrom("2030-01-01")
	cases := []struct {
		name     string
		sessions []Session
		opts     Options
		minPaths int
	}{
		{"three-days", synthetic(3000, 3, 7), Options{}, 8},
		{"empty-window", synthetic(50, 1, 1), win, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := Compute(tc.sessions, tc.opts)
			r.Source = Source{Kind: "file", Location: "synthetic.jsonl", Format: ptr("jsonl")}
			sum := batchSummaryForTest
			sum.Sessions = r.Sessions
			r.Quality = summaryQuality(&sum, r.Sessions)
			page := filepath.Join(dir, "report.html")
			var buf bytes.Buffer
			if err := r.WriteHTML(&buf, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}

			tab, cancelTab := chromedp.NewContext(browserCtx)
			defer cancelTab()
			if err := chromedp.Do(tab, chromedp.Navigate("file://"+page), chromedp.WaitReady("figure[data-chart]")); err != nil {
				t.Fatalf("load %s: %v\n%s", page, err, browserLog.String())
			}
			st, err := chromedp.Run(tab, chromedp.Evaluate[pageState](inspectPage, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("inspect the page: %v", err)
			}
			if st.Title != "Session report" || st.Tables < 5 {
				t.Errorf("title %q, %d tables", st.Title, st.Tables)
			}
			if !st.FontLoaded {
				t.Errorf("the embedded Liberation Sans did not load")
			}
			for _, res := range st.Resources {
				if !strings.HasPrefix(res, "data:") && !strings.HasPrefix(res, "file:") {
					t.Errorf("the page loaded %s", res)
				}
			}
			seen := map[string]bool{}
			for _, c := range st.Charts {
				want, ok := chartTitles[c.ID]
				if !ok {
					t.Errorf("unexpected chart %q", c.ID)
					continue
				}
				seen[c.ID] = true
				if c.SVGs != 1 || c.Width < 300 || c.Height < 100 {
					t.Errorf("chart %s: %d svg, %.0fx%.0f px", c.ID, c.SVGs, c.Width, c.Height)
				}
				if !strings.Contains(c.Text, want) {
					t.Errorf("chart %s: title %q not in its text %q", c.ID, want, c.Text)
				}
				if c.Paths < tc.minPaths {
					t.Errorf("chart %s: %d paths, want at least %d", c.ID, c.Paths, tc.minPaths)
				}
				if tc.minPaths == 0 && !strings.Contains(c.Text, "no sessions in the window") {
					t.Errorf("chart %s of an empty window does not say so: %q", c.ID, c.Text)
				}
			}
			for id := range chartTitles {
				if !seen[id] {
					t.Errorf("chart %s is missing", id)
				}
			}

			shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot: %v", err)
			}
			saveScreenshot(t, dir, "report-"+tc.name+".png", shot)
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			stddev, colors, inked := pixelStats(img)
			b := img.Bounds()
			t.Logf("screenshot %dx%d: luminance stddev %.1f, %d colours, %.1f%% inked", b.Dx(), b.Dy(), stddev, colors, 100*inked)
			if b.Dx() < 1000 || b.Dy() < 1500 {
				t.Errorf("screenshot is %dx%d: the page did not lay out", b.Dx(), b.Dy())
			}
			if stddev < 10 || colors < 8 || inked < 0.02 {
				t.Errorf("screenshot looks blank: luminance stddev %.1f, %d colours, %.1f%% not background", stddev, colors, 100*inked)
			}
		})
	}
}

// batchSummaryForTest makes the quality section show numbers.
var batchSummaryForTest = batch.Summary{
	RecordsRead: 20000, Duplicates: 200, Rejected: 30, InvariantHolds: true,
	RejectedByReason: map[string]int64{"invalid_json": 20, "missing_uuid": 10},
}

func saveScreenshot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	dirs := []string{dir}
	if d := os.Getenv("SESSIONIZE_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", p)
	}
}

// pixelStats returns the standard deviation of luminance (0-255), the
// number of distinct colours (capped), and the share of pixels that differ
// from the most common colour (the background).
func pixelStats(img image.Image) (stddev float64, colors int, inked float64) {
	b := img.Bounds()
	var sum, sumSq, n float64
	counts := map[uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(bl)) / 257
			sum += l
			sumSq += l * l
			n++
			if len(counts) < 100000 {
				counts[(r>>8)<<16|(g>>8)<<8|bl>>8]++
			}
		}
	}
	mean := sum / n
	stddev = math.Sqrt(math.Max(0, sumSq/n-mean*mean))
	top := 0
	for _, c := range counts {
		top = max(top, c)
	}
	return stddev, len(counts), 1 - float64(top)/n
}

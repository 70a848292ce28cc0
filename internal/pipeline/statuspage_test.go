package pipeline

import (
	"bytes"
	"context"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionize/sessionize/internal/metrics"
)

const chromiumPath = "/usr/bin/chromium"

// pageFigures is what the status page shows, read from the DOM.
type pageFigures struct {
	Ready      string `json:"ready"`
	Sessions   string `json:"sessions"`
	Rate       string `json:"rate"`
	Open       string `json:"open"`
	Rejected   string `json:"rejected"`
	Partitions int    `json:"partitions"`
	Commits    int    `json:"commits"`
}

const readFigures = `(() => ({
  ready: document.getElementById("ready").textContent,
  sessions: document.getElementById("sessions").textContent,
  rate: document.getElementById("rate").textContent,
  open: document.getElementById("open").textContent,
  rejected: document.getElementById("rejected").textContent,
  partitions: document.querySelectorAll("#parts tbody tr").length,
  commits: document.querySelectorAll("#commits tbody tr").length,
}))()`

// TestStatusPageInBrowser loads the status page in headless Chromium while
// the job consumes records produced in waves: the figures appear, change
// between refreshes, and a screenshot is saved.
func TestStatusPageInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing and CI is set: install Debian's chromium (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("skipping the browser test: %s not found (install it with: apt-get install -y chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	b := startBroker(t, 3)
	lines, keys := generated(t, 30_000, 400, 11)
	cfg := runConfig(t, b, t.TempDir())
	cfg.StopWhenIdle = 0
	cfg.Drain = false
	cfg.Metrics = metrics.New(cfg.CommitInterval)
	srv := httptest.NewServer(cfg.Metrics.Handler())
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, cfg) }()
	defer func() {
		stopRun()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	produceLines(t, b, lines[:10_000], keys[:10_000])

	var browserLog bytes.Buffer
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900), chromedp.CombinedOutput(&browserLog))
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatalf("open the status page: %v\nbrowser: %s", err, browserLog.String())
	}
	read := func() pageFigures {
		t.Helper()
		f, err := chromedp.Run(tab, chromedp.Evaluate[pageFigures](readFigures))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return f
	}
	waitFor := func(what string, ok func(pageFigures) bool) pageFigures {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			f := read()
			if ok(f) {
				return f
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page never showed %s: %+v", what, f)
			}
		}
	}
	first := waitFor("the first figures", func(f pageFigures) bool {
		return f.Sessions != "-" && f.Sessions != "0" && f.Partitions == 3 && f.Commits > 0 && strings.HasPrefix(f.Ready, "ready")
	})
	produceLines(t, b, lines[10_000:], keys[10_000:])
	second := waitFor("figures changing", func(f pageFigures) bool { return f.Sessions != first.Sessions && f.Commits >= first.Commits })
	time.Sleep(4 * cfg.CommitInterval) // idle: nothing to commit is still ready
	if f := read(); !strings.HasPrefix(f.Ready, "ready") {
		t.Fatalf("an idle job shows %q", f.Ready)
	}
	t.Logf("status page: first %+v, later %+v", first, second)

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	colours := map[uint32]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colours) < 20 {
		t.Fatalf("the screenshot looks blank: %d colours", len(colours))
	}
	for _, dir := range []string{t.TempDir(), os.Getenv("SESSIONIZE_SCREENSHOT_DIR")} {
		if dir != "" {
			os.WriteFile(filepath.Join(dir, "status-page.png"), shot, 0o644)
		}
	}
}

package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/sandbox"
)

// One headless Chromium serves every browser test of this binary; each test
// gets its own browser context (separate cookies) and tab.
var browser struct {
	once   sync.Once
	ctx    context.Context // the first tab, which owns the browser
	cancel context.CancelFunc
	dir    string
	err    error
}

func TestMain(m *testing.M) {
	sandbox.Dispatch() // runs' OpenTofu starts through this binary
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
		// Chromium's children may still write to the profile for a moment.
		for range 50 {
			if os.RemoveAll(browser.dir) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Exit(code)
}

// chromiumPath finds Debian's chromium (or another Chrome build).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// tabTimeout bounds a test's use of its tab (tab).
const tabTimeout = 5 * time.Minute

// tab returns a fresh browser context for one test, or skips the test when
// Chromium is missing outside CI (in CI the browser tests must run).
func tab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; scripts/test.sh installs it (apt-get install chromium)")
		}
		t.Skip("browser tests skipped: chromium is not installed (scripts/test.sh installs it; CI requires it)")
	}
	browser.once.Do(func() { startBrowser(path) })
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	// A bound on the whole test's browsing, not on one step: the page
	// checks of the longest test take over 20 s on a quiet machine and
	// several times that on a loaded one. It ends before the test binary's
	// own deadline, so that a hung browser fails its test by name.
	deadline := time.Now().Add(tabTimeout)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(deadline) {
		deadline = d.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(browser.ctx, deadline)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	return ctx
}

func startBrowser(path string) {
	browser.dir, browser.err = os.MkdirTemp("", "hoist-chromium-")
	if browser.err != nil {
		return
	}
	// The background-networking flags keep Chromium from calling out to the
	// internet, which a closed network answers slowly or not at all.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(browser.dir),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("font-render-hinting", "none"),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	browser.ctx = ctx
	browser.cancel = func() { cancelCtx(); cancelAlloc() }
	browser.err = chromedp.Do(ctx) // starts the browser, without a timeout
}

// tabT wraps a tab with helpers that fail the test.
type tabT struct {
	t   *testing.T
	ctx context.Context
}

func (x tabT) do(steps ...chromedp.Action[chromedp.Void]) {
	x.t.Helper()
	if err := chromedp.Do(x.ctx, steps...); err != nil {
		x.t.Fatalf("browser: %v (at %s)", err, x.location())
	}
}

// click clicks sel and waits for the page it loads.
func (x tabT) click(sel string) {
	x.t.Helper()
	if _, err := chromedp.Run(x.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		x.t.Fatalf("click %s: %v (at %s)", sel, err, x.location())
	}
}

func (x tabT) location() string {
	loc, err := chromedp.Run(x.ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

func (x tabT) path() string {
	x.t.Helper()
	loc := x.location()
	if i := strings.Index(loc, "://"); i >= 0 {
		if j := strings.Index(loc[i+3:], "/"); j >= 0 {
			return loc[i+3+j:]
		}
	}
	return loc
}

func (x tabT) text(sel string) string {
	x.t.Helper()
	s, err := chromedp.Run(x.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		x.t.Fatalf("text of %s: %v (at %s)", sel, err, x.location())
	}
	return s
}

func (x tabT) value(sel string) string {
	x.t.Helper()
	s, err := chromedp.Run(x.ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		x.t.Fatalf("value of %s: %v", sel, err)
	}
	return s
}

// count counts the elements matching a CSS selector right now.
func (x tabT) count(sel string) int {
	x.t.Helper()
	n, err := chromedp.Run(x.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		x.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func (x tabT) navigate(path string, base string) {
	x.t.Helper()
	x.do(chromedp.Navigate(base + path))
}

// login fills the login form and submits it.
func (x tabT) login(base, username, password string) {
	x.t.Helper()
	x.navigate("/login", base)
	x.do(chromedp.SendKeys(chromedp.ID("username"), username), chromedp.SendKeys(chromedp.ID("password"), password))
	x.click("form[action='/login'] button.primary")
}

// screenshot saves the page at 1280 and 390 px wide into
// testout/screenshots (git-ignored) for people to look at.
func (x tabT) screenshot(name string) {
	x.t.Helper()
	dir := filepath.Join(apptest.RepoRoot(), "testout", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		x.t.Fatal(err)
	}
	for _, w := range []int64{1280, 390} {
		x.do(chromedp.EmulateViewport(w, 900))
		png, err := chromedp.Run(x.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			x.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), png, 0o644); err != nil {
			x.t.Fatal(err)
		}
	}
	x.do(chromedp.EmulateViewport(1280, 900))
}

package app_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/metrics/metricstest"
)

// TestMetricsMoveWithTraffic is the acceptance test of issue 16's
// metrics: a push through the GitLab simulator makes a delivery, a run
// with real OpenTofu and GitLab writes, and the scrape of
// --metrics-listen, parsed with Prometheus' text parser, shows each.
func TestMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	h := runsSetup(t, func(c *app.Config) { c.MetricsListen = "127.0.0.1:0" })
	if h.App.MetricsURL() == "" {
		t.Fatal("no metrics URL with --metrics-listen")
	}
	scrapeURL := h.App.MetricsURL() + "/metrics"
	if got := metricstest.Status(t, h.App.URL()+"/metrics", ""); got != http.StatusNotFound {
		t.Errorf("GET /metrics on the main listener without --metrics-key-file = %d, want 404", got)
	}
	before := metricstest.Scrape(t, scrapeURL, "")

	sha := h.push("main", map[string]string{"infra/main.tf": infraTF("metrics")})
	r := h.waitState(h.waitRunAt("web", sha, "TRACKED").ID, "UNCONFIRMED")
	h.Must(http.StatusOK, "POST", "/api/v1/runs/"+r.ID+"/confirm", h.AdminKey, nil)
	h.waitState(r.ID, "FINISHED")
	waitGitLab(t, "the final commit status", func() bool { return statusOf(t, h.Sim, sha, "hoist/web").State == "success" })
	// The database's gauges are read at most once a second
	// (metrics.DefaultStateMaxAge): a scrape may serve the reading of the
	// one before for that long.
	var after metricstest.Families
	apptest.Eventually(t, 10*time.Second, "a scrape with the finished run", func() bool {
		after = metricstest.Scrape(t, scrapeURL, "")
		return after.Value("hoist_runs", "state", "FINISHED") > 0
	})

	for _, tc := range []struct {
		name  string
		match []string
	}{
		{"hoist_webhook_deliveries_total", []string{"event", "Push Hook", "outcome", "accepted"}},
		{"hoist_webhook_intake_seconds", nil},
		{"hoist_webhook_processings_total", []string{"event", "Push Hook", "outcome", "processed"}},
		{"hoist_run_phase_seconds", []string{"phase", "QUEUED"}},
		{"hoist_run_phase_seconds", []string{"phase", "PLANNING"}},
		{"hoist_run_phase_seconds", []string{"phase", "UNCONFIRMED"}},
		{"hoist_run_phase_seconds", []string{"phase", "APPLYING"}},
		{"hoist_gitlab_writes_total", []string{"kind", "status", "outcome", "done"}},
		{"hoist_gitlab_write_seconds", []string{"kind", "status"}},
		{"hoist_runs", []string{"state", "FINISHED"}},
	} {
		if b, a := before.Value(tc.name, tc.match...), after.Value(tc.name, tc.match...); a <= b {
			t.Errorf("%s%v went from %v to %v; want it to grow with the traffic", tc.name, tc.match, b, a)
		}
	}
	// The gauges read at scrape time are plausible: one run, finished; the
	// delivery's job is done.
	if got := after.Value("hoist_runs"); got != 1 {
		t.Errorf("hoist_runs sums to %v, want the 1 run", got)
	}
	if got := after.Value("hoist_jobs_queued"); got != 0 {
		t.Errorf("hoist_jobs_queued = %v after the delivery was processed", got)
	}
	if age := after.Value("hoist_gitlab_writes_oldest_age_seconds"); age < 0 || age > 600 {
		t.Errorf("hoist_gitlab_writes_oldest_age_seconds = %v", age)
	}
	if after.Value("go_sql_max_open_connections", "db_name", "write") < 1 || after.Value("go_goroutines") < 1 {
		t.Error("the database pool or Go runtime metrics are missing")
	}
	checkDocumented(t, after)
}

// checkDocumented: every hoist_* metric served is in docs/metrics.md, and
// every metric the sample Grafana dashboard queries is documented there or
// served (go_*, process_*).
func checkDocumented(t *testing.T, scraped metricstest.Families) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`(hoist_[a-z_]+)").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	for name := range scraped {
		if strings.HasPrefix(name, "hoist_") && !documented[name] {
			t.Errorf("%s is served but not in docs/metrics.md", name)
		}
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || len(dash.Panels) < 8 {
		t.Fatalf("dashboard %q has %d panels", dash.Title, len(dash.Panels))
	}
	metricName := regexp.MustCompile(`\b(?:hoist|go|process)_[a-z_]+`)
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			names := metricName.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
				if !documented[family] && scraped[family] == nil {
					t.Errorf("panel %q queries %s, which is neither documented nor served", p.Title, n)
				}
			}
		}
	}
}

// TestMetricsBehindAKeyOnTheMainListener: with --metrics-key-file and no
// --metrics-listen, /metrics is on the main listener for the key alone.
func TestMetricsBehindAKeyOnTheMainListener(t *testing.T) {
	t.Parallel()
	const key = "a-long-enough-metrics-key"
	keyFile := filepath.Join(t.TempDir(), "metrics.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := setup(t, func(c *app.Config) { c.MetricsKeyFile = keyFile })
	if h.App.MetricsURL() != "" {
		t.Errorf("MetricsURL = %q without --metrics-listen", h.App.MetricsURL())
	}
	url := h.App.URL() + "/metrics"
	for _, k := range []string{"", "wrong", key + "x"} {
		if got := metricstest.Status(t, url, k); got != http.StatusUnauthorized {
			t.Errorf("GET /metrics with key %q = %d, want 401", k, got)
		}
	}
	f := metricstest.Scrape(t, url, key)
	if f["hoist_runs"] == nil || f["go_goroutines"] == nil {
		t.Errorf("the keyed scrape lacks metrics: %d families", len(f))
	}

	// A key too short to protect anything, and a file no key is as large
	// as (read only up to the secret-file bound), both stop the start.
	for name, content := range map[string]string{"short": "short\n", "huge": strings.Repeat("k", 1<<20)} {
		path := filepath.Join(t.TempDir(), name+".key")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := h.Config
		cfg.DataDir, cfg.Listen, cfg.MetricsKeyFile = t.TempDir(), "127.0.0.1:0", path
		if srv, err := app.Start(t.Context(), cfg); err == nil {
			srv.Close()
			t.Errorf("a server started with the %s metrics key file", name)
		}
	}
}

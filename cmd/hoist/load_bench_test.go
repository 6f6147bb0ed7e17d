package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/metrics"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/store/dbtest"
)

// Sustained webhook load (issue 16, acceptance 3); docs/benchmarks.md has
// the commands and the figures.
const (
	// loadStacks is the number of stacks on the loaded repository; each
	// delivery touches one of them.
	loadStacks = 20
	// loadSenders is the number of concurrent webhook senders.
	loadSenders = 16
	// gitLabLatency is how long the GitLab stand-in takes for every call.
	gitLabLatency = 5 * time.Millisecond
	// drainBound bounds the wait for the backlog once sending stopped.
	drainBound = 15 * time.Minute
	// drainPoll is how often the drain is checked: the resolution of
	// drain-s and statuses-drain-s.
	drainPoll = 250 * time.Millisecond
)

// loadDuration is how long the senders send: $HOIST_BENCH_LOAD (a Go
// duration; the documented figures use 60s), default 10 s.
func loadDuration(b *testing.B) time.Duration {
	v := os.Getenv("HOIST_BENCH_LOAD")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("HOIST_BENCH_LOAD: %v", err)
	}
	return d
}

// BenchmarkSustainedWebhookLoad runs the real hoist binary (SQLite, no
// workers: runs stay QUEUED) against a GitLab stand-in that answers every
// call after 5 ms, sends it unique GitLab push and merge request webhooks
// from 16 senders for $HOIST_BENCH_LOAD, and waits until every accepted
// delivery is processed and every pending commit status written. Run it
// with -benchtime 1x: one iteration is one whole load. It reports
//   - intake/s: deliveries acknowledged (202) per second of sending, while
//     processing runs;
//   - processed/s: deliveries processed (their job finished, their runs
//     and outbox writes committed) per second, from the first send until
//     the last one was processed;
//   - statuses/s: pending commit statuses GitLab acknowledged, per second
//     over the same span (until the last status);
//   - drain-s: from the end of sending until the last delivery was
//     processed; statuses-drain-s likewise for the statuses;
//   - backlog-max: the most deliveries waiting, seen at the 1 s samples;
//   - peak-rss-MiB: the server's VmHWM; peak-anon-MiB: the largest RssAnon
//     sampled (without the binary's file pages).
func BenchmarkSustainedWebhookLoad(b *testing.B) {
	loadBench(b, 1, nil)
}

// BenchmarkSustainedWebhookLoadThreeReplicas is the same load spread
// round-robin by the senders over three servers on one PostgreSQL
// database ($HOIST_TEST_POSTGRES); the figures sum the servers' counters,
// and peak-rss-MiB is the largest server's.
func BenchmarkSustainedWebhookLoadThreeReplicas(b *testing.B) {
	loadBench(b, 3, nil)
}

// loadBench runs the load against n servers started with extra flags
// (one: SQLite; more: PostgreSQL).
func loadBench(b *testing.B, n int, extra []string) {
	if testing.Short() {
		b.Skip("builds and runs the hoist binary")
	}
	// $HOIST_BENCH_FLAGS adds server flags, e.g. "--webhook-workers 32".
	extra = append(extra, strings.Fields(os.Getenv("HOIST_BENCH_FLAGS"))...)
	l := setupLoad(b, n, extra)
	for b.Loop() {
		l.run(b, loadDuration(b))
	}
}

// load is the servers loaded by the benchmark.
type load struct {
	srvs        []*apptest.Process
	metricsURLs []string
	secret      string
	projectID   int64
	project     string
	pushT, mrT  []byte // GitLab's documented payloads, templates (see delivery)
	standIn     *standIn
	seq         atomic.Int64 // makes every delivery unique across iterations
}

func setupLoad(b *testing.B, n int, extra []string) *load {
	b.Helper()
	var db string
	if n > 1 {
		db = dbtest.PostgresURL(b) // skips without HOIST_TEST_POSTGRES
	}
	sim, simURL := apptest.StartGitLab(b)
	files := map[string]string{}
	for i := range loadStacks {
		files[fmt.Sprintf("stacks/s%02d/main.tf", i)] = "\n"
	}
	token := infraProject(b, sim, gitlabsim.UserOptions{Username: "hoist-bot"}, files)
	si := newStandIn(b, simURL)

	l := &load{project: "acme/infra", standIn: si}
	dirs := make([]string, n)
	for i := range n {
		dirs[i] = b.TempDir()
		listen := "127.0.0.1:0"
		if db != "" {
			listen = freePort(b)
		}
		args := []string{"server", "--listen", listen, "--data-dir", dirs[i], "--worker-slots", "0",
			"--metrics-listen", "127.0.0.1:0"}
		if db != "" {
			// Replicas: one database, one encryption key (the first
			// server's, written before the others start), each reachable
			// by the others.
			args = append(args, "--advertise-url", "http://"+listen, "--database-url", db)
			if i > 0 {
				copyFile(b, filepath.Join(dirs[0], secret.KeyFileName), filepath.Join(dirs[i], secret.KeyFileName))
			}
		}
		srv, metricsURL := startLoaded(b, append(args, extra...))
		l.srvs, l.metricsURLs = append(l.srvs, srv), append(l.metricsURLs, metricsURL)
	}
	srv := l.srvs[0]
	var key string
	key, l.secret = defaultIntegration(b, srv, dirs[0], si, token)
	for i := range loadStacks {
		var st struct {
			ProjectID int64 `json:"project_id"`
		}
		srv.Must(http.StatusCreated, "POST", "/api/v1/stacks", key, map[string]any{"name": fmt.Sprintf("s%02d", i), "space": "root",
			"repository": l.project, "branch": "main", "project_root": fmt.Sprintf("stacks/s%02d", i)}).Decode(b, &st)
		l.projectID = st.ProjectID
	}
	var err error
	if l.pushT, l.mrT, err = l.templates(readPayload(b, "push.json"), readPayload(b, "merge_request.json")); err != nil {
		b.Fatal(err)
	}
	return l
}

// startLoaded starts a loaded server with args (which must include
// --metrics-listen) and returns it and its metrics URL.
func startLoaded(b *testing.B, args []string) (*apptest.Process, string) {
	b.Helper()
	srv := apptest.StartBinary(b, apptest.Command{Args: args})
	_, line, _ := strings.Cut(srv.WaitOutput("Prometheus metrics at "), "Prometheus metrics at ")
	return srv, strings.Fields(line)[0]
}

// defaultIntegration creates the default GitLab integration of srv (data
// dir dir) on the stand-in with token; it returns the admin API key and
// the integration's webhook secret.
func defaultIntegration(b *testing.B, srv *apptest.Process, dir string, si *standIn, token string) (key, secret string) {
	b.Helper()
	keyBytes, err := os.ReadFile(filepath.Join(dir, "admin-api-key"))
	if err != nil {
		b.Fatal(err)
	}
	key = strings.TrimSpace(string(keyBytes))
	var in struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	srv.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", key, map[string]any{"name": "GitLab", "is_default": true,
		"api_host": si.srv.URL, "token": token}).Decode(b, &in)
	return key, in.WebhookSecret
}

func readPayload(b *testing.B, name string) map[string]any {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), "internal", "vcs", "gitlab", "testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	return m
}

// loadSHA is delivery n's head commit; stackOf(sha) is the stack its
// change touches.
func loadSHA(n int64) string {
	sum := sha1.Sum(fmt.Appendf(nil, "load %d", n))
	return hex.EncodeToString(sum[:])
}

func stackOf(sha string) int {
	v, _ := strconv.ParseUint(sha[:4], 16, 32)
	return int(v) % loadStacks
}

// Placeholders in the payload templates, replaced per delivery; a
// numeric one is written as a JSON string and replaced with its quotes.
const (
	phRef    = "@@ref@@"
	phBefore = "@@before@@"
	phSHA    = "@@sha@@"
	phIID    = "@@iid@@"
	phBranch = "@@branch@@"
)

// templates returns GitLab's documented push and merge request payloads
// for the load's project, marshalled once with placeholders where
// deliveries differ (a sender's json.Marshal of the whole payload per
// request cost the benchmark process about a tenth of its CPU).
func (l *load) templates(push, mr map[string]any) (pushT, mrT []byte, err error) {
	proj := map[string]any{"id": l.projectID, "path_with_namespace": l.project, "default_branch": "main",
		"name": "infra", "namespace": "acme"}
	p := clonePayload(push)
	p["ref"], p["before"], p["after"], p["checkout_sha"] = phRef, phBefore, phSHA, phSHA
	p["project_id"], p["project"] = l.projectID, proj
	if pushT, err = json.Marshal(p); err != nil {
		return nil, nil, err
	}
	m := clonePayload(mr)
	m["project"] = proj
	a := m["object_attributes"].(map[string]any)
	a["iid"], a["id"] = phIID, phIID
	a["source_branch"], a["target_branch"] = phBranch, "main"
	a["source_project_id"], a["target_project_id"] = l.projectID, l.projectID
	a["last_commit"].(map[string]any)["id"] = phSHA
	mrT, err = json.Marshal(m)
	return pushT, mrT, err
}

// delivery returns delivery n: even ones are pushes (GitLab's documented
// push: 4 commits, 2 listed, so the change comes from the compare API) to
// one of 64 feature branches, odd ones merge request openings (the change
// comes from the MR diffs API).
func (l *load) delivery(n int64) (event string, body []byte) {
	sha := loadSHA(n)
	if n%2 == 0 {
		return "Push Hook", fill(l.pushT, phRef, fmt.Sprintf("refs/heads/feature-%d", n%64),
			phBefore, loadSHA(n-2), phSHA, sha)
	}
	iid := strconv.FormatInt(n, 10)
	return "Merge Request Hook", fill(l.mrT, `"`+phIID+`"`, iid, phBranch, "mr-"+iid, phSHA, sha)
}

// fill replaces each placeholder of kv (placeholder, value, …) in t.
func fill(t []byte, kv ...string) []byte {
	out := t
	for i := 0; i < len(kv); i += 2 {
		out = bytes.ReplaceAll(out, []byte(kv[i]), []byte(kv[i+1]))
	}
	return out
}

// clonePayload copies the top level and object_attributes (the parts
// delivery changes).
func clonePayload(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	if a, ok := m["object_attributes"].(map[string]any); ok {
		c := make(map[string]any, len(a))
		for k, v := range a {
			c[k] = v
		}
		if lc, ok := a["last_commit"].(map[string]any); ok {
			lcc := make(map[string]any, len(lc))
			for k, v := range lc {
				lcc[k] = v
			}
			c["last_commit"] = lcc
		}
		out["object_attributes"] = c
	}
	return out
}

// sample is what the server's metrics and /proc said at one moment.
type sample struct {
	at        time.Time
	processed int64 // hoist_webhook_processings_total{outcome="processed"}
	statuses  int64 // hoist_gitlab_writes_total{kind="status",outcome="done"}
	queued    int64 // hoist_jobs_queued{kind="webhook.process"}
	// writesOpen is hoist_gitlab_writes_open{kind="status"}, summed.
	writesOpen float64
	rssKiB     int64
	anonKiB    int64 // RssAnon: the RSS without the binary's file pages
}

func (l *load) run(b *testing.B, d time.Duration) {
	start0 := l.scrape(b)
	statuses0 := l.standIn.statuses.Load()
	cpu0, ownCPU0 := l.cpuTicks(b), procCPUTicks(b, os.Getpid())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadSenders}}
	defer client.CloseIdleConnections()
	var accepted, refused atomic.Int64
	var samples []sample
	sampleDone := make(chan struct{})
	stopSampling := make(chan struct{})
	go func() { // one sample a second, until told to stop
		defer close(sampleDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				samples = append(samples, l.scrape(b))
			}
		}
	}()

	simulated0 := l.standIn.simulated.Load()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range loadSenders {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				n := l.seq.Add(1)
				event, body := l.delivery(n)
				srv := l.srvs[int(n)%len(l.srvs)] // round-robin over the servers
				req, _ := http.NewRequest("POST", srv.URL+"/webhooks/gitlab/gitlab", bytes.NewReader(body))
				req.Header.Set("X-Gitlab-Event", event)
				req.Header.Set("X-Gitlab-Token", l.secret)
				req.Header.Set("X-Gitlab-Event-UUID", fmt.Sprintf("load-%d", n))
				resp, err := client.Do(req)
				if err != nil {
					refused.Add(1)
					continue
				}
				// Read to the end, or the connection is closed instead of
				// reused: a new TCP connection per delivery costs both sides.
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					accepted.Add(1)
				} else {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	sent := time.Since(start)
	acc := accepted.Load()

	// Drain: every accepted delivery processed, and every status the
	// stand-in will see written (the count stops moving with nothing open).
	var drained, statusesDone time.Time
	bound := time.Now().Add(drainBound)
	for {
		s := l.scrape(b)
		if drained.IsZero() && s.processed-start0.processed >= acc {
			drained = s.at
		}
		// The gauge may be up to a second old (a server reads its backlogs
		// at most once a second, metrics.DefaultStateMaxAge): it counts
		// once it was read after the drain, and the time is the last
		// status's own.
		if !drained.IsZero() && s.at.Sub(drained) > metrics.DefaultStateMaxAge && s.writesOpen == 0 {
			statusesDone = time.Unix(0, l.standIn.lastStatus.Load())
			if statusesDone.Before(start) { // none this run
				statusesDone = s.at
			}
			break
		}
		if time.Now().After(bound) {
			b.Fatalf("not drained after %s: %d of %d processed", drainBound, s.processed-start0.processed, acc)
		}
		// Every scrape makes each server count its backlogs in the
		// database: polled faster, the benchmark measures its own polling.
		time.Sleep(drainPoll)
	}
	close(stopSampling)
	<-sampleDone
	// A few calls are the server's own checks (its token's); a call per
	// delivery or so is a hot call the stand-in should answer.
	if n := l.standIn.simulated.Load() - simulated0; n > acc/100 {
		b.Fatalf("%d GitLab calls under load went to the simulator: answer them in the stand-in", n)
	} else if n > 0 {
		b.Logf("%d GitLab calls went to the simulator", n)
	}
	end := l.scrape(b)
	processed := end.processed - start0.processed
	statuses := l.standIn.statuses.Load() - statuses0
	var backlog, anon int64
	for _, s := range append(samples, end) {
		backlog, anon = max(backlog, s.queued), max(anon, s.anonKiB)
	}
	b.ReportMetric(float64(acc)/sent.Seconds(), "intake/s")
	b.ReportMetric(float64(processed)/drained.Sub(start).Seconds(), "processed/s")
	b.ReportMetric(float64(statuses)/statusesDone.Sub(start).Seconds(), "statuses/s")
	b.ReportMetric(drained.Sub(start.Add(sent)).Seconds(), "drain-s")
	b.ReportMetric(statusesDone.Sub(start.Add(sent)).Seconds(), "statuses-drain-s")
	b.ReportMetric(float64(backlog), "backlog-max")
	b.ReportMetric(float64(l.hwmKiB(b))/1024, "peak-rss-MiB")
	// The kernel keeps no peak of RssAnon: the largest of the samples (one
	// a second). VmHWM also counts the binary's pages mapped from the page
	// cache (30 – 45 MiB, more for a binary just written).
	b.ReportMetric(float64(anon)/1024, "peak-anon-MiB")
	b.ReportMetric(float64(acc), "deliveries")
	// The servers' CPU (user + system) over the whole run, per delivery
	// processed: intake, processing and the status write-back together.
	// Less noisy than the rates on a shared machine.
	b.ReportMetric(float64(l.cpuTicks(b)-cpu0)*1000/clockTicks/float64(max(processed, 1)), "server-cpu-ms/delivery")
	// This process's: the senders, the GitLab stand-in and the scrapes,
	// which share the machine with the servers.
	b.ReportMetric(float64(procCPUTicks(b, os.Getpid())-ownCPU0)*1000/clockTicks/float64(max(processed, 1)), "load-cpu-ms/delivery")
	b.ReportMetric(float64(statuses), "statuses")
	if r := refused.Load(); r > 0 {
		b.Logf("%d deliveries not accepted", r)
	}
	b.Logf("sent %s: %d accepted; processed %d; %d statuses; %d GitLab reads; samples (s, processed, statuses, queued, RSS MiB):",
		sent.Round(time.Millisecond), acc, processed, statuses, l.standIn.reads.Load())
	for _, s := range samples {
		b.Logf("  %5.1f %7d %7d %7d %5d", s.at.Sub(start).Seconds(), s.processed-start0.processed,
			s.statuses-start0.statuses, s.queued, s.rssKiB/1024)
	}
}

// scrape reads the servers' counters (summed), the job backlog (the
// largest a server reports: it is the database's) and RSS (the largest).
func (l *load) scrape(b *testing.B) sample {
	b.Helper()
	s := sample{at: time.Now()}
	for i, url := range l.metricsURLs {
		m := scrapeMetrics(b, url)
		s.rssKiB = max(s.rssKiB, procStatus(b, l.srvs[i].Pid(), "VmRSS"))
		s.anonKiB = max(s.anonKiB, procStatus(b, l.srvs[i].Pid(), "RssAnon"))
		s.processed += int64(m[`hoist_webhook_processings_total{event="Merge Request Hook",integration="gitlab",outcome="processed"}`] +
			m[`hoist_webhook_processings_total{event="Push Hook",integration="gitlab",outcome="processed"}`])
		s.statuses += int64(m[`hoist_gitlab_writes_total{kind="status",outcome="done"}`])
		s.queued = max(s.queued, int64(m[`hoist_jobs_queued{kind="webhook.process"}`]))
		s.writesOpen += m[`hoist_gitlab_writes_open{kind="status"}`]
	}
	return s
}

// hwmKiB is the largest peak RSS of the servers.
func (l *load) hwmKiB(b *testing.B) int64 {
	var hwm int64
	for _, srv := range l.srvs {
		hwm = max(hwm, procStatus(b, srv.Pid(), "VmHWM"))
	}
	return hwm
}

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ,
// 100 on Linux).
const clockTicks = 100

// cpuTicks is the servers' user + system CPU time so far, summed.
func (l *load) cpuTicks(b *testing.B) int64 {
	b.Helper()
	var sum int64
	for _, srv := range l.srvs {
		sum += procCPUTicks(b, srv.Pid())
	}
	return sum
}

// procCPUTicks is a process's user + system CPU time so far.
func procCPUTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command (field 2) may hold spaces: count from its ")".
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return utime + stime
}

// copyFile copies a small file (a key), owner-only.
func copyFile(b *testing.B, from, to string) {
	b.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		b.Fatal(err)
	}
}

// scrapeMetrics reads a server's Prometheus text, series → value.
func scrapeMetrics(b *testing.B, url string) map[string]float64 {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// procStatus reads a field of /proc/<pid>/status, in KiB.
func procStatus(b *testing.B, pid int, field string) int64 {
	b.Helper()
	n, err := procStatusErr(pid, field)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// procStatusErr is procStatus for goroutines other than the benchmark's.
func procStatusErr(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// standIn is the GitLab the loaded server talks to: every call waits
// gitLabLatency, then the hot calls of processing (compare, merge request
// diffs, commit statuses and the look-up of a finished one, notes and the
// look-up of Hoist's own) are answered here in GitLab's documented
// shapes, with the files of the stack the commit's SHA names, and
// everything else (the token and project checks of the set-up) goes to
// the simulator. The simulator itself checks every status's commit with a
// git process and rewrites its whole state file on every write: under
// this load it would measure itself, not Hoist.
type standIn struct {
	srv             *httptest.Server
	statuses, reads atomic.Int64
	// simulated counts the calls passed on to the simulator: hot calls of
	// processing among them would measure the simulator (a git process
	// per call), not Hoist; the benchmark fails then.
	simulated atomic.Int64
	ids       atomic.Int64
	// lastStatus is when the last commit status was answered (UnixNano).
	lastStatus atomic.Int64
	// diffs is what a compare up to a commit changed; set before the first
	// call. Default: one file of the stack stackOf names.
	diffs func(sha string) []standInDiff
}

func newStandIn(b *testing.B, simURL string) *standIn {
	u, err := url.Parse(simURL)
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	s := &standIn{diffs: func(sha string) []standInDiff { return diffsFor(stackOf(sha)) }}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/projects/{id}/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		s.statuses.Add(1)
		defer func() { s.lastStatus.Store(time.Now().UnixNano()) }()
		_ = r.ParseForm()
		standInJSON(w, http.StatusCreated, standInStatus{ID: s.ids.Add(1), SHA: r.PathValue("sha"), Ref: r.Form.Get("ref"),
			Status: r.Form.Get("state"), Name: r.Form.Get("name"), TargetURL: r.Form.Get("target_url"),
			Description: r.Form.Get("description"), CreatedAt: time.Now().UTC()})
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/commits/{sha}/statuses", func(w http.ResponseWriter, r *http.Request) {
		// Hoist looks for a finished status (a canceled run's) before
		// posting it: every commit here is new, so GitLab lists none.
		s.reads.Add(1)
		standInJSON(w, http.StatusOK, []any{})
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/repository/compare", func(w http.ResponseWriter, r *http.Request) {
		s.reads.Add(1)
		standInJSON(w, http.StatusOK, standInCompare{Commits: []struct{}{}, Diffs: s.diffs(r.URL.Query().Get("to"))})
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/merge_requests/{iid}/diffs", func(w http.ResponseWriter, r *http.Request) {
		s.reads.Add(1)
		iid, _ := strconv.ParseInt(r.PathValue("iid"), 10, 64)
		standInJSON(w, http.StatusOK, diffsFor(stackOf(loadSHA(iid))))
	})
	mux.HandleFunc("GET /api/v4/projects/{id}/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		// Hoist looks for its own note before writing one: every merge
		// request here is new, so there is none.
		s.reads.Add(1)
		standInJSON(w, http.StatusOK, []any{})
	})
	mux.HandleFunc("POST /api/v4/projects/{id}/merge_requests/{iid}/notes", func(w http.ResponseWriter, r *http.Request) {
		standInJSON(w, http.StatusCreated, standInNote{ID: s.ids.Add(1)})
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.simulated.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(gitLabLatency)
		mux.ServeHTTP(w, r)
	}))
	b.Cleanup(s.srv.Close)
	return s
}

// The stand-in's answers, in GitLab's documented shapes; structs, not
// maps, because encoding a map sorts its keys on every answer.
type (
	standInStatus struct {
		ID           int64     `json:"id"`
		SHA          string    `json:"sha"`
		Ref          string    `json:"ref"`
		Status       string    `json:"status"`
		Name         string    `json:"name"`
		TargetURL    string    `json:"target_url"`
		Description  string    `json:"description"`
		CreatedAt    time.Time `json:"created_at"`
		AllowFailure bool      `json:"allow_failure"`
	}
	standInCompare struct {
		Commit         *struct{}     `json:"commit"`
		Commits        []struct{}    `json:"commits"`
		CompareTimeout bool          `json:"compare_timeout"`
		CompareSameRef bool          `json:"compare_same_ref"`
		Diffs          []standInDiff `json:"diffs"`
	}
	standInDiff struct {
		OldPath     string `json:"old_path"`
		NewPath     string `json:"new_path"`
		AMode       string `json:"a_mode"`
		BMode       string `json:"b_mode"`
		NewFile     bool   `json:"new_file"`
		RenamedFile bool   `json:"renamed_file"`
		DeletedFile bool   `json:"deleted_file"`
		Diff        string `json:"diff"`
	}
	standInNote struct {
		ID     int64  `json:"id"`
		Body   string `json:"body"`
		System bool   `json:"system"`
	}
)

// diffsFor is a change to one file of stack i, as GitLab lists diffs.
func diffsFor(i int) []standInDiff {
	p := fmt.Sprintf("stacks/s%02d/main.tf", i)
	return []standInDiff{{OldPath: p, NewPath: p, AMode: "100644", BMode: "100644", Diff: "@@ -1 +1 @@\n-\n+# changed\n"}}
}

func standInJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

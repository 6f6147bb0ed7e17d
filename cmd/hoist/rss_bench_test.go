package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

// SPEC §7's memory targets, measured on the real binary; docs/benchmarks.md
// has the command and the figures.
const (
	// rssStacks is the number of stacks on the one repository.
	rssStacks = 10_000
	// rssPushes is the number of pushes matched against them; each
	// changes rssTouched stacks (one PROPOSED run each).
	rssPushes  = 2_000
	rssTouched = 5
	// rssClients is how many API clients create and list at once.
	rssClients = 8
	// rssSettle is how long the idle server is left before its RSS is read.
	rssSettle = 2 * time.Second
	// rssSample is how often the anonymous part of the RSS is read.
	rssSample = 250 * time.Millisecond
)

// BenchmarkServerRSS runs the real hoist binary (SQLite, no workers: runs
// stay QUEUED) and reports its resident memory (VmRSS, MiB) at each step:
//   - idle-rss-MiB: after start-up, nothing configured (target < 60);
//   - stacks-rss-MiB: once rssStacks stacks on one repository were created
//     through the API;
//   - load-rss-MiB: after rssPushes unique push webhooks from 16 senders,
//     each matched against every stack and making rssTouched PROPOSED runs
//     whose pending statuses were written, and after every stack and run
//     was listed through the API, page by page;
//   - peak-rss-MiB: the server's VmHWM at the end, the most it ever held
//     (target < 200 with 10,000 stacks);
//   - idle-anon-MiB, peak-anon-MiB: RssAnon, the process's own memory
//     (heap, stacks), idle and the most sampled every rssSample. The rest
//     of the RSS is the binary's pages mapped from the page cache (30 –
//     45 MiB: more when the file was just written, so all of it cached);
//     shared and reclaimable, and it varies from run to run;
//   - pushes-processed/s: the pushes over the time from the first sent
//     until the last processed (polled: an upper bound on the time);
//   - create-ms/stack: the creation's wall time per stack (8 clients).
//
// The GitLab it talks to is the sustained load's stand-in (every call after
// 5 ms). Run it with -benchtime 1x: one iteration is the whole procedure.
func BenchmarkServerRSS(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and runs the hoist binary")
	}
	for b.Loop() {
		rssRun(b)
	}
}

func rssRun(b *testing.B) {
	sim, simURL := apptest.StartGitLab(b)
	token := infraProject(b, sim, gitlabsim.UserOptions{Username: "hoist-bot"}, map[string]string{"main.tf": "\n"})
	si := newStandIn(b, simURL)
	// Each push changes rssTouched stacks, chosen by its SHA.
	si.diffs = func(sha string) []standInDiff {
		sum := sha1.Sum([]byte(sha))
		out := make([]standInDiff, rssTouched)
		for i := range out {
			n := (int(sum[2*i])<<8 | int(sum[2*i+1])) % rssStacks
			p := fmt.Sprintf("stacks/s%05d/main.tf", n)
			out[i] = standInDiff{OldPath: p, NewPath: p, AMode: "100644", BMode: "100644", Diff: "@@ -1 +1 @@\n-\n+# changed\n"}
		}
		return out
	}
	dir := b.TempDir()
	srv, metricsURL := startLoaded(b, []string{"server", "--listen", "127.0.0.1:0", "--data-dir", dir,
		"--worker-slots", "0", "--metrics-listen", "127.0.0.1:0"})
	rss := func() float64 { return float64(procStatus(b, srv.Pid(), "VmRSS")) / 1024 }
	anon := func() float64 { return float64(procStatus(b, srv.Pid(), "RssAnon")) / 1024 }
	time.Sleep(rssSettle)
	idle, idleAnon := rss(), anon()
	// The kernel keeps no peak of the anonymous part: sampled.
	var peakAnonKiB atomic.Int64
	stopSampling, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(rssSample)
		defer t.Stop()
		for {
			if kib, err := procStatusErr(srv.Pid(), "RssAnon"); err == nil && kib > peakAnonKiB.Load() {
				peakAnonKiB.Store(kib)
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	}()
	defer func() { close(stopSampling); <-sampled }()

	key, secret := defaultIntegration(b, srv, dir, si, token)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadSenders}}
	defer client.CloseIdleConnections()
	api := &rssAPI{client: client, base: srv.URL, key: key}
	created := time.Now()
	var projectID atomic.Int64
	if err := inParallel(rssStacks, rssClients, func(i int) error {
		var st struct {
			ProjectID int64 `json:"project_id"`
		}
		err := api.call("POST", "/api/v1/stacks", http.StatusCreated, map[string]any{"name": fmt.Sprintf("s%05d", i),
			"space": "root", "repository": "acme/infra", "branch": "main", "project_root": fmt.Sprintf("stacks/s%05d", i)}, &st)
		projectID.Store(st.ProjectID)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	createMs := float64(time.Since(created).Milliseconds()) / rssStacks
	withStacks := rss()

	// Pushes: the sustained load's, to 64 feature branches, each its own
	// head commit, whose compare (the stand-in's) names rssTouched stacks.
	l := &load{project: "acme/infra", projectID: projectID.Load(), secret: secret, srvs: []*apptest.Process{srv},
		metricsURLs: []string{metricsURL}, standIn: si}
	var err error
	if l.pushT, l.mrT, err = l.templates(readPayload(b, "push.json"), readPayload(b, "merge_request.json")); err != nil {
		b.Fatal(err)
	}
	start := l.scrape(b)
	statuses0 := si.statuses.Load()
	var processedAt time.Time
	if err := inParallel(rssPushes, loadSenders, func(i int) error {
		n := int64(2 * i) // even: a push
		_, body := l.delivery(n)
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/gitlab/gitlab", bytes.NewReader(body))
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		req.Header.Set("X-Gitlab-Token", l.secret)
		req.Header.Set("X-Gitlab-Event-UUID", fmt.Sprintf("rss-%d", n))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("push %d: %s", n, resp.Status)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	// Every push processed, and every run's pending status written.
	wantStatuses := int64(rssPushes * rssTouched)
	apptest.Eventually(b, drainBound, "pushes processed and statuses written", func() error {
		s := l.scrape(b)
		if p := s.processed - start.processed; p < rssPushes {
			return fmt.Errorf("%d of %d pushes processed", p, rssPushes)
		}
		if processedAt.IsZero() {
			processedAt = s.at
		}
		// Duplicate stacks within a push or across pushes to one branch
		// make fewer runs; what counts is that nothing is left to write.
		if s.writesOpen > 0 {
			return fmt.Errorf("%v statuses to write (%d written)", s.writesOpen, si.statuses.Load()-statuses0)
		}
		return nil
	})
	statuses := si.statuses.Load() - statuses0
	if statuses < wantStatuses/2 {
		b.Fatalf("%d pending statuses written for %d pushes of %d stacks each", statuses, rssPushes, rssTouched)
	}

	// Every stack listed, page by page (the API's largest), and the runs
	// of the stacks of the first page.
	var pages atomic.Int64
	stacks, ids, err := api.listAll("/api/v1/stacks", &pages)
	if err != nil {
		b.Fatal(err)
	}
	if stacks != rssStacks {
		b.Fatalf("listed %d stacks, want %d", stacks, rssStacks)
	}
	for _, id := range ids[:200] {
		if _, _, err := api.listAll("/api/v1/stacks/"+id+"/runs", &pages); err != nil {
			b.Fatal(err)
		}
	}
	var runs float64 // in any state
	for series, v := range scrapeMetrics(b, metricsURL) {
		if strings.HasPrefix(series, "hoist_runs{") {
			runs += v
		}
	}
	loaded := rss()
	peak := float64(procStatus(b, srv.Pid(), "VmHWM")) / 1024

	b.ReportMetric(idle, "idle-rss-MiB")
	b.ReportMetric(withStacks, "stacks-rss-MiB")
	b.ReportMetric(loaded, "load-rss-MiB")
	b.ReportMetric(peak, "peak-rss-MiB")
	b.ReportMetric(idleAnon, "idle-anon-MiB")
	b.ReportMetric(float64(peakAnonKiB.Load())/1024, "peak-anon-MiB")
	b.ReportMetric(createMs, "create-ms/stack")
	b.ReportMetric(rssPushes/processedAt.Sub(start.at).Seconds(), "pushes-processed/s")
	b.ReportMetric(runs, "runs")
	b.ReportMetric(float64(statuses), "statuses")
	b.Logf("%d stacks, %d pushes, %v runs, %d statuses, %d pages listed", rssStacks, rssPushes, runs, statuses, pages.Load())
}

// rssAPI calls the server's API from several goroutines (apptest.Client
// fails the benchmark, which only its own goroutine may do).
type rssAPI struct {
	client    *http.Client
	base, key string
}

// call sends body (JSON) and decodes the answer into out, which must come
// with status want.
func (a *rssAPI) call(method, path string, want int, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// listAll pages through a list endpoint; it returns how many items it saw
// and their ids.
func (a *rssAPI) listAll(path string, pages *atomic.Int64) (int, []string, error) {
	total, cursor := 0, ""
	var ids []string
	for {
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		q := "?limit=200"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		if err := a.call("GET", path+q, http.StatusOK, nil, &page); err != nil {
			return total, ids, err
		}
		pages.Add(1)
		total += len(page.Items)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == "" {
			return total, ids, nil
		}
		cursor = page.NextCursor
	}
}

// inParallel calls fn(0) … fn(n-1) from workers goroutines; it returns the
// first error, after which no new call starts.
func inParallel(n, workers int, fn func(i int) error) error {
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(workers)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := fn(i); err != nil {
				return fmt.Errorf("call %d: %w", i, err)
			}
			return nil
		})
	}
	return g.Wait()
}

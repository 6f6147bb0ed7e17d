package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/run"
	"github.com/hoistdev/hoist/internal/transfer"
)

// Client is the Server of a remote worker: the worker protocol over HTTP
// with a pool token.
type Client struct {
	BaseURL   string // the Hoist server, e.g. https://hoist.example.com
	PoolToken string
	// HTTP sends the calls. Default: Go's default client, whose transport
	// bounds connecting (30s) and TLS handshakes (10s) but sets no overall
	// timeout (leases wait, sources stream).
	HTTP *http.Client
	// SourceIdle bounds each silence of a source download (0:
	// DefaultSourceIdle); the download has no total time.
	SourceIdle time.Duration
}

var _ Server = (*Client)(nil)

// DefaultSourceIdle is the longest silence of a source download from the
// server. It is longer than the server's own bound on GitLab's silences
// (gitlab.DefaultTimeouts().Idle, 60s), so that a stalled GitLab is
// reported by the server, which can name it, rather than here.
const DefaultSourceIdle = 90 * time.Second

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// do sends a request; a non-2xx answer becomes an apperr error with the
// server's code and message.
func (c *Client) do(ctx context.Context, method, path, leaseID string, body any) (*http.Response, error) {
	return c.send(ctx, c.http(), method, path, leaseID, body)
}

// send is do with the HTTP client hc.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path, leaseID string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.PoolToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if leaseID != "" {
		req.Header.Set(api.LeaseHeader, leaseID)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp, nil
}

func responseError(resp *http.Response) error {
	var eb api.Error
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
		return apperr.Errorf(eb.Error.Code, "%s", eb.Error.Message)
	}
	return fmt.Errorf("server answered %s", resp.Status)
}

// call is do for JSON answers (decoded into out when not nil).
func (c *Client) call(ctx context.Context, method, path, leaseID string, body, out any) error {
	resp, err := c.do(ctx, method, path, leaseID, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func runPath(runID, what string) string { return "/api/v1/workers/runs/" + runID + "/" + what }

// Lease implements Server.
func (c *Client) Lease(ctx context.Context, owner string, wait time.Duration) (run.Job, bool, error) {
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/workers/lease", "", api.LeaseRequest{Worker: owner, WaitSeconds: wait.Seconds()})
	if err != nil {
		return run.Job{}, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return run.Job{}, false, nil
	}
	var job run.Job
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil {
		return run.Job{}, false, fmt.Errorf("read lease: %w", err)
	}
	return job, true, nil
}

// Heartbeat implements Server.
func (c *Client) Heartbeat(ctx context.Context, runID, leaseID string) (run.State, error) {
	var out api.RunState
	err := c.call(ctx, http.MethodPost, runPath(runID, "heartbeat"), leaseID, struct{}{}, &out)
	return run.State(out.State), err
}

// Advance implements Server.
func (c *Client) Advance(ctx context.Context, runID, leaseID string, step run.Step) error {
	body := api.Advance{State: string(step.To), Note: step.Note, Tool: step.Binary.Tool, ToolVersion: step.Binary.Version}
	return c.call(ctx, http.MethodPost, runPath(runID, "advance"), leaseID, body, nil)
}

// ReportPlan implements Server.
func (c *Client) ReportPlan(ctx context.Context, runID, leaseID string, rep run.PlanReport) (bool, error) {
	var out api.PlanAnswer
	body := api.PlanReport{Delta: api.Delta(rep.Delta), HasChanges: rep.HasChanges, Plan: rep.Plan, PlanJSON: rep.PlanJSON}
	if rep.Resources != nil {
		body.Resources = make([]api.Resource, len(rep.Resources))
		for i, r := range rep.Resources {
			body.Resources[i] = api.Resource{Address: r.Address, Action: r.Action}
			for _, c := range r.Changes {
				body.Resources[i].Changes = append(body.Resources[i].Changes, api.AttrChange(c))
			}
		}
	}
	err := c.call(ctx, http.MethodPost, runPath(runID, "plan"), leaseID, body, &out)
	return out.Apply, err
}

// Finish implements Server.
func (c *Client) Finish(ctx context.Context, runID, leaseID, errMsg, detail string) error {
	body := api.Finish{Error: errMsg, ErrorDetail: detail}
	return c.call(ctx, http.MethodPost, runPath(runID, "finish"), leaseID, body, nil)
}

// HandBack implements Server.
func (c *Client) HandBack(ctx context.Context, runID, leaseID string) error {
	return c.call(ctx, http.MethodPost, runPath(runID, "hand-back"), leaseID, struct{}{}, nil)
}

// AppendLog implements Server.
func (c *Client) AppendLog(ctx context.Context, runID, leaseID, phase, text string) error {
	return c.call(ctx, http.MethodPost, runPath(runID, "logs"), leaseID, api.AppendLog{Phase: phase, Text: text}, nil)
}

// PlanFile implements Server.
func (c *Client) PlanFile(ctx context.Context, runID, leaseID string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, runPath(runID, "plan-file"), leaseID, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Source implements Server. The download has no total time, so that a
// large archive on a slow link finishes, and no bound on the wait for the
// answer either: the server may wait for a VCS agent for as long as the
// run goes on. ctx (the run's: a stop or a lost lease) ends it, and so
// does a silence longer than SourceIdle once the archive flows. An error
// that cut the stream short on the server comes in a trailer.
func (c *Client) Source(ctx context.Context, runID, leaseID string, w io.Writer) error {
	resp, err := c.send(ctx, c.sourceClient(), http.MethodGet, runPath(runID, "source"), leaseID, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return err
	}
	if msg := resp.Trailer.Get(api.SourceErrorTrailer); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// sourceClient is c's HTTP client with source downloads' bounds.
func (c *Client) sourceClient() *http.Client {
	hc := c.http()
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	idle := c.SourceIdle
	if idle <= 0 {
		idle = DefaultSourceIdle
	}
	return &http.Client{Transport: transfer.Bound(rt, transfer.Limits{Idle: idle}), CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}
}

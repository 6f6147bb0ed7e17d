package apiclient

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

// TriggerRun creates a run of a stack.
func (c *Client) TriggerRun(ctx context.Context, stack string, in api.TriggerRun) (*api.Run, error) {
	var r api.Run
	if err := c.do(ctx, http.MethodPost, stacksPath+"/"+esc(stack)+"/runs", nil, in, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Runs yields a stack's runs, newest first.
func (c *Client) Runs(ctx context.Context, stack string) iter.Seq2[api.Run, error] {
	return pages[api.Run](ctx, c, stacksPath+"/"+esc(stack)+"/runs", nil)
}

// GetRun returns one run with its history.
func (c *Client) GetRun(ctx context.Context, id string) (*api.Run, error) {
	var r api.Run
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(id), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RunAction confirms, discards or stops a run.
func (c *Client) RunAction(ctx context.Context, id, action string) (*api.Run, error) {
	var r api.Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(id)+"/"+esc(action), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ReviewRun approves or rejects a run in PENDING_REVIEW.
func (c *Client) ReviewRun(ctx context.Context, id string, in api.CreateReview) (*api.ReviewResult, error) {
	var out api.ReviewResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(id)+"/reviews", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RunReviews returns a run's reviews, oldest first.
func (c *Client) RunReviews(ctx context.Context, id string) ([]api.Review, error) {
	var out api.Page[api.Review]
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(id)+"/reviews", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// RunLogs returns the log chunks after after, and the run's state.
func (c *Client) RunLogs(ctx context.Context, id string, after int64) ([]api.LogChunk, string, error) {
	var out api.RunLogs
	q := url.Values{"after": {fmt.Sprint(after)}}
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(id)+"/logs", q, nil, &out); err != nil {
		return nil, "", err
	}
	return out.Items, out.State, nil
}

// FollowRunLogs copies the run's log to w as it is written, until the run
// ends.
func (c *Client) FollowRunLogs(ctx context.Context, id string, w io.Writer) error {
	u := *c.base
	u.Path += "/api/v1/runs/" + esc(id) + "/logs"
	u.RawQuery = "follow=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := *c.http
	hc.Timeout = 0 // a follow lasts as long as the run
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Hoist at %s: %w", c.base.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		return decodeError(resp.StatusCode, data)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

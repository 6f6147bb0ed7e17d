package apiclient

import (
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Run is a run as the API returns it (SPEC §6.2). Delta is nil until the
// run has a plan; ErrorDetail is OpenTofu's own error of a failed run.
type Run struct {
	ID              string       `json:"id"`
	Stack           string       `json:"stack"`
	Type            string       `json:"type"`
	State           string       `json:"state"`
	CommitSHA       string       `json:"commit_sha"`
	Branch          string       `json:"branch"`
	MergeRequestIID int64        `json:"merge_request_iid"`
	MergeRequestURL string       `json:"merge_request_url,omitempty"`
	Trigger         string       `json:"trigger"`
	TriggeredBy     string       `json:"triggered_by"`
	Reason          string       `json:"reason"`
	Delta           *Delta       `json:"delta"`
	History         []Transition `json:"history"`
	BlockedBy       string       `json:"blocked_by,omitempty"`
	Resources       []Resource   `json:"resources"`
	Error           string       `json:"error,omitempty"`
	Tool            string       `json:"tool,omitempty"`
	ToolVersion     string       `json:"tool_version,omitempty"`
	ErrorDetail     string       `json:"error_detail,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

// Delta counts what a plan changes.
type Delta struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// String is the short summary: "+2 ~1 -0"; "-" without a plan (nil).
func (d *Delta) String() string {
	if d == nil {
		return "-"
	}
	return fmt.Sprintf("+%d ~%d -%d", d.Add, d.Change, d.Destroy)
}

// Transition is one entry of a run's history.
type Transition struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Note  string    `json:"note,omitempty"`
}

// Resource is one resource a plan touches.
type Resource struct {
	Address string `json:"address"`
	Action  string `json:"action"`
}

// TriggerRun is the body of POST /api/v1/stacks/{id}/runs.
type TriggerRun struct {
	Type      string `json:"type,omitempty"`
	CommitSHA string `json:"commit_sha,omitempty"`
}

// TriggerRun creates a run of a stack.
func (c *Client) TriggerRun(ctx context.Context, stack string, in TriggerRun) (*Run, error) {
	var r Run
	if err := c.do(ctx, http.MethodPost, stacksPath+"/"+esc(stack)+"/runs", nil, in, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Runs yields a stack's runs, newest first.
func (c *Client) Runs(ctx context.Context, stack string) iter.Seq2[Run, error] {
	return pages[Run](ctx, c, stacksPath+"/"+esc(stack)+"/runs", nil)
}

// GetRun returns one run with its history.
func (c *Client) GetRun(ctx context.Context, id string) (*Run, error) {
	var r Run
	if err := c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(id), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RunAction confirms, discards or stops a run.
func (c *Client) RunAction(ctx context.Context, id, action string) (*Run, error) {
	var r Run
	if err := c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(id)+"/"+esc(action), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LogChunk is a piece of a run's log.
type LogChunk struct {
	ID    int64     `json:"id"`
	Phase string    `json:"phase"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
}

// RunLogs returns the log chunks after after, and the run's state.
func (c *Client) RunLogs(ctx context.Context, id string, after int64) ([]LogChunk, string, error) {
	var out struct {
		Items []LogChunk `json:"items"`
		State string     `json:"state"`
	}
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

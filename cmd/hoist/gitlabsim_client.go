package main

// `hoist gitlab-sim push|mr|statuses|notes|group|oauth-app`: thin clients of a running
// simulator's control and REST APIs (docs/gitlab-sim.md), so that the demo's
// printed commands and the docs need nothing but the hoist binary.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Defaults for finding a running simulator without flags: the demo's data
// dir first (the README's command), then the standalone simulator's.
var simConfigCandidates = []string{"hoist-data/gitlab-sim", "gitlab-sim-data"}

func gitlabSimClientCommands() []spec {
	return []spec{
		leaf("push", "push a commit to a simulated project (fires the push webhook)",
			"--project P [--branch B] [--start-branch S] --file PATH[=CONTENT|=@FILE]... [--delete PATH]... [--message M]", simPush),
		group("mr", "open, update, close, reopen or merge simulated merge requests", simMRCommands()...),
		leaf("statuses", "list the commit statuses on a branch head or commit", "--project P (--ref BRANCH | --sha SHA)", simStatuses),
		leaf("notes", "list the notes of a merge request", "--project P --iid N", simNotes),
		group("group", "create groups and manage their members (the OpenID Connect groups claims)", simGroupCommands()...),
		group("oauth-app", "register OAuth applications (OpenID Connect clients)", simOAuthAppCommands()...),
	}
}

// simFlags locate the simulator: --url/--token (HOIST_GITLAB_SIM_URL,
// HOIST_GITLAB_SIM_TOKEN: the gitlab-sim clients share them), else
// <sim-data-dir>/gitlab-sim.json.
type simFlags struct {
	url, token, dataDir, output string
}

func addSimFlags(fs *pflag.FlagSet) *simFlags {
	sf := &simFlags{}
	fs.StringVar(&sf.url, "url", "", "simulator base URL (default from gitlab-sim.json)")
	fs.StringVar(&sf.token, "token", "", "simulator admin token (default from gitlab-sim.json)")
	fs.StringVar(&sf.dataDir, "sim-data-dir", "", "simulator data `DIR` holding gitlab-sim.json (default ./"+
		strings.Join(simConfigCandidates, " or ./")+")")
	addOutputFlag(fs, &sf.output)
	shareEnv(fs, "gitlab-sim", "url", "token", "sim-data-dir", "output")
	secretFlag(fs, "token", "")
	return sf
}

// simClient calls one simulator with its admin token (which is also a root
// token on the REST API).
type simClient struct {
	base  string
	token string
	http  *http.Client
}

func (sf *simFlags) client(e *env) (*simClient, error) {
	if sf.output != "table" && sf.output != "json" {
		return nil, usageError{fmt.Sprintf("-o %q: want table or json", sf.output)}
	}
	u, tok := sf.url, sf.token
	if u == "" || tok == "" {
		fu, ft, err := readSimConfig(sf.dataDir)
		if err != nil {
			return nil, err
		}
		u, tok = cmpOr(u, fu), cmpOr(tok, ft)
	}
	return &simClient{base: strings.TrimRight(u, "/"), token: tok, http: &http.Client{Timeout: time.Minute}}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// readSimConfig reads {"url","admin_token"} from dir/gitlab-sim.json, or
// from the first default dir holding one.
func readSimConfig(dir string) (string, string, error) {
	dirs := []string{dir}
	if dir == "" {
		dirs = simConfigCandidates
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "gitlab-sim.json"))
		if errors.Is(err, os.ErrNotExist) && dir == "" {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("read the simulator's address: %w", err)
		}
		var c struct {
			URL        string `json:"url"`
			AdminToken string `json:"admin_token"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return "", "", fmt.Errorf("read %s: %w", filepath.Join(d, "gitlab-sim.json"), err)
		}
		return c.URL, c.AdminToken, nil
	}
	return "", "", usageError{"no simulator found: give --sim-data-dir DIR, --url and --token, or set HOIST_GITLAB_SIM_URL and HOIST_GITLAB_SIM_TOKEN"}
}

// simError is an answer of the simulator outside 2xx, with its body (the
// control API's {"error"} or GitLab's {"message"}).
type simError struct {
	status int
	body   string
}

func (s *simError) Error() string {
	return fmt.Sprintf("simulator answered %d: %s", s.status, strings.TrimSpace(s.body))
}

// call sends one request; in (if not nil) is the JSON body, out (if not
// nil) receives the JSON answer.
func (c *simClient) call(ctx context.Context, method, path string, in, out any) error {
	body, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (c *simClient) send(ctx context.Context, method, path string, in any) ([]byte, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("PRIVATE-TOKEN", c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the simulator: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &simError{status: resp.StatusCode, body: string(data)}
	}
	return data, nil
}

// projectPath is the REST API prefix of a project given by path or ID.
func projectPath(project string) string {
	return "/api/v4/projects/" + url.PathEscape(project)
}

// print writes v as JSON, or the text line in table mode.
func (sf *simFlags) print(e *env, v any, text string) error {
	if sf.output == "json" {
		return writeJSON(e.stdout, v)
	}
	_, err := fmt.Fprintln(e.stdout, text)
	return err
}

func simMRCommands() []spec {
	return []spec{
		leaf("create", "open a merge request (fires the merge request webhook)",
			"--project P --source-branch B [--target-branch T] --title T [--description D] [--draft]", simMRCreate),
		leaf("update", "change the title, description or draft flag",
			"--project P --iid N [--title T] [--description D] [--draft=true|false]", simMRUpdate),
		leaf("close", "close a merge request", "--project P --iid N", simMRState("close")),
		leaf("reopen", "reopen a merge request", "--project P --iid N", simMRState("reopen")),
		leaf("merge", "merge a merge request (a merge commit on the target branch)", "--project P --iid N", simMRState("merge")),
		leaf("approve", "approve a merge request as a user (fires approval or approved)", "--project P --iid N --user-id U", simMRState("approve")),
		leaf("unapprove", "withdraw a user's approval (fires unapproval or unapproved)", "--project P --iid N --user-id U", simMRState("unapprove")),
		leaf("comment", "comment on a merge request as a user (fires the Note Hook)", "--project P --iid N --body TEXT [--user-id U]", simMRComment),
	}
}

func simMRComment(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var in struct {
		Project string `json:"project"`
		IID     int    `json:"iid"`
		UserID  int    `json:"user_id,omitempty"`
		Body    string `json:"body"`
	}
	fs.StringVar(&in.Project, "project", "", "target project path or ID")
	fs.IntVar(&in.IID, "iid", 0, "merge request IID (the !N)")
	fs.StringVar(&in.Body, "body", "", "the comment (e.g. \"/hoist plan\")")
	fs.IntVar(&in.UserID, "user-id", 0, "author's simulator user ID (default root)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if in.Project == "" || in.IID <= 0 || in.Body == "" {
			return usageError{"gitlab-sim mr comment: --project, --iid and --body are required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var n struct {
			ID int `json:"id"`
		}
		if err := c.call(ctx, http.MethodPost, "/-/sim/notes", in, &n); err != nil {
			return fmt.Errorf("comment on merge request !%d: %w", in.IID, err)
		}
		return sf.print(e, n, fmt.Sprintf("note %d on merge request !%d", n.ID, in.IID))
	}
}

// simMergeRequest is the part of the control API's merge request we show.
type simMergeRequest struct {
	IID          int    `json:"iid"`
	SourceBranch string `json:"source_branch"`
	TargetBranch string `json:"target_branch"`
	Title        string `json:"title"`
	State        string `json:"state"`
	Draft        bool   `json:"draft"`
	HeadSHA      string `json:"head_sha"`
}

func (m simMergeRequest) String() string {
	return fmt.Sprintf("merge request !%d %s (%s → %s, %s, head %s)", m.IID, m.Title, m.SourceBranch,
		m.TargetBranch, m.State, simShortSHA(m.HeadSHA))
}

func simShortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func simMRCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var in struct {
		Project      string `json:"project"`
		SourceBranch string `json:"source_branch"`
		TargetBranch string `json:"target_branch,omitempty"`
		Title        string `json:"title"`
		Description  string `json:"description,omitempty"`
		Draft        bool   `json:"draft,omitempty"`
		UserID       int    `json:"user_id,omitempty"`
	}
	fs.StringVar(&in.Project, "project", "", "target project path (group/project) or ID")
	fs.StringVar(&in.SourceBranch, "source-branch", "", "branch with the changes")
	fs.StringVar(&in.TargetBranch, "target-branch", "", "branch to merge into (default: the project's default branch)")
	fs.StringVar(&in.Title, "title", "", "title")
	fs.StringVar(&in.Description, "description", "", "description")
	fs.BoolVar(&in.Draft, "draft", false, "open it as a draft")
	fs.IntVar(&in.UserID, "user-id", 0, "author's simulator user ID (default root)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if in.Project == "" || in.SourceBranch == "" || in.Title == "" {
			return usageError{"gitlab-sim mr create: --project, --source-branch and --title are required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var mr simMergeRequest
		if err := c.call(ctx, http.MethodPost, "/-/sim/merge_requests", in, &mr); err != nil {
			return fmt.Errorf("open merge request: %w", err)
		}
		return sf.print(e, mr, "opened "+mr.String())
	}
}

func simMRUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var project string
	var iid, userID int
	var title, desc string
	var draft bool
	fs.StringVar(&project, "project", "", "target project path or ID")
	fs.IntVar(&iid, "iid", 0, "merge request IID (the !N)")
	fs.StringVar(&title, "title", "", "new title")
	fs.StringVar(&desc, "description", "", "new description")
	fs.BoolVar(&draft, "draft", false, "mark as draft (--draft=false: ready)")
	fs.IntVar(&userID, "user-id", 0, "acting simulator user ID (default root)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if project == "" || iid <= 0 {
			return usageError{"gitlab-sim mr update: --project and --iid are required"}
		}
		in := map[string]any{"project": project, "iid": iid, "user_id": userID}
		set := flagsSet(fs)
		for name, v := range map[string]any{"title": title, "description": desc, "draft": draft} {
			if set[name] {
				in[name] = v
			}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var mr simMergeRequest
		if err := c.call(ctx, http.MethodPost, "/-/sim/merge_requests/update", in, &mr); err != nil {
			return fmt.Errorf("update merge request !%d: %w", iid, err)
		}
		return sf.print(e, mr, "updated "+mr.String())
	}
}

// simMRState is close, reopen or merge: one POST each.
func simMRState(action string) func(*env, *cobra.Command) runFunc {
	return func(e *env, cmd *cobra.Command) runFunc {
		fs := cmd.Flags()
		sf := addSimFlags(fs)
		var project string
		var iid, userID int
		fs.StringVar(&project, "project", "", "target project path or ID")
		fs.IntVar(&iid, "iid", 0, "merge request IID (the !N)")
		fs.IntVar(&userID, "user-id", 0, "acting simulator user ID (default root)")
		return func(ctx context.Context, args []string) error {
			if err := parseNoArgs(cmd, args); err != nil {
				return err
			}
			if project == "" || iid <= 0 {
				return usageError{fmt.Sprintf("gitlab-sim mr %s: --project and --iid are required", action)}
			}
			c, err := sf.client(e)
			if err != nil {
				return err
			}
			var mr simMergeRequest
			in := map[string]any{"project": project, "iid": iid, "user_id": userID}
			if err := c.call(ctx, http.MethodPost, "/-/sim/merge_requests/"+action, in, &mr); err != nil {
				return fmt.Errorf("%s merge request !%d: %w", action, iid, err)
			}
			return sf.print(e, mr, action+": "+mr.String())
		}
	}
}

package main

// `hoist gitlab-sim push|statuses|notes`: one commit to a simulated project,
// and reading back what Hoist wrote to it.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// fileSpec is one --file: PATH=CONTENT, PATH=@LOCALFILE (@- is stdin), or
// PATH alone for the local file of that path.
type fileSpec struct{ path, content string }

func parseFileSpec(e *env, v string) (fileSpec, error) {
	path, content, hasContent := strings.Cut(v, "=")
	path = strings.Trim(path, "/")
	if path == "" {
		return fileSpec{}, usageError{fmt.Sprintf("--file %q: want PATH=CONTENT, PATH=@LOCALFILE or PATH", v)}
	}
	local := ""
	switch {
	case !hasContent:
		local = path
	case strings.HasPrefix(content, "@"):
		local = content[1:]
	default:
		if !strings.HasSuffix(content, "\n") {
			content += "\n" // a file written on the command line still ends its last line
		}
		return fileSpec{path: path, content: content}, nil
	}
	b, err := readInput(e, local)
	if err != nil {
		return fileSpec{}, fmt.Errorf("--file %s: %w", path, err)
	}
	return fileSpec{path: path, content: string(b)}, nil
}

func simPush(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var project, branch, start, message string
	var files, deletes, links listFlag
	var userID int
	fs.StringVar(&project, "project", "", "project path (group/project) or ID")
	fs.StringVar(&branch, "branch", "", "branch to push to (default: the project's default branch); created when missing")
	fs.StringVar(&start, "start-branch", "", "where a new branch starts (default: the project's default branch)")
	fs.Var(&files, "file", "write a file: PATH=CONTENT, PATH=@LOCALFILE (@- or @/dev/stdin for stdin), or PATH (repeatable)")
	fs.Var(&deletes, "delete", "delete a file (repeatable)")
	fs.Var(&links, "symlink", "make PATH a symbolic link: PATH=TARGET (repeatable; a simulator extension, for testing hostile repositories)")
	fs.StringVar(&message, "message", "", "commit message (default: a summary of the change)")
	fs.IntVar(&userID, "user-id", 0, "pusher's simulator user ID (default root)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if project == "" || len(files)+len(deletes)+len(links) == 0 {
			return usageError{"gitlab-sim push: --project and at least one --file, --symlink or --delete are required"}
		}
		specs := make([]fileSpec, 0, len(files))
		for _, f := range files {
			s, err := parseFileSpec(e, f)
			if err != nil {
				return err
			}
			specs = append(specs, s)
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		if branch == "" {
			if branch, err = c.defaultBranch(ctx, project); err != nil {
				return err
			}
		}
		base, err := c.baseRef(ctx, project, branch, start)
		if err != nil {
			return err
		}
		existing, err := c.files(ctx, project, base)
		if err != nil {
			return err
		}
		actions := fileActions(specs, deletes, existing)
		for _, l := range links {
			path, target, ok := strings.Cut(l, "=")
			if !ok || path == "" || target == "" {
				return usageError{fmt.Sprintf("--symlink %q: want PATH=TARGET", l)}
			}
			actions = append(actions, map[string]string{"action": "symlink", "file_path": path, "content": target})
		}
		if message == "" {
			message = commitMessage(specs, deletes)
		}
		if message == "" {
			message = "Add symlinks"
		}
		in := map[string]any{"project": project, "branch": branch, "start_branch": start, "user_id": userID,
			"commits": []map[string]any{{"message": message, "actions": actions}}}
		var res struct {
			Before  string   `json:"before"`
			After   string   `json:"after"`
			Commits []string `json:"commits"`
		}
		if err := c.call(ctx, http.MethodPost, "/-/sim/push", in, &res); err != nil {
			return fmt.Errorf("push to %s %s: %w", project, branch, err)
		}
		return sf.print(e, res, fmt.Sprintf("pushed %s to %s %s", simShortSHA(res.After), project, branch))
	}
}

// fileActions turns the specs into the control API's actions: create for a
// new path, update for an existing one.
func fileActions(specs []fileSpec, deletes []string, existing map[string]bool) []map[string]string {
	out := make([]map[string]string, 0, len(specs)+len(deletes))
	for _, s := range specs {
		kind := "create"
		if existing[s.path] {
			kind = "update"
		}
		out = append(out, map[string]string{"action": kind, "file_path": s.path, "content": s.content})
	}
	for _, d := range deletes {
		out = append(out, map[string]string{"action": "delete", "file_path": strings.Trim(d, "/")})
	}
	return out
}

func commitMessage(specs []fileSpec, deletes []string) string {
	var parts []string
	for _, s := range specs {
		parts = append(parts, s.path)
	}
	if len(parts) > 0 {
		parts = []string{"Update " + strings.Join(parts, ", ")}
	}
	if len(deletes) > 0 {
		parts = append(parts, "delete "+strings.Join(deletes, ", "))
	}
	return strings.Join(parts, "; ")
}

func (c *simClient) defaultBranch(ctx context.Context, project string) (string, error) {
	var p struct {
		DefaultBranch string `json:"default_branch"`
	}
	if err := c.call(ctx, http.MethodGet, projectPath(project), nil, &p); err != nil {
		return "", fmt.Errorf("project %s: %w", project, err)
	}
	return p.DefaultBranch, nil
}

// baseRef is the ref the new commit starts from: the branch when it exists,
// else the start branch (default: the default branch).
func (c *simClient) baseRef(ctx context.Context, project, branch, start string) (string, error) {
	_, err := c.send(ctx, http.MethodGet, projectPath(project)+"/repository/branches/"+url.PathEscape(branch), nil)
	var se *simError
	switch {
	case err == nil:
		return branch, nil
	case errors.As(err, &se) && se.status == http.StatusNotFound && start != "":
		return start, nil
	case errors.As(err, &se) && se.status == http.StatusNotFound:
		return c.defaultBranch(ctx, project)
	default:
		return "", fmt.Errorf("branch %s of %s: %w", branch, project, err)
	}
}

// files lists the paths at ref from the repository archive (an empty set
// for an empty repository), to tell creates from updates.
func (c *simClient) files(ctx context.Context, project, ref string) (map[string]bool, error) {
	data, err := c.send(ctx, http.MethodGet, projectPath(project)+"/repository/archive.tar?sha="+url.QueryEscape(ref), nil)
	var se *simError
	if errors.As(err, &se) && se.status == http.StatusNotFound {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list files of %s at %s: %w", project, ref, err)
	}
	out := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read archive of %s: %w", project, err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink {
			continue
		}
		// Drop the single top folder <project>-<sha>/.
		if _, rest, ok := strings.Cut(h.Name, "/"); ok && rest != "" {
			out[rest] = true
		}
	}
}

// simStatus is a commit status as GitLab's REST API returns it.
type simStatus struct {
	Name        string `json:"name"`
	Status      string `json:"status"`
	Ref         string `json:"ref"`
	SHA         string `json:"sha"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url"`
}

func simStatuses(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var project, ref, sha string
	fs.StringVar(&project, "project", "", "project path or ID")
	fs.StringVar(&ref, "ref", "", "branch whose head commit to read")
	fs.StringVar(&sha, "sha", "", "commit to read")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if project == "" || (ref == "") == (sha == "") {
			return usageError{"gitlab-sim statuses: --project and one of --ref or --sha are required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		if sha == "" {
			var b struct {
				Commit struct {
					ID string `json:"id"`
				} `json:"commit"`
			}
			if err := c.call(ctx, http.MethodGet, projectPath(project)+"/repository/branches/"+url.PathEscape(ref), nil, &b); err != nil {
				return fmt.Errorf("branch %s: %w", ref, err)
			}
			sha = b.Commit.ID
		}
		var sts []simStatus
		if err := c.call(ctx, http.MethodGet, projectPath(project)+"/repository/commits/"+sha+"/statuses?per_page=100", nil, &sts); err != nil {
			return fmt.Errorf("statuses of %s: %w", simShortSHA(sha), err)
		}
		if sf.output == "json" {
			return writeJSON(e.stdout, sts)
		}
		rows := [][]string{{"NAME", "STATUS", "REF", "DESCRIPTION", "TARGET URL"}}
		for _, s := range sts {
			rows = append(rows, []string{s.Name, s.Status, s.Ref, orDash(s.Description), orDash(s.TargetURL)})
		}
		fmt.Fprintf(e.stdout, "commit %s\n", sha)
		return table(e.stdout, rows)
	}
}

func simNotes(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	sf := addSimFlags(fs)
	var project string
	var iid int
	fs.StringVar(&project, "project", "", "project path or ID")
	fs.IntVar(&iid, "iid", 0, "merge request IID (the !N)")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if project == "" || iid <= 0 {
			return usageError{"gitlab-sim notes: --project and --iid are required"}
		}
		c, err := sf.client(e)
		if err != nil {
			return err
		}
		var notes []struct {
			ID     int    `json:"id"`
			Body   string `json:"body"`
			Author struct {
				Username string `json:"username"`
			} `json:"author"`
			UpdatedAt string `json:"updated_at"`
		}
		path := fmt.Sprintf("%s/merge_requests/%d/notes?sort=asc&per_page=100", projectPath(project), iid)
		if err := c.call(ctx, http.MethodGet, path, nil, &notes); err != nil {
			return fmt.Errorf("notes of !%d: %w", iid, err)
		}
		if sf.output == "json" {
			return writeJSON(e.stdout, notes)
		}
		for _, n := range notes {
			fmt.Fprintf(e.stdout, "--- note %d by @%s, %s\n%s\n", n.ID, n.Author.Username, n.UpdatedAt, strings.TrimSpace(n.Body))
		}
		return nil
	}
}

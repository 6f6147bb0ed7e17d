package hooks

import (
	"hash/fnv"
	"time"
)

// Project is the part of a GitLab project that webhook payloads carry.
type Project struct {
	ID                int
	Name              string
	Description       string
	WebURL            string
	AvatarURL         string // "" is sent as null
	GitSSHURL         string
	GitHTTPURL        string
	Namespace         string // display name of the namespace, e.g. "Mike"
	PathWithNamespace string
	DefaultBranch     string
	Homepage          string // "" means WebURL, as GitLab fills it
	VisibilityLevel   int    // 0 private, 10 internal, 20 public
	CIConfigPath      string
}

// User is a GitLab user as webhook payloads show them.
type User struct {
	ID        int
	Name      string
	Username  string
	Email     string
	AvatarURL string
}

// Commit is one commit of a push, or the last commit of a merge request.
type Commit struct {
	ID          string
	Message     string
	Title       string // "" means the first line of Message
	URL         string
	Timestamp   time.Time
	AuthorName  string
	AuthorEmail string
	Added       []string
	Modified    []string
	Removed     []string
}

// Label is a project label attached to a merge request. A zero ID is
// replaced by a stable ID derived from the title, so the same label keeps
// its ID from one event to the next without the caller tracking IDs.
type Label struct {
	ID          int
	Title       string
	Color       string // "" means GitLab's default "#6699cc"
	Description string
	ProjectID   int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// gitlabTimeLayout is how GitLab renders model timestamps in hook payloads
// (created_at, updated_at, changes): "2015-05-17 18:21:36 UTC".
const gitlabTimeLayout = "2006-01-02 15:04:05 UTC"

// hookTime renders t as GitLab does, or null when t is zero.
func hookTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(gitlabTimeLayout)
	return &s
}

// isoTime renders commit and label timestamps, which GitLab sends as
// ISO 8601 with the author's offset.
func isoTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

// nullString maps "" to null, for fields GitLab sends as null when unset.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullInt maps 0 to null, for optional IDs.
func nullInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// nonNil keeps empty lists as [] rather than null, as GitLab sends them.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type projectJSON struct {
	ID                int     `json:"id"`
	Name              string  `json:"name"`
	Description       string  `json:"description"`
	WebURL            string  `json:"web_url"`
	AvatarURL         *string `json:"avatar_url"`
	GitSSHURL         string  `json:"git_ssh_url"`
	GitHTTPURL        string  `json:"git_http_url"`
	Namespace         string  `json:"namespace"`
	VisibilityLevel   int     `json:"visibility_level"`
	PathWithNamespace string  `json:"path_with_namespace"`
	DefaultBranch     string  `json:"default_branch"`
	CIConfigPath      string  `json:"ci_config_path"`
	Homepage          string  `json:"homepage"`
	URL               string  `json:"url"`      // deprecated alias of git_ssh_url
	SSHURL            string  `json:"ssh_url"`  // deprecated alias of git_ssh_url
	HTTPURL           string  `json:"http_url"` // deprecated alias of git_http_url
}

func (p Project) homepage() string {
	if p.Homepage != "" {
		return p.Homepage
	}
	return p.WebURL
}

func (p Project) toJSON() projectJSON {
	return projectJSON{
		ID:                p.ID,
		Name:              p.Name,
		Description:       p.Description,
		WebURL:            p.WebURL,
		AvatarURL:         nullString(p.AvatarURL),
		GitSSHURL:         p.GitSSHURL,
		GitHTTPURL:        p.GitHTTPURL,
		Namespace:         p.Namespace,
		VisibilityLevel:   p.VisibilityLevel,
		PathWithNamespace: p.PathWithNamespace,
		DefaultBranch:     p.DefaultBranch,
		CIConfigPath:      p.CIConfigPath,
		Homepage:          p.homepage(),
		URL:               p.GitSSHURL,
		SSHURL:            p.GitSSHURL,
		HTTPURL:           p.GitHTTPURL,
	}
}

// repositoryJSON is the deprecated "repository" block GitLab still sends
// next to "project".
type repositoryJSON struct {
	Name            string `json:"name"`
	URL             string `json:"url"`
	Description     string `json:"description"`
	Homepage        string `json:"homepage"`
	GitHTTPURL      string `json:"git_http_url"`
	GitSSHURL       string `json:"git_ssh_url"`
	VisibilityLevel int    `json:"visibility_level"`
}

func (p Project) repositoryJSON() repositoryJSON {
	return repositoryJSON{
		Name:            p.Name,
		URL:             p.GitSSHURL,
		Description:     p.Description,
		Homepage:        p.homepage(),
		GitHTTPURL:      p.GitHTTPURL,
		GitSSHURL:       p.GitSSHURL,
		VisibilityLevel: p.VisibilityLevel,
	}
}

type userJSON struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Username  string `json:"username"`
	AvatarURL string `json:"avatar_url"`
	Email     string `json:"email,omitempty"`
}

func (u User) toJSON() userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Username: u.Username, AvatarURL: u.AvatarURL, Email: u.email()}
}

// email is what GitLab shows for the acting user: their public email, or
// "[REDACTED]" when they have none.
func (u User) email() string {
	if u.Email == "" {
		return redacted
	}
	return u.Email
}

// usersJSON renders assignees and reviewers, which GitLab lists without
// their email addresses.
func usersJSON(users []User) []userJSON {
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		j := u.toJSON()
		j.Email = ""
		out = append(out, j)
	}
	return out
}

func userIDs(users []User) []int {
	ids := make([]int, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}

type authorJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type commitJSON struct {
	ID        string     `json:"id"`
	Message   string     `json:"message"`
	Title     string     `json:"title"`
	Timestamp *string    `json:"timestamp"`
	URL       string     `json:"url"`
	Author    authorJSON `json:"author"`
}

// title is the commit's first line, which GitLab sends as "title".
func (c Commit) title() string {
	if c.Title != "" {
		return c.Title
	}
	for i, r := range c.Message {
		if r == '\n' {
			return c.Message[:i]
		}
	}
	return c.Message
}

// lastCommitJSON renders a merge request's last_commit, which has no file
// lists.
func (c Commit) lastCommitJSON() commitJSON {
	return commitJSON{
		ID:        c.ID,
		Message:   c.Message,
		Title:     c.title(),
		Timestamp: isoTime(c.Timestamp),
		URL:       c.URL,
		Author:    authorJSON{Name: c.AuthorName, Email: c.AuthorEmail},
	}
}

// pushCommitJSON renders a push commit, whose file lists are always
// present, [] when empty.
func (c Commit) pushCommitJSON() pushCommitJSON {
	return pushCommitJSON{
		commitJSON: c.lastCommitJSON(),
		Added:      nonNil(c.Added),
		Modified:   nonNil(c.Modified),
		Removed:    nonNil(c.Removed),
	}
}

type pushCommitJSON struct {
	commitJSON
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

type labelJSON struct {
	ID          int     `json:"id"`
	Title       string  `json:"title"`
	Color       string  `json:"color"`
	ProjectID   *int    `json:"project_id"`
	CreatedAt   *string `json:"created_at"`
	UpdatedAt   *string `json:"updated_at"`
	Template    bool    `json:"template"`
	Description *string `json:"description"`
	Type        string  `json:"type"`
	GroupID     *int    `json:"group_id"`
}

func (l Label) toJSON() labelJSON {
	id := l.ID
	if id == 0 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(l.Title))
		id = int(h.Sum32()&0x7fffffff) + 1
	}
	color := l.Color
	if color == "" {
		color = "#6699cc"
	}
	return labelJSON{
		ID:          id,
		Title:       l.Title,
		Color:       color,
		ProjectID:   nullInt(l.ProjectID),
		CreatedAt:   isoTime(l.CreatedAt),
		UpdatedAt:   isoTime(l.UpdatedAt),
		Description: nullString(l.Description),
		Type:        "ProjectLabel",
	}
}

func labelsJSON(labels []Label) []labelJSON {
	out := make([]labelJSON, 0, len(labels))
	for _, l := range labels {
		out = append(out, l.toJSON())
	}
	return out
}

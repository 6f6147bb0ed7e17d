package gitlabsim

import "time"

// GitLab's access levels.
const (
	NoAccess   = 0
	Guest      = 10
	Reporter   = 20
	Developer  = 30
	Maintainer = 40
	Owner      = 50
)

// Token kinds. Project and group tokens act as a bot user that is a member
// of the project or group with the token's access level, as in GitLab. An
// OAuth access token reaches the REST API as a Token of kind TokenOAuth.
const (
	TokenPersonal = "personal"
	TokenProject  = "project"
	TokenGroup    = "group"
)

// User is a GitLab user account.
type User struct {
	ID        int       `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	Bot       bool      `json:"bot"`
	CreatedAt time.Time `json:"created_at"`
}

// Token is an access token. Value is the secret sent in PRIVATE-TOKEN.
type Token struct {
	ID          int        `json:"id"`
	Name        string     `json:"name"`
	Value       string     `json:"token"`
	UserID      int        `json:"user_id"`
	Kind        string     `json:"kind"`
	Scopes      []string   `json:"scopes"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"` // a date (UTC midnight); expired from that day on
	Revoked     bool       `json:"revoked"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	ProjectID   int        `json:"project_id,omitempty"`
	GroupID     int        `json:"group_id,omitempty"`
	AccessLevel int        `json:"access_level,omitempty"`
}

// Group is a (possibly nested) group. FullPath is "a/b/c".
type Group struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Path      string    `json:"path"`
	FullPath  string    `json:"full_path"`
	ParentID  int       `json:"parent_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Project is a project with its bare repository.
type Project struct {
	ID                int    `json:"id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	Description       string `json:"description"`
	NamespaceID       int    `json:"namespace_id"`   // group ID or user ID
	NamespaceKind     string `json:"namespace_kind"` // "group" or "user"
	DefaultBranch     string `json:"default_branch"`
	Visibility        string `json:"visibility"` // private, internal, public
	ForkedFromID      int    `json:"forked_from_id,omitempty"`
	// ApprovalsRequired is how many approvals a merge request needs (one
	// "any approver" rule, as GitLab Premium's project setting).
	ApprovalsRequired int `json:"approvals_required,omitempty"`
	// OnlyAllowMergeIfPipelineSucceeds is GitLab's "Pipelines must
	// succeed": merge requests whose head pipeline did not succeed say
	// ci_must_pass and cannot be merged.
	OnlyAllowMergeIfPipelineSucceeds bool      `json:"only_allow_merge_if_pipeline_succeeds,omitempty"`
	CreatedAt                        time.Time `json:"created_at"`
	LastActivityAt                   time.Time `json:"last_activity_at"`
}

// Namespace returns the project's namespace path ("group/sub").
func (p Project) Namespace() string {
	return p.PathWithNamespace[:len(p.PathWithNamespace)-len(p.Path)-1]
}

// Member is a direct membership of a user in a project or a group.
type Member struct {
	SourceKind  string    `json:"source_kind"` // "project" or "group"
	SourceID    int       `json:"source_id"`
	UserID      int       `json:"user_id"`
	AccessLevel int       `json:"access_level"`
	CreatedAt   time.Time `json:"created_at"`
}

// MergeRequest is a merge request; ProjectID is the target project.
type MergeRequest struct {
	ID              int        `json:"id"`
	IID             int        `json:"iid"`
	ProjectID       int        `json:"project_id"`
	SourceProjectID int        `json:"source_project_id"`
	SourceBranch    string     `json:"source_branch"`
	TargetBranch    string     `json:"target_branch"`
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	State           string     `json:"state"` // opened, closed, merged
	Draft           bool       `json:"draft"`
	AuthorID        int        `json:"author_id"`
	HeadSHA         string     `json:"head_sha"`
	ApprovedBy      []int      `json:"approved_by,omitempty"` // user IDs, in approval order
	MergeCommitSHA  string     `json:"merge_commit_sha,omitempty"`
	MergedByID      int        `json:"merged_by_id,omitempty"`
	ClosedByID      int        `json:"closed_by_id,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	MergedAt        *time.Time `json:"merged_at,omitempty"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
}

// Note is a comment on a merge request, a commit or an issue; exactly one
// of MRIID, CommitSHA and IssueIID is set.
type Note struct {
	ID        int       `json:"id"`
	ProjectID int       `json:"project_id"`
	MRIID     int       `json:"mr_iid"`
	CommitSHA string    `json:"commit_sha,omitempty"`
	IssueIID  int       `json:"issue_iid,omitempty"`
	Body      string    `json:"body"`
	AuthorID  int       `json:"author_id"`
	System    bool      `json:"system"`
	Internal  bool      `json:"internal"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NoteableType is what the note comments on, in GitLab's words.
func (n Note) NoteableType() string {
	switch {
	case n.CommitSHA != "":
		return "Commit"
	case n.IssueIID != 0:
		return "Issue"
	}
	return "MergeRequest"
}

// Issue is a project issue: what notes on issues and the issues REST API
// (create, edit, close, reopen) need.
type Issue struct {
	ID          int        `json:"id"`
	IID         int        `json:"iid"`
	ProjectID   int        `json:"project_id"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Labels      []string   `json:"labels,omitempty"`
	State       string     `json:"state"` // opened, closed
	AuthorID    int        `json:"author_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	ClosedByID  int        `json:"closed_by_id,omitempty"`
}

// AwardEmoji is an emoji reaction on a merge request note.
type AwardEmoji struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"` // without colons: "eyes", "white_check_mark"
	UserID    int       `json:"user_id"`
	ProjectID int       `json:"project_id"`
	MRIID     int       `json:"mr_iid"`
	NoteID    int       `json:"note_id"`
	CreatedAt time.Time `json:"created_at"`
}

// CommitStatus is an external commit status.
type CommitStatus struct {
	ID          int        `json:"id"`
	ProjectID   int        `json:"project_id"`
	SHA         string     `json:"sha"`
	Ref         string     `json:"ref"`
	Name        string     `json:"name"`
	State       string     `json:"status"`
	Description string     `json:"description,omitempty"`
	TargetURL   string     `json:"target_url,omitempty"`
	Coverage    *float64   `json:"coverage,omitempty"`
	PipelineID  int        `json:"pipeline_id"`
	AuthorID    int        `json:"author_id"`
	Retried     bool       `json:"retried"` // replaced by a newer status of the same name
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// Environment is a project environment.
type Environment struct {
	ID          int       `json:"id"`
	ProjectID   int       `json:"project_id"`
	Name        string    `json:"name"`
	Slug        string    `json:"slug"`
	ExternalURL string    `json:"external_url,omitempty"`
	Tier        string    `json:"tier"`
	State       string    `json:"state"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Deployment is a deployment to an environment.
type Deployment struct {
	ID            int        `json:"id"`
	IID           int        `json:"iid"`
	ProjectID     int        `json:"project_id"`
	EnvironmentID int        `json:"environment_id"`
	Ref           string     `json:"ref"`
	SHA           string     `json:"sha"`
	Tag           bool       `json:"tag"`
	Status        string     `json:"status"`
	UserID        int        `json:"user_id"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// Hook is a project webhook.
type Hook struct {
	ID                     int       `json:"id"`
	ProjectID              int       `json:"project_id"`
	URL                    string    `json:"url"`
	Name                   string    `json:"name,omitempty"`
	Description            string    `json:"description,omitempty"`
	Token                  string    `json:"token,omitempty"`
	PushEvents             bool      `json:"push_events"`
	PushEventsBranchFilter string    `json:"push_events_branch_filter,omitempty"`
	TagPushEvents          bool      `json:"tag_push_events"`
	MergeRequestsEvents    bool      `json:"merge_requests_events"`
	NoteEvents             bool      `json:"note_events"`
	EnableSSLVerification  bool      `json:"enable_ssl_verification"`
	CreatedAt              time.Time `json:"created_at"`
}

// state is everything the simulator persists, in the snapshot's shape.
type state struct {
	Seq           map[string]int  `json:"seq"` // last ID handed out per kind
	AdminToken    string          `json:"admin_token"`
	Users         []*User         `json:"users"`
	Tokens        []*Token        `json:"tokens"`
	Groups        []*Group        `json:"groups"`
	Projects      []*Project      `json:"projects"`
	Members       []*Member       `json:"members"`
	MergeRequests []*MergeRequest `json:"merge_requests"`
	Notes         []*Note         `json:"notes"`
	Issues        []*Issue        `json:"issues,omitempty"`
	AwardEmoji    []*AwardEmoji   `json:"award_emoji,omitempty"`
	Statuses      []*CommitStatus `json:"statuses"`
	Pipelines     map[string]int  `json:"pipelines"` // "projectID sha ref" → pipeline ID
	Environments  []*Environment  `json:"environments"`
	Deployments   []*Deployment   `json:"deployments"`
	Hooks         []*Hook         `json:"hooks"`
	// OIDCKey is the PKCS #8 PEM of the RS256 key that signs ID tokens,
	// made on first use of the OpenID Connect provider.
	OIDCKey     string        `json:"oidc_key,omitempty"`
	OAuthApps   []*OAuthApp   `json:"oauth_apps,omitempty"`
	OAuthTokens []*OAuthToken `json:"oauth_tokens,omitempty"`
}

// nextID hands out the next ID for kind; IDs are per kind, starting at 1.
func (st *state) nextID(kind string) int {
	st.Seq[kind]++
	return st.Seq[kind]
}

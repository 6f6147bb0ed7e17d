package vcs

// RepoQuery is what Hoist asks the VCS about a stack's or module's
// repository before binding to it.
type RepoQuery struct {
	Repository string // namespace/project
	Branch     string
	UserID     int64  // the integration token's user
	Username   string // for messages
}

// Repo is what the VCS answered about a repository.
type Repo struct {
	ProjectID int64
	Path      string // path_with_namespace as the VCS spells it
	BranchSHA string // head of the branch
}

// ProjectHook is a project webhook as the VCS lists it, with the triggers
// Hoist's hook needs (GitLab has more; the others are not read).
type ProjectHook struct {
	ID                  int64
	URL                 string
	PushEvents          bool
	TagPushEvents       bool
	MergeRequestsEvents bool
	NoteEvents          bool // GitLab's "Comments" trigger
}

// CommitStatus is a status on a commit (a pipeline-like check), as the
// write-back sets it.
type CommitStatus struct {
	Project     string // path with namespace
	SHA         string
	Ref         string // optional: the branch or tag the status is for
	Name        string // e.g. hoist/<stack-id>
	State       string // pending, running, success, failed, canceled
	Description string // optional; cut to what the VCS keeps
	TargetURL   string // optional
}

// Deployment is a new deployment of a commit to an environment.
type Deployment struct {
	Project     string
	Environment string
	Ref         string
	SHA         string
	Status      string // created, running, success, failed, canceled
}

// Issue is what Hoist writes to a project's issue: a whole title,
// description and set of labels, and whether the issue should be open.
type Issue struct {
	Project     string
	Title       string
	Description string
	Labels      []string
	Open        bool
}

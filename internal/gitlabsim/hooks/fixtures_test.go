package hooks

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"time"
)

// Fixtures shared by the payload tests: a small project with a fork, two
// users and a helper that fakes commit history with deterministic SHAs.

var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))

func testProject() Project {
	return Project{
		ID:                15,
		Name:              "Infra",
		Description:       "Terraform for everything",
		WebURL:            "http://gitlab.test/acme/platform/infra",
		GitSSHURL:         "git@gitlab.test:acme/platform/infra.git",
		GitHTTPURL:        "http://gitlab.test/acme/platform/infra.git",
		Namespace:         "Platform",
		PathWithNamespace: "acme/platform/infra",
		DefaultBranch:     "main",
		VisibilityLevel:   10,
	}
}

func testFork() Project {
	p := testProject()
	p.ID = 16
	p.Namespace = "Alice"
	p.WebURL = "http://gitlab.test/alice/infra"
	p.GitSSHURL = "git@gitlab.test:alice/infra.git"
	p.GitHTTPURL = "http://gitlab.test/alice/infra.git"
	p.PathWithNamespace = "alice/infra"
	return p
}

func testUser() User {
	return User{ID: 4, Name: "John Smith", Username: "jsmith", Email: "john@example.com", AvatarURL: "http://gitlab.test/avatar/4.png"}
}

func testReviewer() User {
	return User{ID: 7, Name: "Alice Doe", Username: "alice", Email: "alice@example.com", AvatarURL: "http://gitlab.test/avatar/7.png"}
}

// sha returns a deterministic 40-hex object name for s.
func sha(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// history returns n commits, oldest first, one minute apart.
func history(n int) []Commit {
	cs := make([]Commit, 0, n)
	for i := range n {
		id := sha(fmt.Sprintf("commit-%d", i))
		cs = append(cs, Commit{
			ID:          id,
			Message:     fmt.Sprintf("change %d\n\nbody of change %d\n", i, i),
			URL:         "http://gitlab.test/acme/platform/infra/-/commit/" + id,
			Timestamp:   t0.Add(time.Duration(i) * time.Minute),
			AuthorName:  "John Smith",
			AuthorEmail: "john@example.com",
			Added:       []string{fmt.Sprintf("stacks/s%d/main.tf", i)},
			Modified:    []string{"README.md"},
		})
	}
	return cs
}

func testMR() MergeRequest {
	last := history(3)[2]
	return MergeRequest{
		ID:            99,
		IID:           3,
		Title:         "Add network stack",
		Description:   "Adds the VPC.",
		State:         "opened",
		Action:        "open",
		SourceBranch:  "feature/vpc",
		TargetBranch:  "main",
		SourceProject: testProject(),
		TargetProject: testProject(),
		Author:        testUser(),
		Assignees:     []User{testUser()},
		Reviewers:     []User{testReviewer()},
		LastCommit:    last,
		Labels:        []Label{{Title: "infra", CreatedAt: t0, UpdatedAt: t0}},
		CreatedAt:     t0,
		UpdatedAt:     t0.Add(time.Hour),
		URL:           "http://gitlab.test/acme/platform/infra/-/merge_requests/3",
	}
}

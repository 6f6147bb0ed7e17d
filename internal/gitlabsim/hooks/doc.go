// Package hooks builds the JSON bodies GitLab sends to project webhooks
// (push, tag push, merge request and merge request note events) and
// delivers them with GitLab's headers, timeout and resend semantics.
//
// It is the webhook half of the GitLab simulator: the simulator core owns
// projects, users and merge requests and hands this package plain values.
// The package therefore never imports the core, only the standard library.
// Payload shapes follow GitLab's documented examples (the testdata/webhooks
// files of gitlab.com/gitlab-org/api/client-go) key for key, so a receiver
// tested against the simulator sees what gitlab.com would send it.
package hooks

package stack

import "time"

// MRLock holds a stack for one merge request between its /hoist apply and
// its merge or close (or /hoist unlock).
type MRLock struct {
	StackID         string
	MergeRequestIID int64
	MergeRequestURL string
	LockedBy        string // the GitLab username who ran /hoist apply
	RunID           string // the apply run, "" until it is created
	LockedAt        time.Time
	// HeadSHA is the merge request head the apply ran on, and MRStacks the
	// stacks the merge request changed then: automerge waits for all of
	// them to have applied at that head.
	HeadSHA  string
	MRStacks []string
}

// MRMerge is a merge request that applied a stack before its merge (it
// held the stack's lock) and was merged. The tracked branch's run on the
// merged commit should plan no changes; the merge request's note says
// whether it did.
type MRMerge struct {
	StackID         string
	MergeRequestIID int64
	MergeRequestURL string
	HeadSHA         string // the merge request's head when merged
	MergeCommitSHA  string // "" for a fast-forward merge
	MergedAt        time.Time
	ByHoist         bool // Hoist merged it (automerge)
}

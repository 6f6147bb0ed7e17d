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
}

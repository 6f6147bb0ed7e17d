package stack

import "time"

// Drift is a stack's drift mark (issue 21): what its last finished drift
// run found. A stack never checked has none.
type Drift struct {
	StackID string
	// Drifted says the last drift run's plan was not empty: the
	// infrastructure no longer matches the tracked commit.
	Drifted bool
	RunID   string // the drift run that set the mark
	// Changes are what that plan would change to bring the
	// infrastructure back (empty when not drifted).
	Changes   []DriftChange
	CheckedAt time.Time // when that run finished
	ChangedAt time.Time // when Drifted last changed
}

// DriftChange is one resource a drift run's plan would change.
type DriftChange struct {
	Address string `json:"address"`
	Action  string `json:"action"` // create, update, delete, replace, read, import
}

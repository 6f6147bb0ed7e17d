// Package trigger decides which stacks of a repository run for a repository
// event (SPEC §3, §4.2): which stacks the changed files affect, the default
// push policy as one replaceable function of (event, stack), and the plan
// of runs to create, runs to cancel and merge request links to add, with
// deduplication and the per-event run cap.
//
// Everything here is pure: no I/O, no clock. The caller loads the stacks
// and runs (only those of the stacks Decide chose, Decisions.RunStacks),
// computes the changed files (SPEC §4.1), and persists a Plan's actions in
// one transaction.
package trigger

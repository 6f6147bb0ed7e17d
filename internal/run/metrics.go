package run

import "time"

// Metrics is told what runs do, for monitoring (internal/metrics
// implements it with Prometheus).
type Metrics interface {
	// RunPhaseDone is told, once the transition committed, that a run
	// left phase after d in it.
	RunPhaseDone(phase State, d time.Duration)
}

// ObservePhases tells m how long each run of evs spent in the state it
// left. Call it after the events' transaction committed: a rolled-back
// transition did not happen.
func ObservePhases(m Metrics, evs []Event) {
	if m == nil {
		return
	}
	for _, ev := range evs {
		if ev.From == "" || ev.Since.IsZero() {
			continue // a new run, or a merge request attached
		}
		m.RunPhaseDone(ev.From, max(ev.Run.UpdatedAt.Sub(ev.Since), 0))
	}
}

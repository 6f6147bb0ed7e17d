package jobqueue

// ShutdownBegun reports whether Shutdown has closed the queue to new
// fetches, so tests can order work after it without sleeping.
func ShutdownBegun(q *Queue) bool {
	q.mu.Lock()
	quit := q.quit
	q.mu.Unlock()
	if quit == nil {
		return false
	}
	select {
	case <-quit:
		return true
	default:
		return false
	}
}

package sqlstore

// Topics of the wake-ups that servers sharing one database send each other
// (docs/design/replicas.md): jobs were enqueued (the job queue), runs
// changed (the scheduler and the workers waiting for a lease), GitLab
// writes were enqueued (the write-back dispatcher).
const (
	TopicJobs   = "jobs"
	TopicRuns   = "runs"
	TopicWrites = "writes"
)

// Wakes carries wake-ups to the other servers on the same database, so that
// work one server commits is taken by any of them at once rather than at
// their next poll. The polls stay: a wake-up is a hint, never the only way
// work is found.
type Wakes interface {
	// Publish tells the other servers that work of topic was committed.
	// It never blocks; call it after the commit.
	Publish(topic string)
	// Subscribe calls fn whenever another server published topic, and
	// once after any time the server may have missed wake-ups (its listen
	// connection was lost). fn must not block.
	Subscribe(topic string, fn func())
	// Close stops listening and publishing; the store calls it.
	Close() error
}

// noWakes is Wakes for a database only one process uses (SQLite): every
// wake-up is in-process already.
type noWakes struct{}

func (noWakes) Publish(string)           {}
func (noWakes) Subscribe(string, func()) {}
func (noWakes) Close() error             { return nil }

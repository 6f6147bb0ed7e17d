package vcsagent

import "time"

// Presence is one agent connected to one server process, as that server
// announces it in the database so that the other servers on the same
// database can relay GitLab calls through it (docs/design/replicas.md).
// A server rewrites its rows when an agent connects or disconnects and at
// every heartbeat; rows whose SeenAt is older than the presence lifetime
// belong to a server that stopped without saying so, and are ignored.
type Presence struct {
	ServerID    string // random per server process
	Address     string // where the other servers reach it (--advertise-url)
	Pool        string
	AgentID     string
	AgentName   string
	Streams     int
	ConnectedAt time.Time
	SeenAt      time.Time
}

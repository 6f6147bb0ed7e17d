package api

import "time"

// VCSAgent is one agent process connected to the server.
type VCSAgent struct {
	// random per agent process
	ID string `json:"id"`
	// host name the agent reported
	Name string `json:"name"`
	// open streams (its --parallelism when healthy)
	Streams int `json:"streams"`
	// streams carrying a request now
	Busy        int       `json:"busy"`
	ConnectedAt time.Time `json:"connected_at"`
}

// VCSAgentPool is a VCS agent pool.
type VCSAgentPool struct {
	// slug of the name; integrations name it as private://<id>
	ID   string `json:"id"`
	Name string `json:"name"`
	// the space that owns the pool; integrations in it and in the spaces
	// below it may use it
	Space string `json:"space"`
	// markdown
	Description string `json:"description"`
	// only in the answers to create and rotate-token
	Token string `json:"token,omitempty"`
	// agent processes connected to any live server process on the database
	ConnectedAgents int `json:"connected_agents"`
	// only for admins of the pool's space (absent, not empty, for its
	// readers: "none connected" and "not yours to see" must not look alike)
	Agents         []VCSAgent `json:"agents,omitzero"`
	CreatedAt      time.Time  `json:"created_at"`
	CreatedBy      string     `json:"created_by"`
	TokenRotatedAt time.Time  `json:"token_rotated_at"`
}

// CreateVCSAgentPool is the body of POST /api/v1/vcs-agent-pools.
type CreateVCSAgentPool struct {
	Name string `json:"name"`
	// id of the owning space (default root); needs admin on it
	Space string `json:"space,omitempty"`
	// markdown
	Description string `json:"description,omitempty"`
}

// UpdateVCSAgentPool is the body of PATCH /api/v1/vcs-agent-pools/{id};
// absent fields are left alone.
type UpdateVCSAgentPool struct {
	// move the pool here (admin on both spaces)
	Space *string `json:"space,omitempty"`
	// markdown
	Description *string `json:"description,omitempty"`
}

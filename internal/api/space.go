package api

import "time"

// Space is a node of the space tree.
type Space struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Parent      string    `json:"parent"`
	Inherit     bool      `json:"inherit"`
	Description string    `json:"description"`
	Labels      []string  `json:"labels"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CreateSpace is the body of POST /api/v1/spaces. Inherit is a pointer so
// that leaving it out keeps the server's default (true).
type CreateSpace struct {
	Name        string   `json:"name"`
	Parent      string   `json:"parent,omitempty"`
	Inherit     *bool    `json:"inherit,omitempty"`
	Description string   `json:"description,omitempty"`
	Labels      []string `json:"labels,omitempty"`
}

// UpdateSpace is the body of PATCH /api/v1/spaces/{id}: absent fields are
// left unchanged.
type UpdateSpace struct {
	Name        *string   `json:"name,omitempty"`
	Parent      *string   `json:"parent,omitempty"`
	Inherit     *bool     `json:"inherit,omitempty"`
	Description *string   `json:"description,omitempty"`
	Labels      *[]string `json:"labels,omitempty"`
}

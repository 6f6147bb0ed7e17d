package api

import "time"

// AuditEntry is one entry of the audit log: who did what to which
// resource. Detail names changed fields, never secret values.
type AuditEntry struct {
	ID           string         `json:"id"`
	At           time.Time      `json:"at"`
	Actor        string         `json:"actor"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Space        string         `json:"space"`
	Detail       map[string]any `json:"detail"`
}

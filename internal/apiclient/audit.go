package apiclient

import (
	"context"
	"iter"
	"net/url"
	"time"
)

// AuditEntry is one entry of the audit log: who did what to which resource.
// Detail names changed fields, never secret values.
type AuditEntry struct {
	ID           string         `json:"id"`
	At           time.Time      `json:"at"`
	Actor        string         `json:"actor"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Space        string         `json:"space,omitempty"`
	Detail       map[string]any `json:"detail,omitempty"`
}

// AuditFilter narrows an audit listing; empty fields do not filter.
type AuditFilter struct {
	ResourceType string
	ResourceID   string
}

// Audit yields audit entries, newest first, following next_cursor. Only
// root admins may read the audit log.
func (c *Client) Audit(ctx context.Context, f AuditFilter) iter.Seq2[AuditEntry, error] {
	q := url.Values{}
	if f.ResourceType != "" {
		q.Set("resource_type", f.ResourceType)
	}
	if f.ResourceID != "" {
		q.Set("resource_id", f.ResourceID)
	}
	return pages[AuditEntry](ctx, c, "/api/v1/audit", q)
}

// ListAudit returns every audit entry matching f, newest first.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	return collect(c.Audit(ctx, f))
}

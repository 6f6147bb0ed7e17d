package apiclient

import (
	"context"
	"iter"
	"net/url"

	"github.com/hoistdev/hoist/internal/api"
)

// AuditFilter narrows an audit listing; empty fields do not filter.
type AuditFilter struct {
	ResourceType string
	ResourceID   string
}

// Audit yields audit entries, newest first, following next_cursor. Only
// root admins may read the audit log.
func (c *Client) Audit(ctx context.Context, f AuditFilter) iter.Seq2[api.AuditEntry, error] {
	q := url.Values{}
	if f.ResourceType != "" {
		q.Set("resource_type", f.ResourceType)
	}
	if f.ResourceID != "" {
		q.Set("resource_id", f.ResourceID)
	}
	return pages[api.AuditEntry](ctx, c, "/api/v1/audit", q)
}

// ListAudit returns every audit entry matching f, newest first.
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) ([]api.AuditEntry, error) {
	return collect(c.Audit(ctx, f))
}

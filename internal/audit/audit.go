// Package audit records who changed what and when. Entries are written by the
// stores in the same transaction as the change they describe, so the log and
// the data never disagree; they never contain secret values.
package audit

import (
	"context"
	"time"
)

// Entry is one audited change.
type Entry struct {
	ID           int64     // assigned by the store, increasing
	At           time.Time // UTC
	Actor        string    // principal: "user:<id>" or "apikey:<id>"
	Action       string    // e.g. "integration.create", "integration.rotate_webhook_secret"
	ResourceType string    // e.g. "integration"
	ResourceID   string
	SpaceID      string
	Detail       map[string]any // e.g. {"fields": ["labels","token"]}; names, never secret values
}

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	ResourceType string
	ResourceID   string
	Actor        string // a principal, exactly: "user:admin", "apikey:<id>", "anonymous"
	// Action is one action ("user.disable"), or, without a dot, a family:
	// "user" matches every "user.…" action.
	Action  string
	SpaceID string
	// Since and Until bound At to [Since, Until); a zero time leaves that
	// side open.
	Since, Until time.Time
}

// Store persists audit entries.
type Store interface {
	// AppendAudit writes e on its own (changes stored elsewhere pass their
	// entry to the store method that makes the change instead).
	AppendAudit(ctx context.Context, e Entry) error
	// ListAudit returns up to limit entries matching f, newest first,
	// starting after cursor ("" for the first page), and the cursor of the
	// next page ("" when there is none).
	ListAudit(ctx context.Context, f Filter, cursor string, limit int) ([]Entry, string, error)
}

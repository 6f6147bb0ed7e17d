package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// hotStatements prepares the queries that run on every webhook request
// once per connection instead of parsing them every time (on SQLite the
// parse costs more than the indexed read itself).
type hotStatements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// hotQueryRow runs a read through a statement prepared on the read pool.
func (s *Store) hotQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	h := &s.hot
	h.mu.Lock()
	st, ok := h.stmts[query]
	if !ok {
		var err error
		if st, err = s.r.PrepareContext(ctx, s.d.Rebind(query)); err != nil {
			h.mu.Unlock()
			return s.queryRow(ctx, s.r, query, args...) // reports the same error
		}
		if h.stmts == nil {
			h.stmts = map[string]*sql.Stmt{}
		}
		h.stmts[query] = st
	}
	h.mu.Unlock()
	return st.QueryRowContext(ctx, args...)
}

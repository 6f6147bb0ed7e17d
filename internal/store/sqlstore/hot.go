package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// hotStatements prepares the statements of the webhook hot path once per
// connection instead of parsing them every time: on SQLite the parse of a
// batch's multi-row INSERT costs a quarter of the insert, and the parse of
// the per-request secret lookup more than the indexed read itself.
type hotStatements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt // keyed by pool and query
}

// hotStmt returns query prepared on db (database/sql prepares it again on
// each connection it runs on, once).
func (s *Store) hotStmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := query
	if db != s.w {
		key = "r:" + query
	}
	h := &s.hot
	h.mu.Lock()
	defer h.mu.Unlock()
	if st, ok := h.stmts[key]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, s.d.Rebind(query))
	if err != nil {
		return nil, err
	}
	if h.stmts == nil {
		h.stmts = map[string]*sql.Stmt{}
	}
	h.stmts[key] = st
	return st, nil
}

// hotQueryRow runs a read through a statement prepared on the read pool
// (in an InTx transaction, through the transaction).
func (s *Store) hotQueryRow(ctx context.Context, query string, args ...any) rowScanner {
	if s.ambient(ctx) != nil {
		return s.queryRow(ctx, s.r, query, args...)
	}
	st, err := s.hotStmt(ctx, s.r, query)
	if err != nil {
		return s.queryRow(ctx, s.r, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

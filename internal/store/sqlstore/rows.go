package sqlstore

import (
	"context"
	"slices"
)

// rowScanner is what the scan functions read from: a *sql.Row or *sql.Rows.
type rowScanner = interface{ Scan(...any) error }

// queryAll runs query on q and reads every row with scan. The result is
// never nil, so an empty list encodes as [] rather than null.
func queryAll[T any](ctx context.Context, s *Store, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// scanString reads a one-column row of text (an id).
func scanString(row rowScanner) (string, error) {
	var v string
	err := row.Scan(&v)
	return v, err
}

// page cuts a list read with LIMIT limit+1 down to limit rows and returns
// the cursor of the page after it, made from the last row kept, or "" when
// this was the last page.
func page[T any](out []T, limit int, cursor func(T) string) ([]T, string) {
	if len(out) <= limit {
		return out, ""
	}
	out = out[:limit]
	return out, cursor(out[limit-1])
}

// afterID returns the keyset condition of a listing ordered by id that
// resumes after cursor, with its arguments.
func afterID(cursor string) (string, []any, error) {
	if cursor == "" {
		return "1 = 1", nil, nil
	}
	after, err := parseIDCursor(cursor)
	if err != nil {
		return "", nil, err
	}
	return "id > ?", []any{after}, nil
}

// inSpaces is the WHERE of a page of things listed by id that belong to
// spaces: after cursor, and in spaces unless all. none says the reader may
// see no space at all: the page is empty, without a query.
func inSpaces(cursor string, all bool, spaces []string) (where string, args []any, none bool, err error) {
	where, args, err = afterID(cursor)
	if err != nil || all {
		return where, args, false, err
	}
	if len(spaces) == 0 {
		return "", nil, true, nil
	}
	cond, spaceArgs := in("space_id", spaces)
	return where + " AND " + cond, append(args, spaceArgs...), false, nil
}

// maxInList bounds the values one IN list of stack ids names: a list of
// every stack of a repository of more than 32,766 would pass SQLite's
// limit on a statement's parameters (PostgreSQL's is 65,535).
const maxInList = 1000

// inChunks calls fn with "col IN (?, …)" over at most maxInList of vals at
// a time, and those values as arguments; it stops at the first error.
func inChunks(col string, vals []string, fn func(cond string, args []any) error) error {
	for chunk := range slices.Chunk(vals, maxInList) {
		if err := fn(in(col, chunk)); err != nil {
			return err
		}
	}
	return nil
}

// in returns "col IN (?, …)" over vals, with vals as arguments; vals must
// not be empty.
func in(col string, vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return col + " IN (" + placeholders(len(vals)) + ")", args
}

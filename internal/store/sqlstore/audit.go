package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
)

// errNoAction refuses audit entries that would say nothing.
var errNoAction = errors.New("audit entry has no action or time")

// AppendAudit implements audit.Store.
func (s *Store) AppendAudit(ctx context.Context, e audit.Entry) error {
	return wrapInternal(s.appendAudit(ctx, s.w, e), "append audit entry")
}

// appendAudit writes e with q, which is the transaction of the change e
// describes when there is one.
func (s *Store) appendAudit(ctx context.Context, q querier, e audit.Entry) error {
	if e.Action == "" || e.At.IsZero() {
		return fmt.Errorf("audit entry %+v: %w", e, errNoAction)
	}
	detail := e.Detail
	if detail == nil {
		detail = map[string]any{}
	}
	d, err := jsonArg(detail)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, q, `INSERT INTO audit_log (at, actor, action, resource_type, resource_id, space_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.t(e.At), e.Actor, e.Action, e.ResourceType, e.ResourceID, e.SpaceID, d)
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// ListAudit implements audit.Store.
func (s *Store) ListAudit(ctx context.Context, f audit.Filter, cursor string, limit int) ([]audit.Entry, string, error) {
	limit = clampLimit(limit)
	where, args := "1 = 1", []any{}
	if cursor != "" {
		before, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil {
			return nil, "", apperr.InvalidField("cursor", "is not a cursor returned by this list")
		}
		where += " AND id < ?"
		args = append(args, before)
	}
	if f.ResourceType != "" {
		where += " AND resource_type = ?"
		args = append(args, f.ResourceType)
	}
	if f.ResourceID != "" {
		where += " AND resource_id = ?"
		args = append(args, f.ResourceID)
	}
	w, a := s.auditFilter(f)
	where, args = where+w, append(args, a...)
	out, err := queryAll(ctx, s, s.r, func(row rowScanner) (audit.Entry, error) {
		var e audit.Entry
		err := row.Scan(&e.ID, timeScan{&e.At}, &e.Actor, &e.Action, &e.ResourceType, &e.ResourceID,
			&e.SpaceID, jsonScan{&e.Detail})
		return e, err
	}, `SELECT id, at, actor, action, resource_type, resource_id, space_id, detail
		FROM audit_log WHERE `+where+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list audit: %w", err)
	}
	out, next := page(out, limit, func(e audit.Entry) string { return strconv.FormatInt(e.ID, 10) })
	return out, next, nil
}

// auditFilter is the SQL of the filters beyond the resource: actor, action
// (one, or a family by its prefix), space and the time range.
func (s *Store) auditFilter(f audit.Filter) (string, []any) {
	where, args := "", []any{}
	if f.Actor != "" {
		where += " AND actor = ?"
		args = append(args, f.Actor)
	}
	switch {
	case f.Action == "":
	case strings.Contains(f.Action, "."):
		where += " AND action = ?"
		args = append(args, f.Action)
	default:
		// substr rather than LIKE: no wildcard in the value to escape,
		// and the same (case-sensitive) answer on both databases.
		prefix := f.Action + "."
		where += " AND substr(action, 1, ?) = ?"
		args = append(args, utf8.RuneCountInString(prefix), prefix)
	}
	if f.SpaceID != "" {
		where += " AND space_id = ?"
		args = append(args, f.SpaceID)
	}
	if !f.Since.IsZero() {
		where += " AND at >= ?"
		args = append(args, s.t(f.Since))
	}
	if !f.Until.IsZero() {
		where += " AND at < ?"
		args = append(args, s.t(f.Until))
	}
	return where, args
}

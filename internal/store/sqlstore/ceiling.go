package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
)

// A personal API key's ceiling (issue 20): api_keys.max_role and
// space_limited, and the listed spaces in api_key_spaces.

// insertKeySpaces stores the spaces of k's ceiling, in tx.
func (s *Store) insertKeySpaces(ctx context.Context, tx *sql.Tx, k identity.APIKey) error {
	for _, id := range k.Ceiling.Spaces {
		if _, err := s.exec(ctx, tx, "INSERT INTO api_key_spaces (key_id, space_id) VALUES (?, ?)", k.ID, id); err != nil {
			return fmt.Errorf("ceiling space %s: %w", id, err)
		}
	}
	return nil
}

// withKeySpaces fills in the ceiling spaces of the space-limited keys, in
// one query.
func (s *Store) withKeySpaces(ctx context.Context, keys []identity.APIKey) ([]identity.APIKey, error) {
	var args []any
	at := map[string]int{}
	for i, k := range keys {
		if k.Ceiling.Limited {
			args, at[k.ID] = append(args, k.ID), i
		}
	}
	if len(args) == 0 {
		return keys, nil
	}
	rows, err := queryAll(ctx, s, s.r, scanKeySpace, "SELECT key_id, space_id FROM api_key_spaces WHERE key_id IN ("+
		placeholders(len(args))+") ORDER BY key_id, space_id", args...)
	if err != nil {
		return nil, fmt.Errorf("ceiling spaces: %w", err)
	}
	for _, r := range rows {
		k := &keys[at[r[0]]]
		k.Ceiling.Spaces = append(k.Ceiling.Spaces, r[1])
	}
	return keys, nil
}

func scanKeySpace(row rowScanner) ([2]string, error) {
	var r [2]string
	err := row.Scan(&r[0], &r[1])
	return r, err
}

// Ceiling implements space.BindingStore: the ceiling of a personal key,
// the zero Ceiling for every other principal.
func (s *Store) Ceiling(ctx context.Context, principal string) (space.Ceiling, error) {
	kind, id, err := identity.ParsePrincipal(principal)
	if err != nil || kind != identity.KindAPIKey {
		return space.Ceiling{}, nil
	}
	type row struct {
		maxRole string
		limited bool
		spaceID sql.NullString
	}
	rows, err := queryAll(ctx, s, s.r, func(r rowScanner) (row, error) {
		var x row
		return x, r.Scan(&x.maxRole, &x.limited, &x.spaceID)
	}, `SELECT k.max_role, k.space_limited, ks.space_id FROM api_keys k
		LEFT JOIN api_key_spaces ks ON ks.key_id = k.id WHERE k.id = ? AND k.personal ORDER BY ks.space_id`, id)
	if err != nil {
		return space.Ceiling{}, fmt.Errorf("ceiling of %s: %w", principal, err)
	}
	var c space.Ceiling
	for _, r := range rows {
		c.Max, c.Limited = space.Role(r.maxRole), r.limited
		if r.spaceID.Valid {
			c.Spaces = append(c.Spaces, r.spaceID.String)
		}
	}
	return c, nil
}

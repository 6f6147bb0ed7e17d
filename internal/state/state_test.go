package state_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/state"
	"github.com/hoistdev/hoist/internal/store/dbtest"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// grants is a hand-written Authorizer: run id → grant.
type grants map[string]state.Grant

func (g grants) AuthorizeState(_ context.Context, stackID, runID, token string) (state.Grant, error) {
	gr, ok := g[runID]
	if !ok || token != "t-"+runID || gr.StackID != stackID {
		return state.Grant{}, apperr.Errorf(apperr.Unauthorized, "no")
	}
	return gr, nil
}

func setup(t *testing.T, dialect string) (*state.Service, grants, *sqlstore.Store) {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	g := grants{"tracked": {StackID: "web", RunID: "tracked", Write: true}, "other": {StackID: "web", RunID: "other", Write: true},
		"proposed": {StackID: "web", RunID: "proposed"}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := dbtest.Open(t, dialect)
	return state.NewService(store, box, g, func() time.Time { return now }), g, store
}

const doc = `{"version":4,"serial":%d,"lineage":"L1","outputs":{"pw":{"value":"hunter2"}},"resources":[]}`

func body(serial int) []byte { return []byte(strings.Replace(doc, "%d", string(rune('0'+serial)), 1)) }

func TestStateVersionsAndLocks(t *testing.T) {
	t.Parallel()
	for _, d := range dbtest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, g, store := setup(t, d)
			if _, err := s.Authorize(ctx, "web", "tracked", "wrong"); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("wrong token = %v", err)
			}
			if _, err := s.Authorize(ctx, "api", "tracked", "t-tracked"); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("token of another stack = %v", err)
			}
			if cur, err := s.Current(ctx, g["tracked"]); cur != nil || err != nil {
				t.Fatalf("empty state = %q, %v", cur, err)
			}
			if _, err := s.Put(ctx, g["proposed"], "", body(1)); !apperr.Is(err, apperr.Forbidden) {
				t.Fatalf("proposed write = %v", err)
			}
			if _, err := s.Lock(ctx, g["proposed"], []byte(`{"ID":"p"}`)); !apperr.Is(err, apperr.Forbidden) {
				t.Fatalf("proposed lock = %v", err)
			}
			if _, err := s.Lock(ctx, g["tracked"], []byte(`{"ID":"lock-1","Who":"tracked"}`)); err != nil {
				t.Fatal(err)
			}
			_, err := s.Lock(ctx, g["other"], []byte(`{"ID":"lock-2"}`))
			var held *state.HeldError
			if !errors.As(err, &held) || held.Lock.ID != "lock-1" || !strings.Contains(string(held.Lock.Info), `"Who":"tracked"`) {
				t.Fatalf("second lock = %v", err)
			}
			if _, err := s.Put(ctx, g["other"], "lock-2", body(1)); !apperr.Is(err, apperr.Conflict) {
				t.Fatalf("write under another lock = %v", err)
			}
			if _, err := s.Put(ctx, g["tracked"], "lock-1", []byte(`{"not":"a state"}`)); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("bad body = %v", err)
			}
			for i := 1; i <= 3; i++ {
				first, err := s.Put(ctx, g["tracked"], "lock-1", body(i))
				if err != nil {
					t.Fatal(err)
				}
				// OpenTofu sends a state again when the answer was late:
				// the same document is the same version.
				again, err := s.Put(ctx, g["tracked"], "lock-1", body(i))
				if err != nil || again.ID != first.ID {
					t.Fatalf("serial %d sent twice: versions %d and %d (%v)", i, first.ID, again.ID, err)
				}
			}
			if err := s.Unlock(ctx, g["tracked"], []byte(`{"ID":"lock-1"}`)); err != nil {
				t.Fatal(err)
			}
			if cur, err := s.Current(ctx, g["proposed"]); err != nil || string(cur) != string(body(3)) {
				t.Fatalf("current = %s, %v", cur, err)
			}
			var raw []byte
			if err := store.DB().QueryRow("SELECT body_sealed FROM state_versions ORDER BY id DESC LIMIT 1").Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(raw), "hunter2") || strings.Contains(string(raw), "lineage") {
				t.Fatal("a state is stored in plaintext")
			}
			vs, next, err := s.Versions(ctx, "web", "", 2)
			if err != nil || len(vs) != 2 || vs[0].Serial != 3 || vs[1].Serial != 2 || next == "" || vs[0].RunID != "tracked" {
				t.Fatalf("first page = %+v, %q, %v", vs, next, err)
			}
			vs, next, err = s.Versions(ctx, "web", next, 2)
			if err != nil || len(vs) != 1 || vs[0].Serial != 1 || next != "" {
				t.Fatalf("second page = %+v, %q, %v", vs, next, err)
			}
		})
	}
}

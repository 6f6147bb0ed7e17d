// Package state is Hoist's managed OpenTofu state (SPEC §4.4): every stack's
// state served to its runs through OpenTofu's built-in http backend, with
// locking, every version kept (sealed at rest: states hold secrets), and
// access only with the short-lived token of a run of that stack.
package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
)

// MaxStateBytes bounds one state document.
const MaxStateBytes = 64 << 20

// Version is one stored state of a stack.
type Version struct {
	ID        int64
	StackID   string
	Serial    int64
	Lineage   string
	RunID     string // the run that wrote it
	Size      int64
	CreatedAt time.Time
}

// Lock is the http backend's lock of one stack, held by a run.
type Lock struct {
	StackID   string
	ID        string          // OpenTofu's lock id
	Info      json.RawMessage // OpenTofu's lock info, returned to whoever finds it locked
	RunID     string
	CreatedAt time.Time
}

// Store keeps state versions and locks.
type Store interface {
	// LatestStateVersion returns the newest version and its sealed body, or
	// apperr.NotFound when the stack has no state yet.
	LatestStateVersion(ctx context.Context, stackID string) (Version, []byte, error)
	// CreateStateVersion stores a version and returns it with its id.
	CreateStateVersion(ctx context.Context, v Version, sealed []byte) (Version, error)
	// ListStateVersions pages a stack's versions, newest first.
	ListStateVersions(ctx context.Context, stackID, cursor string, limit int) ([]Version, string, error)
	// LockState takes the stack's lock; when another lock holds it, ok is
	// false and held is that lock.
	LockState(ctx context.Context, l Lock) (held Lock, ok bool, err error)
	// GetStateLock returns the stack's lock, or NotFound.
	GetStateLock(ctx context.Context, stackID string) (Lock, error)
	// UnlockState releases the lock id of the stack; false when it was not
	// held under that id.
	UnlockState(ctx context.Context, stackID, lockID string) (bool, error)
}

// Grant is what a run's token allows.
type Grant struct {
	StackID string
	RunID   string
	Write   bool // tracked runs and tasks; proposed runs only read
}

// Authorizer checks a run's state token (the http backend's basic-auth
// username is the run id, the password its token).
type Authorizer interface {
	AuthorizeState(ctx context.Context, stackID, runID, token string) (Grant, error)
}

// Service serves states.
type Service struct {
	store Store
	box   *secret.Box
	auth  Authorizer
	now   func() time.Time
}

// NewService returns the state service.
func NewService(store Store, box *secret.Box, auth Authorizer, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, box: box, auth: auth, now: now}
}

// Authorize checks a run's credentials for the stack.
func (s *Service) Authorize(ctx context.Context, stackID, runID, token string) (Grant, error) {
	if runID == "" || token == "" {
		return Grant{}, apperr.Errorf(apperr.Unauthorized, "state access needs the run's credentials (basic auth: run id and run token)")
	}
	return s.auth.AuthorizeState(ctx, stackID, runID, token)
}

func aad(stackID, lineage string, serial int64) []byte {
	return secret.AAD("state_versions", stackID, lineage+"/"+strconv.FormatInt(serial, 10))
}

// Current returns the stack's newest state document, or nil when it has
// none.
func (s *Service) Current(ctx context.Context, g Grant) ([]byte, error) {
	v, sealed, err := s.store.LatestStateVersion(ctx, g.StackID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	body, err := s.box.Open(sealed, aad(v.StackID, v.Lineage, v.Serial))
	if err != nil {
		return nil, fmt.Errorf("open state version %d of stack %s: %w", v.ID, v.StackID, err)
	}
	return body, nil
}

// header is the part of a state document a version records.
type header struct {
	Serial  *int64 `json:"serial"`
	Lineage string `json:"lineage"`
}

// Put stores a new state version. When the stack is locked, lockID must be
// that lock's id.
func (s *Service) Put(ctx context.Context, g Grant, lockID string, body []byte) (Version, error) {
	if !g.Write {
		return Version{}, apperr.Errorf(apperr.Forbidden, "run %s may only read the state of stack %s", g.RunID, g.StackID)
	}
	var h header
	if err := json.Unmarshal(body, &h); err != nil || h.Serial == nil || h.Lineage == "" {
		return Version{}, apperr.Errorf(apperr.Invalid, "the body is not an OpenTofu state (JSON with serial and lineage)")
	}
	l, err := s.store.GetStateLock(ctx, g.StackID)
	switch {
	case err == nil && l.ID != lockID:
		return Version{}, apperr.Errorf(apperr.Conflict, "the state of stack %s is locked by run %s (lock %s)", g.StackID, l.RunID, l.ID)
	case err != nil && !apperr.Is(err, apperr.NotFound):
		return Version{}, err
	}
	if v, ok, err := s.repeated(ctx, g, h, body); err != nil || ok {
		return v, err
	}
	v := Version{StackID: g.StackID, Serial: *h.Serial, Lineage: h.Lineage, RunID: g.RunID, Size: int64(len(body)), CreatedAt: s.now()}
	return s.store.CreateStateVersion(ctx, v, s.box.Seal(body, aad(v.StackID, v.Lineage, v.Serial)))
}

// repeated returns the stack's newest version when body is that version
// again, written by the same run: OpenTofu's http backend sends a state
// again when the answer to the first POST did not reach it in time (a
// loaded server), and a state persisted with nothing changed keeps its
// serial. One write is one version.
func (s *Service) repeated(ctx context.Context, g Grant, h header, body []byte) (Version, bool, error) {
	last, sealed, err := s.store.LatestStateVersion(ctx, g.StackID)
	if apperr.Is(err, apperr.NotFound) {
		return Version{}, false, nil
	}
	if err != nil {
		return Version{}, false, err
	}
	if last.RunID != g.RunID || last.Lineage != h.Lineage || last.Serial != *h.Serial || last.Size != int64(len(body)) {
		return Version{}, false, nil
	}
	prev, err := s.box.Open(sealed, aad(last.StackID, last.Lineage, last.Serial))
	if err != nil {
		return Version{}, false, fmt.Errorf("open state version %d of stack %s: %w", last.ID, last.StackID, err)
	}
	return last, bytes.Equal(prev, body), nil
}

// lockInfo is the part of OpenTofu's lock info the service reads.
type lockInfo struct {
	ID string `json:"ID"`
}

// Lock takes the stack's state lock for the run. When it is held, the
// Conflict's detail is the holder's lock info (returned by LockHeld).
func (s *Service) Lock(ctx context.Context, g Grant, info []byte) (Lock, error) {
	if !g.Write {
		return Lock{}, apperr.Errorf(apperr.Forbidden, "run %s may only read the state of stack %s; plan with -lock=false", g.RunID, g.StackID)
	}
	var li lockInfo
	if err := json.Unmarshal(info, &li); err != nil || li.ID == "" {
		return Lock{}, apperr.Errorf(apperr.Invalid, "the body is not an OpenTofu lock info (JSON with an ID)")
	}
	l := Lock{StackID: g.StackID, ID: li.ID, Info: info, RunID: g.RunID, CreatedAt: s.now()}
	held, ok, err := s.store.LockState(ctx, l)
	if err != nil {
		return Lock{}, err
	}
	if !ok {
		return held, &HeldError{Lock: held}
	}
	return l, nil
}

// HeldError says the state is locked by another lock.
type HeldError struct{ Lock Lock }

func (e *HeldError) Error() string {
	return fmt.Sprintf("the state of stack %s is locked by run %s", e.Lock.StackID, e.Lock.RunID)
}

// Unlock releases the run's lock. Unlocking a lock that is not held is
// not an error when nobody holds the state (OpenTofu retries unlocks).
func (s *Service) Unlock(ctx context.Context, g Grant, info []byte) error {
	if !g.Write {
		return apperr.Errorf(apperr.Forbidden, "run %s may only read the state of stack %s", g.RunID, g.StackID)
	}
	var li lockInfo
	if err := json.Unmarshal(info, &li); err != nil || li.ID == "" {
		return apperr.Errorf(apperr.Invalid, "the body is not an OpenTofu lock info (JSON with an ID)")
	}
	ok, err := s.store.UnlockState(ctx, g.StackID, li.ID)
	if err != nil || ok {
		return err
	}
	held, err := s.store.GetStateLock(ctx, g.StackID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return apperr.Errorf(apperr.Conflict, "the state of stack %s is locked by run %s under another lock id", g.StackID, held.RunID)
}

// Versions lists a stack's state versions, newest first. The caller checks
// that the principal may read the stack.
func (s *Service) Versions(ctx context.Context, stackID, cursor string, limit int) ([]Version, string, error) {
	return s.store.ListStateVersions(ctx, stackID, cursor, limit)
}

package run

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
)

// EmbeddedPool is the pool of the workers inside the server (SPEC §1).
const EmbeddedPool = "embedded"

// Pool is a named pool of remote workers; its token is stored hashed.
type Pool struct {
	ID        string
	Name      string
	TokenHash string
	CreatedAt time.Time
	CreatedBy string
}

// PoolStore keeps worker pools.
type PoolStore interface {
	CreateWorkerPool(ctx context.Context, p Pool) error
	ListWorkerPools(ctx context.Context) ([]Pool, error)
	// WorkerPoolByTokenHash is NotFound for an unknown token.
	WorkerPoolByTokenHash(ctx context.Context, hash string) (Pool, error)
	DeleteWorkerPool(ctx context.Context, id string) error
}

func (s *Service) rootAdmin(ctx context.Context, principal string) error {
	a, _, err := s.cfg.Access.Access(ctx, principal)
	if err != nil {
		return err
	}
	if !a.IsRootAdmin() {
		return apperr.Errorf(apperr.Forbidden, "only root admins manage worker pools")
	}
	return nil
}

// NewPoolToken returns a fresh pool token: "hoistpool_" and 43 random
// base64url characters.
func NewPoolToken() string { return "hoistpool_" + rand.Text() + rand.Text()[:17] }

// CreatePool creates a worker pool and returns its token, which is shown
// only here.
func (s *Service) CreatePool(ctx context.Context, principal, name string) (Pool, string, error) {
	if err := s.rootAdmin(ctx, principal); err != nil {
		return Pool{}, "", err
	}
	id := slug.Make(name)
	switch {
	case id == "" || len(name) > 64:
		return Pool{}, "", apperr.InvalidField("name", "must have 1 to 64 characters with at least one letter or digit")
	case id == EmbeddedPool:
		return Pool{}, "", apperr.InvalidField("name", "%q is the server's own pool", EmbeddedPool)
	}
	token := NewPoolToken()
	p := Pool{ID: id, Name: name, TokenHash: secret.HashAPIKey(token), CreatedAt: s.now(), CreatedBy: principal}
	if err := s.cfg.Pools.CreateWorkerPool(ctx, p); err != nil {
		return Pool{}, "", err
	}
	return p, token, nil
}

// Pools lists the worker pools (root admins).
func (s *Service) Pools(ctx context.Context, principal string) ([]Pool, error) {
	if err := s.rootAdmin(ctx, principal); err != nil {
		return nil, err
	}
	return s.cfg.Pools.ListWorkerPools(ctx)
}

// DeletePool deletes a worker pool; its token stops working at once.
func (s *Service) DeletePool(ctx context.Context, principal, id string) error {
	if err := s.rootAdmin(ctx, principal); err != nil {
		return err
	}
	return s.cfg.Pools.DeleteWorkerPool(ctx, id)
}

// EmbeddedToken makes the token the server's own workers use. It lives in
// memory only and changes with every start.
func (s *Service) EmbeddedToken() string {
	token := NewPoolToken()
	s.mu.Lock()
	s.embeddedToken = secret.HashAPIKey(token)
	s.mu.Unlock()
	return token
}

// AuthenticatePool returns the pool of a pool token.
func (s *Service) AuthenticatePool(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", apperr.Errorf(apperr.Unauthorized, "missing pool token")
	}
	s.mu.Lock()
	embedded := s.embeddedToken
	s.mu.Unlock()
	if embedded != "" && secret.CheckAPIKey(token, embedded) {
		return EmbeddedPool, nil
	}
	p, err := s.cfg.Pools.WorkerPoolByTokenHash(ctx, secret.HashAPIKey(token))
	if apperr.Is(err, apperr.NotFound) {
		return "", apperr.Errorf(apperr.Unauthorized, "unknown pool token")
	}
	return p.ID, err
}

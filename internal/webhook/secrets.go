package webhook

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
)

// secretCache keeps decrypted webhook secrets so a delivery costs no AES.
// Every request still reads the sealed secret (one indexed row): that read
// is what makes a rotation or deletion on any server take effect at once
// on every server. The cache entry is valid while the sealed bytes are
// unchanged — a rotation seals with a fresh nonce, so any change of secret
// (or of the row: re-created integration) shows as different bytes.
type secretCache struct {
	store Store
	box   *secret.Box

	mu      sync.RWMutex
	entries map[string]cachedSecret
}

type cachedSecret struct {
	sealed []byte
	plain  []byte
}

func newSecretCache(store Store, box *secret.Box) *secretCache {
	return &secretCache{store: store, box: box, entries: map[string]cachedSecret{}}
}

// secret returns the webhook secret of a GitLab integration, or
// apperr.NotFound.
func (c *secretCache) secret(ctx context.Context, integrationID string) ([]byte, error) {
	sealed, err := c.store.WebhookSecretSealed(ctx, integrationID)
	if apperr.Is(err, apperr.NotFound) {
		c.mu.Lock()
		delete(c.entries, integrationID)
		c.mu.Unlock()
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	e, ok := c.entries[integrationID]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.sealed, sealed) {
		return e.plain, nil
	}
	plain, err := c.box.Open(sealed, secret.AAD("integration", integrationID, "webhook_secret"))
	if err != nil {
		return nil, fmt.Errorf("open webhook secret of %s: %w", integrationID, err)
	}
	c.mu.Lock()
	c.entries[integrationID] = cachedSecret{sealed: sealed, plain: plain}
	c.mu.Unlock()
	return plain, nil
}

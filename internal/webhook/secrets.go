package webhook

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
)

// secretCache keeps decrypted webhook secrets, with the sealed bytes they
// came from, so a delivery costs no AES and no read: the batch transaction
// that stores the delivery confirms the sealed bytes are still the
// integration's (Store.InsertDeliveries), which makes a rotation, update or
// deletion on any server take effect at once. A rotation seals with a fresh
// nonce and a re-created integration has new bytes, so comparing bytes
// cannot mistake an old secret for the current one.
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

// secret returns the webhook secret of a GitLab integration and its sealed
// form — from the cache, unless fresh or not cached — or apperr.NotFound.
func (c *secretCache) secret(ctx context.Context, integrationID string, fresh bool) (plain, sealed []byte, err error) {
	if !fresh {
		c.mu.RLock()
		e, ok := c.entries[integrationID]
		c.mu.RUnlock()
		if ok {
			return e.plain, e.sealed, nil
		}
	}
	sealed, err = c.store.WebhookSecretSealed(ctx, integrationID)
	if err != nil {
		if apperr.Is(err, apperr.NotFound) {
			c.forget(integrationID)
		}
		return nil, nil, err
	}
	c.mu.RLock()
	e, ok := c.entries[integrationID]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.sealed, sealed) {
		return e.plain, e.sealed, nil
	}
	plain, err = c.box.Open(sealed, secret.AAD("integration", integrationID, "webhook_secret"))
	if err != nil {
		return nil, nil, fmt.Errorf("open webhook secret of %s: %w", integrationID, err)
	}
	c.mu.Lock()
	c.entries[integrationID] = cachedSecret{sealed: sealed, plain: plain}
	c.mu.Unlock()
	return plain, sealed, nil
}

// forget drops an integration's cached secret.
func (c *secretCache) forget(integrationID string) {
	c.mu.Lock()
	delete(c.entries, integrationID)
	c.mu.Unlock()
}

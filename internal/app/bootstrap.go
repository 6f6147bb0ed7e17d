package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hoistdev/hoist/internal/identity"
)

// Files the first start writes into the data directory (mode 0600).
const (
	AdminPasswordFile = "admin-password"
	AdminAPIKeyFile   = "admin-api-key"
)

// bootstrap creates root, the admin user and a root-admin API key on an
// empty database and writes the two secrets to files, logging only their
// paths. When several servers start together on one database, the store's
// unique user id lets exactly one of them do it.
func bootstrap(ctx context.Context, log *slog.Logger, ids *identity.Service, dataDir string) error {
	b, err := ids.EnsureBootstrap(ctx)
	if err != nil {
		return fmt.Errorf("first-start bootstrap: %w", err)
	}
	if !b.Created {
		log.Debug("database already bootstrapped")
		return nil
	}
	pw := filepath.Join(dataDir, AdminPasswordFile)
	key := filepath.Join(dataDir, AdminAPIKeyFile)
	if err := errors.Join(writeSecretFile(pw, b.AdminPassword), writeSecretFile(key, b.APIKey)); err != nil {
		return fmt.Errorf("first-start bootstrap: %w", err)
	}
	log.Info("first start: created the root space, the admin user and a root-admin API key",
		"admin_password_file", pw, "admin_api_key_file", key)
	return nil
}

// writeSecretFile writes value to path with mode 0600 atomically (a temp
// file renamed over it), so a crash never leaves half a secret.
func writeSecretFile(path, value string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		return errors.Join(fmt.Errorf("write %s: %w", path, err), tmp.Close())
	}
	_, werr := tmp.WriteString(value + "\n")
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

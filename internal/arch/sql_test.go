package arch

import (
	"strings"
	"testing"
)

// TestOnlyStoresImportSQL: domain packages take no database/sql types and
// no driver; they run transactions through a store's InTx
// (docs/design/transactions.md). Tests may open databases.
func TestOnlyStoresImportSQL(t *testing.T) {
	t.Parallel()
	const stores = "github.com/hoistdev/hoist/internal/store/"
	for _, p := range packages(t) {
		if strings.HasPrefix(p.ImportPath, stores) {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "database/sql" || strings.HasPrefix(imp, "database/sql/") ||
				strings.HasPrefix(imp, "github.com/jackc/pgx") || strings.HasPrefix(imp, "modernc.org/sqlite") {
				t.Errorf("%s imports %s; only the packages under internal/store/ may", p.ImportPath, imp)
			}
		}
	}
}

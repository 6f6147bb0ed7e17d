package postgres_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// breaking are schema changes that break a replica of the previous version
// still running on the database while a new one migrates it (docs/ops.md:
// rolling upgrades): it would read a table or column that is gone or
// renamed, or insert rows without a value a column now requires.
var breaking = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`\bDROP\s+(TABLE|COLUMN|VIEW|SCHEMA)\b`), "drops what the previous version reads"},
	{regexp.MustCompile(`\bALTER\s+TABLE\s+(IF\s+EXISTS\s+)?\S+\s+DROP\b`), "drops what the previous version reads"},
	{regexp.MustCompile(`\bRENAME\b`), "renames what the previous version reads"},
	{regexp.MustCompile(`\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b`), "changes a type the previous version writes"},
	{regexp.MustCompile(`\bSET\s+NOT\s+NULL\b`), "requires a value the previous version does not write"},
}

// addColumn is one ADD COLUMN clause.
var addColumn = regexp.MustCompile(`\bADD\s+COLUMN\s+[^,]*`)

// replaceCheck is a CHECK constraint dropped and added again under its
// name in one statement: additive when the new check is wider, so that
// every row the previous version writes still passes (the migration's
// author says so, as for a data update).
var replaceCheck = regexp.MustCompile(`^ALTER TABLE (?:IF EXISTS )?\S+ DROP CONSTRAINT (\S+), ADD CONSTRAINT (\S+) CHECK \((?:[^()]|\([^()]*\))*\)(?: NOT VALID)?$`)

// isBreaking says why an upper-case statement breaks the previous version,
// or "".
func isBreaking(stmt string) string {
	if m := replaceCheck.FindStringSubmatch(stmt); m != nil && m[1] == m[2] {
		return ""
	}
	for _, rule := range breaking {
		if rule.re.MatchString(stmt) {
			return rule.why
		}
	}
	for _, c := range addColumn.FindAllString(stmt, -1) {
		if strings.Contains(c, "NOT NULL") && !strings.Contains(c, "DEFAULT") {
			return "adds a required column without a default, which the previous version does not write"
		}
	}
	return ""
}

// breakingOK marks a migration that cannot be additive, with its reason;
// docs/ops.md says what the upgrade to it takes (no old replica running).
const breakingOK = "-- hoist:breaking"

// TestMigrationsAreAdditive: several replicas share one PostgreSQL
// database, and during a rolling upgrade the old ones keep running on the
// schema the new ones migrated, so PostgreSQL migrations only add (tables,
// nullable or defaulted columns, indexes) unless marked breaking.
func TestMigrationsAreAdditive(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), breakingOK) {
			continue
		}
		for _, stmt := range statements(string(b)) {
			if why := isBreaking(stmt); why != "" {
				t.Errorf("%s: %q %s; make it additive, or mark it %q with the reason", filepath.Base(f), stmt, why, breakingOK)
			}
		}
	}
}

// statements splits SQL into upper-case statements without comments, each
// on one line.
func statements(sql string) []string {
	var lines []string
	for _, l := range strings.Split(sql, "\n") {
		l, _, _ = strings.Cut(l, "--")
		lines = append(lines, l)
	}
	var out []string
	for _, s := range strings.Split(strings.Join(lines, " "), ";") {
		if s = strings.Join(strings.Fields(strings.ToUpper(s)), " "); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func TestBreakingChangesAreCaught(t *testing.T) {
	t.Parallel()
	for stmt, want := range map[string]bool{
		"CREATE TABLE t (id TEXT NOT NULL)":                                                                   false,
		"ALTER TABLE run_exec ADD COLUMN tool TEXT NOT NULL DEFAULT ''":                                       false,
		"ALTER TABLE t ADD COLUMN n INTEGER":                                                                  false,
		"CREATE INDEX i ON t (a)":                                                                             false,
		"UPDATE stacks SET git_checkout = FALSE WHERE git_checkout":                                           false,
		"ALTER TABLE t ADD COLUMN n INTEGER NOT NULL":                                                         true,
		"ALTER TABLE t ADD COLUMN a TEXT NOT NULL DEFAULT '', ADD COLUMN b INT NOT NULL":                      true,
		"ALTER TABLE t DROP CONSTRAINT t_key":                                                                 true,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT t_k_check CHECK (k IN ('a', 'b'))":           false,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT t_k_check CHECK (k IN ('a', 'b')) NOT VALID": false,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT other CHECK (k IN ('a', 'b'))":               true,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT t_k_check UNIQUE (k)":                        true,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT t_k_check CHECK (k > 0), DROP COLUMN n":      true,
		"ALTER TABLE t DROP CONSTRAINT t_k_check, ADD CONSTRAINT t_k_check CHECK (k > 0), DROP COLUMN n (x)":  true,
		"ALTER TABLE t DROP COLUMN n":                                                                         true,
		"ALTER TABLE t DROP n":                                                                                true,
		"DROP TABLE t":                                                                                        true,
		"ALTER TABLE t RENAME TO u":                                                                           true,
		"ALTER TABLE t ALTER COLUMN n TYPE BIGINT":                                                            true,
		"ALTER TABLE t ALTER COLUMN n SET NOT NULL":                                                           true,
	} {
		if got := isBreaking(statements(stmt)[0]) != ""; got != want {
			t.Errorf("%q: breaking = %v, want %v", stmt, got, want)
		}
	}
}

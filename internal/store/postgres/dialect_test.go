package postgres

import "testing"

func TestRebind(t *testing.T) {
	t.Parallel()
	got := dialect{}.Rebind("SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?")
	if want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4"; got != want {
		t.Errorf("Rebind = %q", got)
	}
}

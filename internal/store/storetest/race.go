package storetest

import (
	"sync"
	"testing"

	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// twoServers returns two stores on one fresh database, as two servers
// sharing it would have.
func twoServers(t *testing.T, h Harness) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	open := h.NewDB(t)
	s1 := openStore(t, open)
	mustSpace(t, s1, space.Space{ID: space.RootID, Name: "root"})
	return s1, openStore(t, open)
}

// claimRace runs claimers at once, alternately on s1 and s2, each calling
// claim until it gets nothing; then s1 takes what is left (a claim that
// lost a race may get nothing while there is more). It fails unless every
// one of the want items was claimed exactly once.
func claimRace(t *testing.T, s1, s2 *sqlstore.Store, claimers, want int, claim func(s *sqlstore.Store, claimer int) ([]string, error)) {
	t.Helper()
	var mu sync.Mutex
	count := map[string]int{}
	drain := func(s *sqlstore.Store, claimer int) {
		for {
			got, err := claim(s, claimer)
			if err != nil {
				t.Error(err)
				return
			}
			if len(got) == 0 {
				return
			}
			mu.Lock()
			for _, id := range got {
				count[id]++
			}
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Go(func() { drain([]*sqlstore.Store{s1, s2}[i%2], i) })
	}
	wg.Wait()
	drain(s1, claimers)
	if len(count) != want {
		t.Errorf("%d of %d claimed", len(count), want)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("%s claimed %d times", id, c)
		}
	}
}

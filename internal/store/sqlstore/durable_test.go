package sqlstore

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSyncGroupShares: callers that ask while a sync runs are covered by
// one later sync together, not by the running one (it may have started
// before their commits returned) and not by one each.
func TestSyncGroupShares(t *testing.T) {
	t.Parallel()
	var syncs atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	g := &syncGroup{sync: func() error {
		if syncs.Add(1) == 1 {
			close(entered)
			<-release
		}
		return nil
	}}
	first := make(chan error, 1)
	go func() { first <- g.wait(g.ask()) }()
	<-entered
	const waiters = 8
	var wg sync.WaitGroup
	errs := make(chan error, waiters)
	for range waiters {
		asked := g.ask() // while the first sync runs
		wg.Go(func() { errs <- g.wait(asked) })
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := syncs.Load(); n != 2 {
		t.Errorf("%d syncs for one caller and %d that asked during its sync; want 2 (theirs shared)", n, waiters)
	}
	// A caller that asks after the last sync gets one of its own.
	if err := g.wait(g.ask()); err != nil || syncs.Load() != 3 {
		t.Errorf("lone wait: %v, %d syncs; want nil, 3", err, syncs.Load())
	}
}

// TestSyncGroupFailsForGood: after a failed sync no wait succeeds again,
// even when a later sync would: the failed one may have lost pages that a
// later fsync would then not write.
func TestSyncGroupFailsForGood(t *testing.T) {
	t.Parallel()
	fail := errors.New("EIO")
	var syncs atomic.Int32
	g := &syncGroup{sync: func() error {
		if syncs.Add(1) == 1 {
			return fail
		}
		return nil
	}}
	for i := range 3 {
		if err := g.wait(g.ask()); !errors.Is(err, fail) {
			t.Fatalf("wait %d = %v, want the failure %v", i, err, fail)
		}
	}
	if syncs.Load() != 1 {
		t.Errorf("%d syncs after the failure; want none", syncs.Load()-1)
	}
	if !errors.Is(g.err(), fail) {
		t.Errorf("err() = %v", g.err())
	}
}

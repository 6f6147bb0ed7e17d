// Package storetest is the one conformance suite every store adapter runs:
// the sqlite and postgres packages call Run from their tests with a Harness
// that creates fresh, empty databases. Every store method is exercised on
// real databases — happy paths, not-found, conflicts, cursors, leases, the
// all-or-nothing guarantees, and races between two servers on one database
// — and a test of the package fails for a method no suite file calls.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/identity"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// Harness adapts the suite to one database.
type Harness struct {
	// NewDB creates a fresh, empty database (removed in t.Cleanup) and
	// returns a function that opens a store on it; the suite opens it several
	// times, also concurrently (restarts, two servers), and closes what it
	// opens.
	NewDB func(t *testing.T) (open Opener)
	// Raw returns everything the database holds about integrations and the
	// audit log as the database stores it (file bytes, row text), for the
	// plaintext-secret check.
	Raw func(t *testing.T, s *sqlstore.Store) []byte
}

// Opener opens a store on one database.
type Opener func(ctx context.Context) (*sqlstore.Store, error)

// Run runs the whole suite. Subtests run in parallel, each on its own
// database.
func Run(t *testing.T, h Harness) {
	t.Helper()
	groups := map[string]func(*testing.T, Harness){
		"Migrations":           testMigrations,
		"Spaces":               testSpaces,
		"Users":                testUsers,
		"APIKeys":              testAPIKeys,
		"Bindings":             testBindings,
		"RoleMappings":         testRoleMappings,
		"OIDCGrants":           testOIDCGrants,
		"OIDCGrantRace":        testOIDCGrantRace,
		"PersonalKeys":         testPersonalKeys,
		"KeyCeilings":          testKeyCeilings,
		"MappedAdminGuard":     testMappedAdminGuard,
		"UserLifecycle":        testUserLifecycle,
		"AdminsRace":           testAdminsRace,
		"LoginAttempts":        testLoginAttempts,
		"Integrations":         testIntegrations,
		"ListIntegrations":     testIntegrationList,
		"Audit":                testAudit,
		"Secrets":              testSecretsAtRest,
		"ConcurrentWrites":     testConcurrentWrites,
		"Stacks":               testStacks,
		"ReadCache":            testReadCache,
		"StackDetach":          testStackDetach,
		"StackList":            testStackList,
		"StackSummaries":       testStackSummaries,
		"StacksByRepo":         testStacksByRepository,
		"AgentPools":           testAgentPools,
		"AgentPoolSpaces":      testAgentPoolSpaces,
		"AgentPresence":        testAgentPresence,
		"AgentPoolWatch":       testAgentPoolWatch,
		"Modules":              testModules,
		"Policies":             testPolicies,
		"Transactions":         testTransactions,
		"Runs":                 testRuns,
		"RunList":              testListRuns,
		"RunSearch":            testSearchRuns,
		"RunsForEvent":         testRunsForEvent,
		"RunVariables":         testRunVariables,
		"WorkerPools":          testWorkerPools,
		"RunScheduling":        testRunScheduling,
		"RunLeases":            testRunLeases,
		"RunLeaseExpiry":       testRunLeaseExpiry,
		"RunMoves":             testMoveRun,
		"RunMoveRace":          testRunMoveRace,
		"RunExecEffects":       testRunExecEffects,
		"RunLeaseRace":         testRunLeaseRace,
		"RunHandBack":          testRunHandBack,
		"RunReviews":           testRunReviews,
		"CommandNotes":         testCommandNotes,
		"MRLockScheduling":     testMRLockScheduling,
		"MRLocks":              testMRLocks,
		"MRMerges":             testMRMerges,
		"MRAutomerge":          testMRAutomerge,
		"MRLockRace":           testMRLockRace,
		"RunLogs":              testRunLogs,
		"Deliveries":           testDeliveries,
		"DeliveryProcessings":  testDeliveryProcessings,
		"Jobs":                 testJobs,
		"FailedJobs":           testFailedJobs,
		"JobLeaseRace":         testJobLeaseRace,
		"Outbox":               testOutbox,
		"EnqueueManyWrites":    testEnqueueManyWrites,
		"OutboxClaimRace":      testOutboxClaimRace,
		"OutboxClaimSkipsHeld": testOutboxClaimSkipsHeldKeys,
		"ResolveWaitsEnqueue":  testResolveWaitsForEnqueue,
		"OutboxKinds":          testOutboxKinds,
		"CommitRuns":           testCommitRuns,
		"StateVersions":        testStateVersions,
		"StateLocks":           testStateLocks,
		"StateLockRace":        testStateLockRace,
		"Sessions":             testSessions,
		"LoginAttemptRace":     testLoginAttemptRace,
		"Backlogs":             testBacklogs,
		"NotificationTargets":  testNotificationTargets,
		"NotificationOutbox":   testNotificationOutbox,
		"Schedules":            testSchedules,
		"ScheduleClaimRace":    testScheduleClaimRace,
		"StackDrift":           testStackDrift,
	}
	for name, fn := range groups {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, h)
		})
	}
}

// base is the clock reading tests start from (microsecond precision, as
// stored).
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

// fresh opens a store on a new database with the root space in it.
func fresh(t *testing.T, h Harness) *sqlstore.Store {
	t.Helper()
	s := openStore(t, h.NewDB(t))
	mustSpace(t, s, space.Space{ID: space.RootID, Name: "root", Inherit: false})
	return s
}

func mustSpace(t *testing.T, s *sqlstore.Store, sp space.Space) space.Space {
	t.Helper()
	if sp.Name == "" {
		sp.Name = sp.ID
	}
	if sp.ParentID == "" && sp.ID != space.RootID {
		sp.ParentID = space.RootID
	}
	if sp.CreatedAt.IsZero() {
		sp.CreatedAt, sp.UpdatedAt = base, base
	}
	if err := s.CreateSpace(context.Background(), sp); err != nil {
		t.Fatalf("create space %s: %v", sp.ID, err)
	}
	return sp
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Errorf("err = %v (code %s), want %s", err, apperr.CodeOf(err), code)
	}
}

// wantField fails unless err is Invalid naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != field {
		t.Errorf("err = %v, want invalid naming field %q", err, field)
	}
}

func ctx() context.Context { return context.Background() }

// amongMany is ids among more stack ids than one statement may name on
// SQLite (32,766 parameters): the first of ids first, the others last, so
// that a store that splits the list finds them in different parts.
func amongMany(ids ...string) []string {
	const others = 40_000
	out := make([]string, 0, others+len(ids))
	if len(ids) > 0 {
		out = append(out, ids[0])
	}
	for i := range others {
		out = append(out, fmt.Sprintf("absent-%05d", i))
	}
	if len(ids) > 1 {
		out = append(out, ids[1:]...)
	}
	return out
}

// openStore opens a store that is closed when the test ends.
func openStore(t *testing.T, open Opener) *sqlstore.Store {
	t.Helper()
	s, err := open(ctx())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testMigrations(t *testing.T, h Harness) {
	open := h.NewDB(t)
	// Two servers starting at once on one database: both must come up,
	// and the migrations must be applied exactly once.
	type result struct {
		s   *sqlstore.Store
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			s, err := open(ctx())
			results <- result{s, err}
		}()
	}
	var stores []*sqlstore.Store
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Errorf("concurrent open: %v", r.err)
			continue
		}
		t.Cleanup(func() { r.s.Close() })
		stores = append(stores, r.s)
	}
	if len(stores) != 2 {
		t.FailNow()
	}
	for _, s := range stores {
		if err := s.Ready(ctx()); err != nil {
			t.Errorf("Ready: %v", err)
		}
	}
	var n, versions int
	err := stores[0].DB().QueryRowContext(ctx(), "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&n, &versions)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != versions {
		t.Errorf("schema_migrations has %d rows for %d versions", n, versions)
	}
	// What one server writes, the other reads.
	mustSpace(t, stores[0], space.Space{ID: space.RootID, Name: "root"})
	if _, err := stores[1].GetSpace(ctx(), space.RootID); err != nil {
		t.Errorf("second store does not see the first's write: %v", err)
	}
	// A restart keeps data and applies nothing twice.
	stores[0].Close()
	s3 := openStore(t, open)
	if _, err := s3.GetSpace(ctx(), space.RootID); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	if err := s3.Ready(ctx()); err != nil {
		t.Errorf("Ready after reopen: %v", err)
	}
}

// testConcurrentWrites: many requests writing at once all succeed (SQLite
// must queue writers instead of failing with "database is locked").
func testConcurrentWrites(t *testing.T, h Harness) {
	s := fresh(t, h)
	const n = 24
	errs := make(chan error, n)
	for i := range n {
		go func() {
			k := identity.APIKey{ID: fmt.Sprintf("k%02d", i), Name: "k", SecretHash: "h", CreatedAt: base}
			err := s.CreateAPIKey(ctx(), k, []space.Binding{{SpaceID: space.RootID, Role: space.Read}}, idEntry("api_key.create", k.ID))
			if err == nil {
				_, err = s.GetAPIKey(ctx(), k.ID)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	keys, _, err := s.ListAPIKeys(ctx(), "", 100)
	if err != nil || len(keys) != n {
		t.Errorf("listed %d keys, %v", len(keys), err)
	}
}

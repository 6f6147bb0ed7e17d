package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/feedback"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/store/sqlstore"
)

// statusWrite is a commit status write of run runID on key, due at due.
func statusWrite(integrationID, runID, key string, rank int, due time.Time) feedback.Write {
	return feedback.Write{IntegrationID: integrationID, RunID: runID, Kind: feedback.KindStatus, Key: key, Ord: runID, Rank: rank,
		Payload:       feedback.Payload{Project: "acme/infra", SHA: "a1", Name: "hoist/web", State: "running", TargetURL: "https://hoist.example.com/runs/" + runID},
		NextAttemptAt: due, CreatedAt: base}
}

// mustClaimKeys claims keys for owner; a key taken over (its last lease
// ended unresolved) is returned as key+takenOver.
func mustClaimKeys(t *testing.T, s *sqlstore.Store, owner string, now time.Time, limit int, skip ...string) []string {
	t.Helper()
	keys, err := s.ClaimWriteKeys(ctx(), owner, now, time.Minute, limit, skip)
	if err != nil {
		t.Fatalf("claim write keys: %v", err)
	}
	// Each comes with its open writes and mark, as read after the claim.
	for _, k := range keys {
		ws, m := mustPending(t, s, k.Key)
		if len(k.Writes) == 0 || !reflect.DeepEqual(k.Writes, ws) || k.Mark != m {
			t.Errorf("claimed %s with writes %+v, mark %+v\nwant %+v, mark %+v", k.Key, k.Writes, k.Mark, ws, m)
		}
	}
	return claimedKeys(keys)
}

const takenOver = " (taken over)"

func claimedKeys(keys []feedback.ClaimedKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Key
		if k.TakenOver {
			out[i] += takenOver
		}
	}
	return out
}

func mustPending(t *testing.T, s *sqlstore.Store, key string) ([]feedback.Write, feedback.Mark) {
	t.Helper()
	ws, m, err := s.PendingWrites(ctx(), key)
	if err != nil {
		t.Fatal(err)
	}
	return ws, m
}

func mustResolve(t *testing.T, s *sqlstore.Store, key, owner string, rs []feedback.Resolution, m *feedback.Mark, now time.Time) {
	t.Helper()
	if err := s.ResolveWrites(ctx(), key, owner, rs, m, now); err != nil {
		t.Fatalf("resolve %s: %v", key, err)
	}
}

// testOutbox: writes are enqueued with their keys due; a key is claimed by
// one owner at a time, its pending writes read and resolved, and it is due
// again at its earliest remaining write.
func testOutbox(t *testing.T, h Harness) {
	s := fresh(t, h)
	keyA := feedback.StatusKey("gl", "acme/infra", "a1", "hoist/web")
	keyB := feedback.NoteKey("gl2", "acme/infra", 4, "web")
	keyC := feedback.DeploymentKey("gl", "acme/infra", "r2")
	in := []feedback.Write{
		statusWrite("gl", "r1", keyA, 1, base), statusWrite("gl", "r1", keyA, 2, base),
		statusWrite("gl2", "r1", keyB, 1, base.Add(time.Second)), statusWrite("gl", "r2", keyC, 1, base.Add(time.Hour)),
	}
	in[2].Kind, in[3].Kind = feedback.KindNote, feedback.KindDeployment
	if err := s.EnqueueWrites(ctx(), in); err != nil {
		t.Fatal(err)
	}
	if err := s.EnqueueWrites(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	ws, err := s.ListWrites(ctx(), "r1")
	if err != nil || len(ws) != 3 {
		t.Fatalf("ListWrites = %+v, %v", ws, err)
	}
	for i, w := range ws {
		want := in[i]
		want.ID, want.State, want.UpdatedAt = w.ID, feedback.StatePending, base
		if !reflect.DeepEqual(w, want) || (i > 0 && w.ID <= ws[i-1].ID) {
			t.Errorf("write %d = %+v\nwant %+v", i, w, want)
		}
	}
	if ws, err := s.ListWrites(ctx(), "nope"); err != nil || len(ws) != 0 {
		t.Errorf("writes of an unknown run = %+v, %v", ws, err)
	}

	at, expired := base.Add(time.Second), base.Add(time.Minute+2*time.Second)
	for _, tc := range []struct {
		name  string
		owner string
		now   time.Time
		limit int
		skip  []string
		want  []string
	}{
		{"due only", "o1", base, 10, nil, []string{keyA}},
		{"held keys are not claimed again", "o1", at, 10, nil, []string{keyB}},
		{"by nobody else either", "o2", at, 10, nil, []string{}},
		{"skipping an integration; o1's lease ran out", "o2", expired, 10, []string{"gl"}, []string{keyB + takenOver}},
		{"up to the limit", "o2", expired, 1, nil, []string{keyA + takenOver}},
	} {
		if got := mustClaimKeys(t, s, tc.owner, tc.now, tc.limit, tc.skip...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: claimed %v, want %v", tc.name, got, tc.want)
		}
	}
	testResolveWrites(t, s, keyA, keyB, keyC)
}

// testEnqueueManyWrites: more writes at once than one statement takes
// keep their order, and a key written twice is due when its last write
// is.
func testEnqueueManyWrites(t *testing.T, h Harness) {
	s := fresh(t, h)
	var in []feedback.Write
	var want []string
	for i := range 70 {
		key := feedback.StatusKey("gl", "acme/infra", fmt.Sprintf("c%02d", i%50), "hoist/web")
		due := base.Add(time.Hour)
		if i >= 50 {
			due = base // the second write of keys c00 … c19
			want = append(want, key)
		}
		in = append(in, statusWrite("gl", "r1", key, i, due))
	}
	if err := s.EnqueueWrites(ctx(), in); err != nil {
		t.Fatal(err)
	}
	ws, err := s.ListWrites(ctx(), "r1")
	if err != nil || len(ws) != len(in) {
		t.Fatalf("ListWrites = %d writes, %v; want %d", len(ws), err, len(in))
	}
	for i, w := range ws {
		if w.Key != in[i].Key || w.Rank != in[i].Rank || (i > 0 && w.ID <= ws[i-1].ID) {
			t.Errorf("write %d = %s rank %d id %d, want %s rank %d, after the one before", i, w.Key, w.Rank, w.ID, in[i].Key, in[i].Rank)
		}
	}
	got := mustClaimKeys(t, s, "o", base, 100)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("due keys = %v, want %v", got, want)
	}
}

// testResolveWrites continues testOutbox: o2 holds keyA and keyB.
func testResolveWrites(t *testing.T, s *sqlstore.Store, keyA, keyB, keyC string) {
	pending, mark := mustPending(t, s, keyA)
	if len(pending) != 2 || pending[0].Rank != 1 || pending[1].Rank != 2 || mark != (feedback.Mark{}) {
		t.Fatalf("pending = %+v, mark %+v; want both writes oldest first, no mark", pending, mark)
	}
	now := base.Add(2 * time.Minute)
	newest := pending[1].Mark()
	mustResolve(t, s, keyA, "o2", []feedback.Resolution{
		{ID: pending[0].ID, State: feedback.StateSkipped, NextAttemptAt: pending[0].NextAttemptAt},
		{ID: pending[1].ID, State: feedback.StateDone, Attempts: 1, NextAttemptAt: pending[1].NextAttemptAt, Result: "set running"},
	}, &newest, now)
	// No open write, no mark to compare with; the moved mark shows with
	// the next write (the end of this test).
	if ws, m := mustPending(t, s, keyA); len(ws) != 0 || m != (feedback.Mark{}) {
		t.Errorf("after resolving: pending %+v, mark %+v; want none", ws, m)
	}
	ws, _ := s.ListWrites(ctx(), "r1")
	if ws[0].State != feedback.StateSkipped || ws[1].State != feedback.StateDone || ws[1].Result != "set running" ||
		ws[1].Attempts != 1 || !ws[1].UpdatedAt.Equal(now) {
		t.Errorf("resolved writes = %+v", ws[:2])
	}
	// keyA has nothing left: it is not claimed again; keyB's lease ran out.
	if got := mustClaimKeys(t, s, "o3", base.Add(2*time.Hour), 10); !slices.Equal(got, []string{keyB + takenOver, keyC}) {
		t.Errorf("claimed %v, want keyB taken over and keyC", got)
	}
	// A retry makes the key due at its next attempt, and the owner's lease
	// ends at once.
	retryAt := base.Add(2*time.Hour + 10*time.Second) // before o3's lease would run out
	pending, _ = mustPending(t, s, keyB)
	mustResolve(t, s, keyB, "o3", []feedback.Resolution{{ID: pending[0].ID, State: feedback.StateRetrying, Attempts: 1,
		NextAttemptAt: retryAt, LastError: "GitLab answered 502"}}, nil, base.Add(2*time.Hour))
	// Only the owner's resolve releases its lease: keyC stays o3's.
	mustResolve(t, s, keyC, "someone else", nil, nil, base.Add(2*time.Hour))
	if got := mustClaimKeys(t, s, "o4", retryAt.Add(-time.Second), 10); len(got) != 0 {
		t.Errorf("claimed %v before the retry was due and while o3 holds keyC", got)
	}
	if got := mustClaimKeys(t, s, "o4", retryAt, 10); !slices.Equal(got, []string{keyB}) {
		t.Errorf("claimed %v at the retry; want keyB only, released by o3 (not taken over), and not keyC, still o3's", got)
	}
	if pending, m := mustPending(t, s, keyB); len(pending) != 1 || pending[0].State != feedback.StateRetrying ||
		pending[0].LastError != "GitLab answered 502" || !pending[0].NextAttemptAt.Equal(retryAt) || m != (feedback.Mark{}) {
		t.Errorf("retrying write = %+v, mark %+v", pending, m)
	}
	// A new write makes a resolved key due again; its mark stays.
	later := base.Add(4 * time.Hour)
	if err := s.EnqueueWrites(ctx(), []feedback.Write{statusWrite("gl", "r3", keyA, 1, later)}); err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o5", later, 10, "gl2"); !slices.Contains(got, keyA) {
		t.Errorf("claimed %v; want keyA due again", got)
	}
	if ws, m := mustPending(t, s, keyA); len(ws) != 1 || ws[0].RunID != "r3" || m != newest {
		t.Errorf("pending = %+v, mark %+v", ws, m)
	}
	// A key given back (a stopping server's) is free at once, and taken
	// over: its write may have reached GitLab. Only its owner gives it back.
	if err := s.GiveBackWriteKey(ctx(), keyA, "someone else"); err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o6", later, 10, "gl2"); slices.Contains(got, keyA) || slices.Contains(got, keyA+takenOver) {
		t.Errorf("claimed %v while o5 holds keyA", got)
	}
	if err := s.GiveBackWriteKey(ctx(), keyA, "o5"); err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o6", later, 10, "gl2"); !slices.Contains(got, keyA+takenOver) {
		t.Errorf("claimed %v after o5 gave keyA back; want keyA taken over", got)
	}
}

// testOutboxClaimRace: two servers claiming at once never hold one key
// together.
func testOutboxClaimRace(t *testing.T, h Harness) {
	s1, s2 := twoServers(t, h)
	const keys = 30
	var ws []feedback.Write
	for i := range keys {
		ws = append(ws, statusWrite("gl", "r1", fmt.Sprint("status|gl|", i), 1, base))
	}
	if err := s1.EnqueueWrites(ctx(), ws); err != nil {
		t.Fatal(err)
	}
	claimRace(t, s1, s2, 6, keys, func(s *sqlstore.Store, claimer int) ([]string, error) {
		keys, err := s.ClaimWriteKeys(ctx(), fmt.Sprint("o", claimer), base, time.Minute, 4, nil)
		return claimedKeys(keys), err
	})
}

// testOutboxClaimSkipsHeldKeys: on PostgreSQL a claim skips a key whose
// row another transaction holds (a write being enqueued for it) instead
// of waiting for that transaction, and claims it once it committed.
// SQLite has one writer: nothing else can hold a row while a claim runs.
func testOutboxClaimSkipsHeldKeys(t *testing.T, h Harness) {
	s := fresh(t, h)
	if s.Dialect() != "postgres" {
		t.Skip("one writer on SQLite: no other transaction holds a row during a claim")
	}
	const keyA, keyB = "status|gl|held", "status|gl|free"
	if err := s.EnqueueWrites(ctx(), []feedback.Write{statusWrite("gl", "r1", keyA, 1, base), statusWrite("gl", "r1", keyB, 1, base)}); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx(), func(held context.Context) error {
		// A newer write for keyA: its key's row stays locked until this
		// transaction ends.
		if err := s.EnqueueWrites(held, []feedback.Write{statusWrite("gl", "r2", keyA, 1, base)}); err != nil {
			return err
		}
		// Bounded: a claim that waited for the row would wait for this
		// transaction, which waits for the claim.
		c, cancel := context.WithTimeout(ctx(), 10*time.Second)
		defer cancel()
		keys, err := s.ClaimWriteKeys(c, "o1", base, time.Minute, 10, nil)
		if err != nil {
			return fmt.Errorf("claim while keyA is held: %w", err)
		}
		if got := claimedKeys(keys); !slices.Equal(got, []string{keyB}) {
			t.Errorf("claimed %v while keyA's row was held; want only %s", got, keyB)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o2", base, 10); !slices.Equal(got, []string{keyA}) {
		t.Errorf("claimed %v once the holder committed; want %s", got, keyA)
	}
}

// testResolveWaitsForEnqueue: on PostgreSQL a write enqueued for a key
// while its last write is being resolved is never lost: the resolution
// waits for the enqueueing transaction and leaves the key due for the new
// write, with the resolved write's mark. SQLite has one writer.
func testResolveWaitsForEnqueue(t *testing.T, h Harness) {
	s := fresh(t, h)
	if s.Dialect() != "postgres" {
		t.Skip("one writer on SQLite: an enqueue cannot run during a resolution")
	}
	const key = "status|gl|busy"
	if err := s.EnqueueWrites(ctx(), []feedback.Write{statusWrite("gl", "r1", key, 1, base)}); err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o1", base, 10); !slices.Equal(got, []string{key}) {
		t.Fatalf("claimed %v", got)
	}
	first, _ := mustPending(t, s, key)
	mark := first[0].Mark()
	resolved := make(chan error, 1)
	err := s.InTx(ctx(), func(held context.Context) error {
		// r2's write, enqueued but not committed: its key's row is this
		// transaction's until it ends.
		if err := s.EnqueueWrites(held, []feedback.Write{statusWrite("gl", "r2", key, 1, base.Add(time.Minute))}); err != nil {
			return err
		}
		go func() {
			resolved <- s.ResolveWrites(ctx(), key, "o1", []feedback.Resolution{{ID: first[0].ID, State: feedback.StateDone,
				Attempts: 1, NextAttemptAt: base}}, &mark, base)
		}()
		// Let the resolution reach the key's row before r2's write
		// commits (had it run first, it could not miss the write anyway).
		select {
		case err := <-resolved:
			return fmt.Errorf("the resolution did not wait for the enqueue: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-resolved; err != nil {
		t.Fatal(err)
	}
	if got := mustClaimKeys(t, s, "o2", base.Add(time.Minute), 10); !slices.Equal(got, []string{key}) {
		t.Errorf("claimed %v after the resolution; want the key due for r2's write", got)
	}
	if ws, m := mustPending(t, s, key); len(ws) != 1 || ws[0].RunID != "r2" || m != mark {
		t.Errorf("pending %+v, mark %+v; want r2's write and the mark of r1's", ws, m)
	}
}

// testCommitRuns: a member's state on an aggregated status moves only
// forward in run order; refs keep GitLab's ids; the integration says
// whether statuses are aggregated.
func testCommitRuns(t *testing.T, h Harness) {
	s := fresh(t, h)
	c := func(name, member, ord, state string) feedback.CommitRun {
		return feedback.CommitRun{IntegrationID: "gl", Project: "acme/infra", SHA: "a1", Name: name, Member: member, Ord: ord, State: state}
	}
	const tracked, proposed = "hoist/tracked", "hoist/proposed"
	for _, tc := range []struct {
		name string
		in   feedback.CommitRun
		want []feedback.CommitRun
	}{
		{"first member", c(tracked, "web", "r2", "running"), []feedback.CommitRun{c(tracked, "web", "r2", "running")}},
		{"second member", c(tracked, "api", "r1", "pending"), []feedback.CommitRun{c(tracked, "api", "r1", "pending"), c(tracked, "web", "r2", "running")}},
		{"an older run is ignored", c(tracked, "web", "r1", "success"), []feedback.CommitRun{c(tracked, "api", "r1", "pending"), c(tracked, "web", "r2", "running")}},
		{"the same run moves on", c(tracked, "web", "r2", "success"), []feedback.CommitRun{c(tracked, "api", "r1", "pending"), c(tracked, "web", "r2", "success")}},
		{"a newer run replaces", c(tracked, "web", "r3", "failed"), []feedback.CommitRun{c(tracked, "api", "r1", "pending"), c(tracked, "web", "r3", "failed")}},
		{"another name", c(proposed, "web", "r0", "pending"), []feedback.CommitRun{c(proposed, "web", "r0", "pending")}},
	} {
		if got, err := s.RecordCommitRun(ctx(), tc.in); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: RecordCommitRun = %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}

	for _, id := range []string{"gl", "gl2"} {
		in := testIntegration(id, space.RootID, id == "gl")
		in.AggregateStatuses = id == "gl"
		if id == "gl2" {
			in.DriftIssue, in.DriftIssueLabels = true, []string{"drift", "infra"}
		}
		if err := s.CreateIntegration(ctx(), in, entry("integration.create", id)); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]bool{"gl": true, "gl2": false} {
		if got, err := s.AggregateStatuses(ctx(), id); err != nil || got != want {
			t.Errorf("AggregateStatuses(%s) = %v, %v", id, got, err)
		}
	}
	_, err := s.AggregateStatuses(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	for id, want := range map[string][]string{"gl": {}, "gl2": {"drift", "infra"}} {
		if on, labels, err := s.IntegrationDriftIssue(ctx(), id); err != nil || on != (id == "gl2") || !slices.Equal(labels, want) {
			t.Errorf("IntegrationDriftIssue(%s) = %v, %q, %v", id, on, labels, err)
		}
	}
	_, _, err = s.IntegrationDriftIssue(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)

	key := feedback.NoteKey("gl", "acme/infra", 4, "web")
	if id, ok, err := s.GitLabRef(ctx(), key); err != nil || ok || id != 0 {
		t.Errorf("GitLabRef before any = %d, %v, %v", id, ok, err)
	}
	for _, id := range []int64{12, 13} {
		if err := s.SetGitLabRef(ctx(), key, id, base); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.GitLabRef(ctx(), key); err != nil || !ok || got != id {
			t.Errorf("GitLabRef = %d, %v, %v; want %d", got, ok, err, id)
		}
	}
	// A claimed key comes with its kept id; one without, with none.
	other := feedback.NoteKey("gl", "acme/infra", 5, "web")
	if err := s.EnqueueWrites(ctx(), []feedback.Write{statusWrite("gl", "r1", key, 1, base), statusWrite("gl", "r1", other, 1, base)}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimWriteKeys(ctx(), "o", base, time.Minute, 10, nil)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimWriteKeys = %+v, %v", claimed, err)
	}
	for _, c := range claimed {
		want := feedback.Ref{}
		if c.Key == key {
			want = feedback.Ref{ID: 13, Known: true}
		}
		if c.Ref != want {
			t.Errorf("claimed %s with ref %+v, want %+v", c.Key, c.Ref, want)
		}
	}
}

// commandWrites are the writes answering a merge request command: an award
// emoji on its note and a reply, of no run.
func commandWrites(due time.Time) []feedback.Write {
	p := feedback.Payload{Project: "acme/infra", MergeRequestIID: 4, NoteID: 77}
	award, reply := p, p
	award.Emoji, reply.Body = "eyes", "No stack `nope` in this repository."
	return []feedback.Write{
		{IntegrationID: "gl", Kind: feedback.KindAward, Key: feedback.AwardKey("gl", "acme/infra", 4, 77, "eyes"),
			Payload: award, NextAttemptAt: due, CreatedAt: due},
		{IntegrationID: "gl", Kind: feedback.KindReply, Key: feedback.ReplyKey("gl", "acme/infra", 4, 77),
			Payload: reply, NextAttemptAt: due, CreatedAt: due},
	}
}

// testOutboxKinds: a write of every kind is kept as it was enqueued, the
// command answers' writes of no run included; a kind the schema does not
// know is refused.
func testOutboxKinds(t *testing.T, h Harness) {
	s := fresh(t, h)
	in := commandWrites(base)
	for _, k := range feedback.Kinds() {
		if k != feedback.KindAward && k != feedback.KindReply {
			w := statusWrite("gl", "r1", string(k)+"|gl|x", 1, base)
			w.Kind = k
			in = append(in, w)
		}
	}
	if err := s.EnqueueWrites(ctx(), in); err != nil {
		t.Fatal(err)
	}
	for _, want := range in {
		ws, _ := mustPending(t, s, want.Key)
		if len(ws) != 1 {
			t.Fatalf("pending writes of %s = %+v, want 1", want.Key, ws)
		}
		want.ID, want.State, want.UpdatedAt = ws[0].ID, feedback.StatePending, want.CreatedAt
		if !reflect.DeepEqual(ws[0], want) {
			t.Errorf("%s write = %+v\nwant %+v", want.Kind, ws[0], want)
		}
	}
	bad := statusWrite("gl", "r1", "bogus|gl|x", 1, base)
	bad.Kind = "bogus"
	if err := s.EnqueueWrites(ctx(), []feedback.Write{bad}); err == nil {
		t.Error("a write of an unknown kind was stored")
	}
	if ws, _ := mustPending(t, s, "bogus|gl|x"); len(ws) != 0 {
		t.Errorf("writes of the refused enqueue = %+v", ws)
	}
}

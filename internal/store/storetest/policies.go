package storetest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/space"
)

func testPolicy(id, spaceID string, typ policy.Type) policy.Policy {
	return policy.Policy{ID: id, Name: id, Type: typ, SpaceID: spaceID, Labels: []string{}, Body: "package hoist\n",
		Version: 1, CreatedAt: base, UpdatedAt: base, CreatedBy: "user:admin"}
}

func policyEntry(action, id string) audit.Entry {
	return audit.Entry{At: base, Actor: "user:admin", Action: action, ResourceType: "policy", ResourceID: id, SpaceID: space.RootID}
}

// testPolicies covers policies, attachments and evaluations (issue 17).
func testPolicies(t *testing.T, h Harness) {
	s := stackFixture(t, h)
	mustStack(t, s, testStack("infra", "a", "gl-a"))
	mustStack(t, s, testStack("web", "b", "gl"))

	docs := testPolicy("docs", "a", policy.Push)
	docs.Labels, docs.Description, docs.Body = []string{"autoattach:*"}, "# docs", "package hoist\nignore := true\n"
	if err := s.CreatePolicy(ctx(), docs, policyEntry("policy.create", "docs")); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPolicy(ctx(), "docs")
	if err != nil || !reflect.DeepEqual(got, docs) {
		t.Errorf("GetPolicy = %+v, %v\nwant %+v", got, err, docs)
	}
	_, err = s.GetPolicy(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)
	wantCode(t, s.CreatePolicy(ctx(), testPolicy("docs", "b", policy.Plan), policyEntry("policy.create", "docs")), apperr.Conflict)
	wantField(t, s.CreatePolicy(ctx(), testPolicy("lost", "nope", policy.Plan), policyEntry("policy.create", "lost")), "space")
	for _, p := range []policy.Policy{testPolicy("deny", "b", policy.Plan), testPolicy("zeta", space.RootID, policy.Push)} {
		if err := s.CreatePolicy(ctx(), p, policyEntry("policy.create", p.ID)); err != nil {
			t.Fatal(err)
		}
	}

	// Listing: by space, by type, paged by id.
	ps, next, err := s.ListPolicies(ctx(), policy.Filter{All: true}, "", 2)
	if err != nil || len(ps) != 2 || ps[0].ID != "deny" || ps[1].ID != "docs" || next == "" {
		t.Fatalf("first page = %v, %q, %v", ids(ps), next, err)
	}
	ps, next, err = s.ListPolicies(ctx(), policy.Filter{All: true}, next, 2)
	if err != nil || len(ps) != 1 || ps[0].ID != "zeta" || next != "" {
		t.Errorf("second page = %v, %q, %v", ids(ps), next, err)
	}
	ps, _, err = s.ListPolicies(ctx(), policy.Filter{Spaces: []string{"a", "b"}, Type: policy.Plan}, "", 0)
	if err != nil || len(ps) != 1 || ps[0].ID != "deny" {
		t.Errorf("plan policies of a and b = %v, %v", ids(ps), err)
	}
	if ps, _, _ := s.ListPolicies(ctx(), policy.Filter{}, "", 0); len(ps) != 0 {
		t.Errorf("no spaces listed %v", ids(ps))
	}
	_, _, err = s.ListPolicies(ctx(), policy.Filter{All: true}, "!!", 0)
	wantField(t, err, "cursor")
	ps, err = s.ListPoliciesOfType(ctx(), policy.Push)
	if err != nil || len(ps) != 2 || ps[0].ID != "docs" || ps[1].ID != "zeta" || ps[0].Body == "" {
		t.Errorf("ListPoliciesOfType(push) = %v, %v", ids(ps), err)
	}

	// Update keeps id, type and creation.
	docs.Name, docs.Body, docs.Version, docs.UpdatedAt, docs.Labels = "Docs only", "package hoist\n", 2, base.Add(time.Hour), []string{"x"}
	if err := s.UpdatePolicy(ctx(), docs, policyEntry("policy.update", "docs")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPolicy(ctx(), "docs"); !reflect.DeepEqual(got, docs) {
		t.Errorf("after update = %+v\nwant %+v", got, docs)
	}
	wantCode(t, s.UpdatePolicy(ctx(), testPolicy("nope", "a", policy.Push), policyEntry("policy.update", "nope")), apperr.NotFound)
	dup := docs
	dup.Name = "deny"
	wantCode(t, s.UpdatePolicy(ctx(), dup, policyEntry("policy.update", "docs")), apperr.Conflict)

	// Attachments: idempotent, per stack, gone with the policy or the stack.
	at := policy.Attachment{StackID: "infra", PolicyID: "docs", CreatedAt: base, CreatedBy: "user:admin"}
	for range 2 {
		if err := s.AttachPolicy(ctx(), at, policyEntry("policy.attach", "docs")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AttachPolicy(ctx(), policy.Attachment{StackID: "web", PolicyID: "deny", CreatedAt: base}, policyEntry("policy.attach", "deny")); err != nil {
		t.Fatal(err)
	}
	wantField(t, s.AttachPolicy(ctx(), policy.Attachment{StackID: "nope", PolicyID: "docs", CreatedAt: base}, policyEntry("policy.attach", "docs")), "stack")
	wantField(t, s.AttachPolicy(ctx(), policy.Attachment{StackID: "infra", PolicyID: "nope", CreatedAt: base}, policyEntry("policy.attach", "nope")), "policy")
	as, err := s.ListAttachments(ctx(), amongMany("web", "infra"))
	if err != nil || len(as) != 2 || !reflect.DeepEqual(as[0], at) || as[1].PolicyID != "deny" {
		t.Errorf("ListAttachments = %+v, %v", as, err)
	}
	if as, err := s.ListAttachments(ctx(), nil); err != nil || len(as) != 0 {
		t.Errorf("ListAttachments(nil) = %v, %v", as, err)
	}
	if err := s.DetachPolicy(ctx(), "infra", "docs", policyEntry("policy.detach", "docs")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DetachPolicy(ctx(), "infra", "docs", policyEntry("policy.detach", "docs")), apperr.NotFound)
	if err := s.DeleteStack(ctx(), "web", stackEntry("stack.delete", "web")); err != nil {
		t.Fatalf("delete a stack with an attached policy: %v", err)
	}
	if as, _ := s.ListAttachments(ctx(), []string{"web"}); len(as) != 0 {
		t.Errorf("attachments of a deleted stack = %v", as)
	}
	if err := s.AttachPolicy(ctx(), at, policyEntry("policy.attach", "docs")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx(), "docs", policyEntry("policy.delete", "docs")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeletePolicy(ctx(), "docs", policyEntry("policy.delete", "docs")), apperr.NotFound)
	if as, _ := s.ListAttachments(ctx(), []string{"infra"}); len(as) != 0 {
		t.Errorf("attachments of a deleted policy = %v", as)
	}
	// Every successful write wrote its entry, failed ones none: create,
	// update, attach (once: the second changed nothing), detach, attach,
	// delete.
	es, _, err := s.ListAudit(ctx(), audit.Filter{ResourceType: "policy", ResourceID: "docs"}, "", 500)
	if err != nil || len(es) != 6 {
		t.Errorf("audit entries for docs = %d, %v; want 6", len(es), err)
	}

	// Evaluations: recorded and paged per run, oldest first, input kept as given.
	evs := []policy.Evaluation{
		{PolicyID: "deny", PolicyVersion: 3, Type: policy.Plan, StackID: "infra", RunID: "r1", Input: json.RawMessage(`{"a":"\u0000x"}`),
			Outcome: policy.OutcomeDeny, Messages: []string{"no"}, Duration: 1500 * time.Microsecond, At: base},
		{PolicyID: "zeta", PolicyVersion: 1, Type: policy.Plan, StackID: "infra", RunID: "r1", Outcome: policy.OutcomeError,
			Error: "timed out", At: base.Add(time.Second)},
		{PolicyID: "zeta", PolicyVersion: 1, Type: policy.Push, StackID: "infra", DeliveryID: "d1", Outcome: policy.OutcomeIgnore, At: base},
	}
	if err := s.RecordEvaluations(ctx(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordEvaluations(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	got1, next, err := s.ListEvaluations(ctx(), policy.EvaluationFilter{RunID: "r1"}, "", 1)
	if err != nil || len(got1) != 1 || next == "" {
		t.Fatalf("first page = %+v, %q, %v", got1, next, err)
	}
	want := evs[0]
	want.ID = got1[0].ID
	if !reflect.DeepEqual(got1[0], want) {
		t.Errorf("evaluation = %+v\nwant %+v", got1[0], want)
	}
	got2, next, err := s.ListEvaluations(ctx(), policy.EvaluationFilter{RunID: "r1"}, next, 1)
	if err != nil || len(got2) != 1 || got2[0].PolicyID != "zeta" || string(got2[0].Input) != "{}" || got2[0].Messages == nil || next != "" {
		t.Errorf("second page = %+v, %q, %v", got2, next, err)
	}
	if got, _, err := s.ListEvaluations(ctx(), policy.EvaluationFilter{DeliveryID: "d1"}, "", 0); err != nil || len(got) != 1 {
		t.Errorf("by delivery = %+v, %v", got, err)
	}
	_, _, err = s.ListEvaluations(ctx(), policy.EvaluationFilter{RunID: "r1"}, "x", 0)
	wantField(t, err, "cursor")
}

func ids(ps []policy.Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

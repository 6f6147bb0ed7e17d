package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

func testSpaces(t *testing.T, h Harness) {
	s := fresh(t, h)
	a := mustSpace(t, s, space.Space{ID: "team-a", Name: "Team A", Inherit: true, Description: "# A",
		Labels: []string{"eu", "prod"}, CreatedAt: base, UpdatedAt: base.Add(time.Second)})
	mustSpace(t, s, space.Space{ID: "a1", ParentID: "team-a"})

	got, err := s.GetSpace(ctx(), "team-a")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Errorf("GetSpace = %+v\nwant %+v", got, a)
	}
	root, err := s.GetSpace(ctx(), space.RootID)
	if err != nil || root.ParentID != "" || root.Labels == nil {
		t.Errorf("root = %+v, %v", root, err)
	}
	_, err = s.GetSpace(ctx(), "nope")
	wantCode(t, err, apperr.NotFound)

	all, err := s.ListSpaces(ctx())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sp := range all {
		ids = append(ids, sp.ID)
	}
	if strings.Join(ids, ",") != "a1,root,team-a" {
		t.Errorf("ListSpaces ids = %v", ids)
	}

	t.Run("create conflicts", func(t *testing.T) {
		wantCode(t, s.CreateSpace(ctx(), space.Space{ID: "team-a", Name: "Other", ParentID: space.RootID, CreatedAt: base, UpdatedAt: base}), apperr.Conflict)
		wantCode(t, s.CreateSpace(ctx(), space.Space{ID: "other", Name: "Team A", ParentID: space.RootID, CreatedAt: base, UpdatedAt: base}), apperr.Conflict)
		wantField(t, s.CreateSpace(ctx(), space.Space{ID: "orphan", Name: "Orphan", ParentID: "nope", CreatedAt: base, UpdatedAt: base}), "parent")
		wantField(t, s.CreateSpace(ctx(), space.Space{ID: "noparent", Name: "No parent", CreatedAt: base, UpdatedAt: base}), "parent")
	})

	t.Run("update", func(t *testing.T) {
		b := mustSpace(t, s, space.Space{ID: "b", Inherit: true})
		b.Name, b.Inherit, b.Description, b.Labels, b.ParentID = "Bee", false, "new", []string{"x"}, "team-a"
		b.UpdatedAt = base.Add(time.Hour)
		if err := s.UpdateSpace(ctx(), b); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetSpace(ctx(), "b"); !reflect.DeepEqual(got, b) {
			t.Errorf("after update %+v\nwant %+v", got, b)
		}
		wantCode(t, s.UpdateSpace(ctx(), space.Space{ID: "nope", Name: "Nope", ParentID: space.RootID, UpdatedAt: base}), apperr.NotFound)
		b.Name = "Team A"
		wantCode(t, s.UpdateSpace(ctx(), b), apperr.Conflict)
		b.Name, b.ParentID = "Bee", "nope"
		wantField(t, s.UpdateSpace(ctx(), b), "parent")
		b.ParentID = "b1"
		mustSpace(t, s, space.Space{ID: "b1", ParentID: "b"})
		wantField(t, s.UpdateSpace(ctx(), b), "parent") // under its own child
		b.ParentID = "b"
		wantField(t, s.UpdateSpace(ctx(), b), "parent") // under itself
		root.ParentID = "team-a"
		wantField(t, s.UpdateSpace(ctx(), root), "parent")
		root.ParentID, root.Description = "", "the root"
		if err := s.UpdateSpace(ctx(), root); err != nil {
			t.Errorf("update root description: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		wantCode(t, s.DeleteSpace(ctx(), space.RootID), apperr.Conflict)
		wantCode(t, s.DeleteSpace(ctx(), "nope"), apperr.NotFound)
		err := s.DeleteSpace(ctx(), "team-a")
		wantCode(t, err, apperr.Conflict)
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "a1") {
			t.Errorf("message %q does not name the child space", msg)
		}
		mustSpace(t, s, space.Space{ID: "holder"})
		in := testIntegration("held", "holder", false)
		if err := s.CreateIntegration(ctx(), in, entry("integration.create", in.ID)); err != nil {
			t.Fatal(err)
		}
		err = s.DeleteSpace(ctx(), "holder")
		wantCode(t, err, apperr.Conflict)
		if msg := apperr.MessageOf(err); !strings.Contains(msg, "held") {
			t.Errorf("message %q does not name the integration", msg)
		}
		// An empty space goes, with the role bindings on it.
		mustSpace(t, s, space.Space{ID: "empty"})
		if err := s.CreateAPIKey(ctx(), apiKey("k1"), []space.Binding{{SpaceID: "empty", Role: space.Read}}, idEntry("api_key.create", "k1")); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSpace(ctx(), "empty"); err != nil {
			t.Fatalf("delete empty space: %v", err)
		}
		_, err = s.GetSpace(ctx(), "empty")
		wantCode(t, err, apperr.NotFound)
		if bs, err := s.Bindings(ctx(), "apikey:k1"); err != nil || len(bs) != 0 {
			t.Errorf("bindings after delete = %v, %v", bs, err)
		}
		if err := s.DeleteSpace(ctx(), "a1"); err != nil {
			t.Errorf("delete leaf: %v", err)
		}
	})
}

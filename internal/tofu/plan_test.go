package tofu

import (
	"reflect"
	"testing"
)

func TestParsePlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want Plan
	}{
		{"empty", `{"format_version":"1.2"}`, Plan{Resources: []Resource{}}},
		{"every action", `{"format_version":"1.2","resource_changes":[
			{"address":"a.create","mode":"managed","change":{"actions":["create"]}},
			{"address":"a.update","mode":"managed","change":{"actions":["update"]}},
			{"address":"a.delete","mode":"managed","change":{"actions":["delete"]}},
			{"address":"a.replace","mode":"managed","change":{"actions":["delete","create"]}},
			{"address":"a.replace2","mode":"managed","change":{"actions":["create","delete"]}},
			{"address":"a.same","mode":"managed","change":{"actions":["no-op"]}},
			{"address":"data.x.y","mode":"data","change":{"actions":["read"]}},
			{"address":"a.imported","mode":"managed","change":{"actions":["no-op"],"importing":{"id":"i-1"}}},
			{"address":"a.imported_changed","mode":"managed","change":{"actions":["update"],"importing":{"id":"i-2"}}}]}`,
			Plan{Delta: Delta{Add: 3, Change: 2, Destroy: 3, Import: 2}, Resources: []Resource{
				{"a.create", "create"}, {"a.update", "update"}, {"a.delete", "delete"}, {"a.replace", "replace"},
				{"a.replace2", "replace"}, {"a.imported", "import"}, {"a.imported_changed", "update"}}}},
		{"outputs only", `{"format_version":"1.2","output_changes":{"o":{"actions":["update"]},"p":{"actions":["no-op"]}}}`,
			Plan{Resources: []Resource{}, OutputsChanged: true}},
		{"unchanged outputs", `{"format_version":"1.2","output_changes":{"p":{"actions":["no-op"]}}}`,
			Plan{Resources: []Resource{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePlan([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePlan =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.HasChanges() != (tt.name != "empty" && tt.name != "unchanged outputs") {
				t.Fatalf("HasChanges = %v", got.HasChanges())
			}
		})
	}
	for _, bad := range []string{`not json`, `{}`} {
		if _, err := ParsePlan([]byte(bad)); err == nil {
			t.Errorf("ParsePlan(%q) succeeded", bad)
		}
	}
}

func TestDeltaString(t *testing.T) {
	t.Parallel()
	if got := (Delta{Add: 2, Change: 1}).String(); got != "+2 ~1 -0" {
		t.Fatalf("got %q", got)
	}
}

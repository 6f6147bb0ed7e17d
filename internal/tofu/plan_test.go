package tofu

import (
	"reflect"
	"strings"
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
				{Address: "a.create", Action: "create"}, {Address: "a.update", Action: "update"}, {Address: "a.delete", Action: "delete"},
				{Address: "a.replace", Action: "replace"}, {Address: "a.replace2", Action: "replace"}, {Address: "a.imported", Action: "import"},
				{Address: "a.imported_changed", Action: "update"}}}},
		{"attribute changes, sensitive masked", `{"format_version":"1.2","resource_changes":[
			{"address":"a.db","mode":"managed","change":{"actions":["update"],
				"before":{"name":"db","size":1,"password":"old","tags":{"a":"1"},"same":[1,2]},
				"after":{"name":"db","size":2,"password":"new","tags":{"a":"2"},"same":[1,2],"arn":null},
				"after_unknown":{"arn":true},"before_sensitive":{"password":true},"after_sensitive":{"password":true,"tags":{}}}},
			{"address":"a.new","mode":"managed","change":{"actions":["create"],"after":{"id":null,"input":"` + strings.Repeat("x", 300) + `"},
				"after_unknown":{"id":true},"after_sensitive":false}},
			{"address":"a.secret","mode":"managed","change":{"actions":["create"],"after":{"k":"v"},"after_sensitive":true}},
			{"address":"a.odd","mode":"managed","change":{"actions":["update"],"before":[1],"after":"x"}}]}`,
			Plan{Delta: Delta{Add: 2, Change: 2}, Resources: []Resource{
				{Address: "a.db", Action: "update", Changes: []AttrChange{{Name: "arn", Unknown: true},
					{Name: "password", Sensitive: true}, {Name: "size", Before: "1", After: "2"},
					{Name: "tags", Before: `{"a":"1"}`, After: `{"a":"2"}`}}},
				{Address: "a.new", Action: "create", Changes: []AttrChange{{Name: "id", Unknown: true},
					{Name: "input", After: `"` + strings.Repeat("x", 300) + `"`}}},
				{Address: "a.secret", Action: "create", Changes: []AttrChange{{Name: "k", Sensitive: true}}},
				{Address: "a.odd", Action: "update"}}}},
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

package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/stack"
)

// TestCloneCopiesEveryReference: the cache's copies share no slice, map
// or pointer with what it keeps, also for fields added after this was
// written (a field the clone forgets fails here, filled by reflection).
func TestCloneCopiesEveryReference(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		clone func(v any) any
	}{
		{"stack", &stack.Stack{}, func(v any) any { c := cloneStack(*v.(*stack.Stack)); return &c }},
		{"stacks", &stack.Stack{}, func(v any) any { return &cloneStacks([]stack.Stack{*v.(*stack.Stack)})[0] }},
		{"integration", &integration.Integration{}, func(v any) any { c := cloneIntegration(*v.(*integration.Integration)); return &c }},
		{"policies", &policy.Policy{}, func(v any) any { return &clonePolicies([]policy.Policy{*v.(*policy.Policy)})[0] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := reflect.ValueOf(tc.value).Elem()
			fill(t, orig)
			cp := reflect.ValueOf(tc.clone(tc.value)).Elem()
			if !reflect.DeepEqual(orig.Interface(), cp.Interface()) {
				t.Fatalf("clone differs:\n%+v\n%+v", orig.Interface(), cp.Interface())
			}
			for i := range orig.NumField() {
				f := orig.Type().Field(i)
				switch f.Type.Kind() {
				case reflect.Slice, reflect.Map, reflect.Pointer:
					if orig.Field(i).Pointer() == cp.Field(i).Pointer() {
						t.Errorf("field %s is shared between the cache and the caller", f.Name)
					}
				}
			}
		})
	}
}

// fill gives every field of struct v a non-zero value.
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int64:
			f.SetInt(1)
		case reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			if e := s.Index(0); e.Kind() == reflect.String {
				e.SetString("x")
			} else if e.Kind() == reflect.Uint8 {
				e.SetUint(1)
			}
			f.Set(s)
		case reflect.Pointer:
			p := reflect.New(f.Type().Elem())
			if p.Elem().Kind() == reflect.Struct && p.Elem().Type() != reflect.TypeFor[time.Time]() {
				fill(t, p.Elem())
			} else if p.Elem().Type() == reflect.TypeFor[time.Time]() {
				p.Elem().Set(reflect.ValueOf(time.Unix(1, 0)))
			}
			f.Set(p)
		case reflect.Struct:
			if f.Type() == reflect.TypeFor[time.Time]() {
				f.Set(reflect.ValueOf(time.Unix(1, 0)))
			}
		default:
			t.Fatalf("fill: field %s of kind %s: teach fill and the clone about it", v.Type().Field(i).Name, f.Kind())
		}
	}
}

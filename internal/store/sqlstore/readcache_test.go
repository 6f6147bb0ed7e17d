package sqlstore

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
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

// TestSealStacksClipsEverySlice: a repository's shared stacks hold no
// slice with room to grow, also for fields added after this was written
// (filled by reflection, with spare capacity), so that a reader's append
// copies instead of writing where the other readers read.
func TestSealStacksClipsEverySlice(t *testing.T) {
	var st stack.Stack
	v := reflect.ValueOf(&st).Elem()
	fill(t, v)
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Slice {
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, 4), f))
		}
	}
	in := append(make([]stack.Stack, 0, 4), st)
	out := sealStacks(in)
	if cap(out) != len(out) {
		t.Errorf("the list has room for %d more stacks", cap(out)-len(out))
	}
	sealed := reflect.ValueOf(out[0])
	for i := range sealed.NumField() {
		if f := sealed.Field(i); f.Kind() == reflect.Slice && f.Cap() != f.Len() {
			t.Errorf("field %s has room for %d more", sealed.Type().Field(i).Name, f.Cap()-f.Len())
		}
	}
}

// TestMissesShareOneLoad: callers that miss one entry at once wait for one
// load (with thousands of stacks, a load each held hundreds of megabytes),
// and a caller whose loader gave up loads for itself.
func TestMissesShareOneLoad(t *testing.T) {
	s := &Store{}
	ctx := context.WithValue(t.Context(), scopeKey{s}, map[string]int64{"t": 1})
	var m map[string]cached[[]int]
	var loads atomic.Int32
	release := make(chan struct{})
	load := func() ([]int, error) {
		loads.Add(1)
		<-release
		return []int{1, 2, 3}, nil
	}
	const callers = 8
	var started, wg sync.WaitGroup
	got := make([][]int, callers)
	for i := range callers {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			v, err := throughCache(ctx, s, "t", &m, "k", shared, load)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // the callers reach the load meanwhile
	close(release)
	wg.Wait()
	// Fewer loads than callers: a caller scheduled late may miss the
	// shared one on a busy machine.
	if n := loads.Load(); n >= callers {
		t.Errorf("%d callers loaded %d times", callers, n)
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], []int{1, 2, 3}) {
			t.Errorf("caller %d got %v", i, got[i])
		}
	}

	// The loader's own context ends: the others load for themselves.
	gone, cancel := context.WithCancel(context.WithValue(t.Context(), scopeKey{s}, map[string]int64{"t": 2}))
	entered, quit := make(chan struct{}), make(chan struct{})
	var errGone error
	go func() {
		defer close(quit)
		_, errGone = throughCache(gone, s, "t", &m, "k", shared, func() ([]int, error) {
			close(entered)
			<-gone.Done()
			return nil, gone.Err()
		})
	}()
	<-entered
	other := context.WithValue(t.Context(), scopeKey{s}, map[string]int64{"t": 2})
	done := make(chan []int)
	go func() {
		v, err := throughCache(other, s, "t", &m, "k", shared, func() ([]int, error) { return []int{4}, nil })
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	time.Sleep(20 * time.Millisecond) // joins the load that is about to fail
	cancel()
	<-quit
	if !errors.Is(errGone, context.Canceled) {
		t.Errorf("the loader that gave up got %v", errGone)
	}
	if v := <-done; !reflect.DeepEqual(v, []int{4}) {
		t.Errorf("the caller that did not give up got %v", v)
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

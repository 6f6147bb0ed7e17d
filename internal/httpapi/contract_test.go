package httpapi

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/run"
)

// TestRunStatesInContract: the document lists every run state the domain
// has, so a new state is documented before a run in it is answered.
func TestRunStatesInContract(t *testing.T) {
	t.Parallel()
	f, _ := reflect.TypeFor[api.Run]().FieldByName("State")
	documented := strings.Split(f.Tag.Get("enum"), ",")
	var states []string
	for _, s := range run.States {
		states = append(states, string(s))
	}
	slices.Sort(documented)
	slices.Sort(states)
	if !slices.Equal(documented, states) {
		t.Fatalf("api.Run.State enum = %v, run.States = %v", documented, states)
	}
}

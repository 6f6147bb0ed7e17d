package tofu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Delta counts what a plan changes (SPEC §6.2 run "delta").
type Delta struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
	Import  int `json:"import"`
}

// String is the short summary used in statuses: "+2 ~1 -0".
func (d Delta) String() string {
	return fmt.Sprintf("+%d ~%d -%d", d.Add, d.Change, d.Destroy)
}

// Resource is one resource the plan touches.
type Resource struct {
	Address string `json:"address"`
	// Action is create, update, delete, replace, read or import (an import
	// without other changes).
	Action string `json:"action"`
}

// Plan is what a saved plan does.
type Plan struct {
	Delta     Delta      `json:"delta"`
	Resources []Resource `json:"resources"`
	// OutputsChanged is true when a root output changes even though no
	// resource does; applying such a plan still writes a new state.
	OutputsChanged bool `json:"outputs_changed"`
	// JSON is the output of `tofu show -json` this summarises, for plan
	// policies (nil when parsed from bytes by ParsePlan alone).
	JSON []byte `json:"-"`
}

// HasChanges reports whether applying the plan would change anything.
func (p Plan) HasChanges() bool {
	d := p.Delta
	return d.Add+d.Change+d.Destroy+d.Import > 0 || p.OutputsChanged
}

// showJSON is the part of `tofu show -json` output the summary needs.
type showJSON struct {
	FormatVersion   string `json:"format_version"`
	ResourceChanges []struct {
		Address string `json:"address"`
		Mode    string `json:"mode"`
		Change  struct {
			Actions   []string        `json:"actions"`
			Importing json.RawMessage `json:"importing"`
		} `json:"change"`
	} `json:"resource_changes"`
	OutputChanges map[string]struct {
		Actions []string `json:"actions"`
	} `json:"output_changes"`
}

// ParsePlan summarises the JSON of `tofu show -json <plan>`.
func ParsePlan(b []byte) (Plan, error) {
	var sj showJSON
	if err := json.Unmarshal(b, &sj); err != nil {
		return Plan{}, fmt.Errorf("read plan JSON: %w", err)
	}
	if sj.FormatVersion == "" {
		return Plan{}, fmt.Errorf("read plan JSON: no format_version; not the output of tofu show -json")
	}
	p := Plan{Resources: []Resource{}}
	for _, rc := range sj.ResourceChanges {
		importing := len(rc.Change.Importing) > 0 && string(rc.Change.Importing) != "null"
		action := actionOf(rc.Change.Actions)
		switch action {
		case "create":
			p.Delta.Add++
		case "update":
			p.Delta.Change++
		case "delete":
			p.Delta.Destroy++
		case "replace":
			p.Delta.Add++
			p.Delta.Destroy++
		}
		if importing {
			p.Delta.Import++
			if action == "no-op" {
				action = "import"
			}
		}
		if action == "no-op" || (action == "read" && rc.Mode == "data") {
			continue
		}
		p.Resources = append(p.Resources, Resource{Address: rc.Address, Action: action})
	}
	for _, oc := range sj.OutputChanges {
		if actionOf(oc.Actions) != "no-op" {
			p.OutputsChanged = true
		}
	}
	return p, nil
}

// actionOf names a change's action list the way tofu's summary counts it.
func actionOf(actions []string) string {
	switch {
	case len(actions) == 2 && slices.Contains(actions, "create") && slices.Contains(actions, "delete"):
		return "replace"
	case len(actions) == 1:
		return actions[0]
	case len(actions) == 0:
		return "no-op"
	}
	return strings.Join(actions, ",")
}

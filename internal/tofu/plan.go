package tofu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
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
	// Changes are the top-level attributes the plan sets or changes, in
	// name order (bounded: see maxChanges).
	Changes []AttrChange `json:"changes,omitempty"`
}

// AttrChange is one attribute of a resource as the plan changes it, its
// values as compact JSON (whole: the worker masks its run's secrets in
// them before anything cuts them, so no cut can split a secret). A value
// tofu marks sensitive is never carried: Before and After are "" and
// Sensitive is true.
type AttrChange struct {
	Name      string `json:"name"`
	Before    string `json:"before,omitempty"`
	After     string `json:"after,omitempty"`
	Sensitive bool   `json:"sensitive,omitempty"`
	Unknown   bool   `json:"unknown,omitempty"` // known only after the apply
}

// Bounds on the attribute changes a plan's summary keeps: they are stored
// with the run and shown on its page, and a plan is the repository's
// code's output.
const (
	maxAttrs       = 50   // attributes of one resource
	maxChanges     = 2000 // attribute changes of one plan
	maxAttrNameLen = 128
)

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
			Actions         []string        `json:"actions"`
			Importing       json.RawMessage `json:"importing"`
			Before          json.RawMessage `json:"before"`
			After           json.RawMessage `json:"after"`
			AfterUnknown    json.RawMessage `json:"after_unknown"`
			BeforeSensitive json.RawMessage `json:"before_sensitive"`
			AfterSensitive  json.RawMessage `json:"after_sensitive"`
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
	budget := maxChanges
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
		res := Resource{Address: rc.Address, Action: action}
		if action == "create" || action == "update" || action == "replace" {
			c := rc.Change
			res.Changes = attrChanges(object(c.Before), object(c.After), c.AfterUnknown, c.BeforeSensitive, c.AfterSensitive, &budget)
		}
		p.Resources = append(p.Resources, res)
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

// flags reads the top level of an after_unknown or *_sensitive value: true
// (the whole value) or an object of attribute names; for each attribute,
// whether any part of it is flagged.
func flags(raw json.RawMessage) (all bool, attrs map[string]bool) {
	if len(raw) == 0 {
		return false, nil
	}
	if string(raw) == "true" {
		return true, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false, nil
	}
	attrs = map[string]bool{}
	for k, v := range m {
		// Any true inside (a nested attribute or element) flags it.
		if s := string(v); s != "false" && s != "{}" && s != "[]" && strings.Contains(s, "true") {
			attrs[k] = true
		}
	}
	return false, attrs
}

// attrChanges lists the top-level attributes whose value the plan sets or
// changes, sensitive values masked, within budget (decremented).
func attrChanges(before, after map[string]json.RawMessage, unknown, beforeSens, afterSens json.RawMessage, budget *int) []AttrChange {
	uAll, uAttrs := flags(unknown)
	bsAll, bsAttrs := flags(beforeSens)
	asAll, asAttrs := flags(afterSens)
	names := map[string]bool{}
	for k := range after {
		names[k] = true
	}
	for k := range before {
		names[k] = true
	}
	for k := range uAttrs {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	var out []AttrChange
	for _, k := range sorted {
		if *budget <= 0 || len(out) >= maxAttrs {
			break
		}
		b, a := before[k], after[k]
		isUnknown := uAll || uAttrs[k]
		if !isUnknown && jsonEqual(b, a) {
			continue
		}
		if !isUnknown && isNull(a) && isNull(b) {
			continue
		}
		c := AttrChange{Name: cut(k, maxAttrNameLen), Unknown: isUnknown}
		if bsAll || asAll || bsAttrs[k] || asAttrs[k] {
			c.Sensitive = true
		} else {
			if !isNull(b) {
				c.Before = compact(b)
			}
			if !isNull(a) && !isUnknown {
				c.After = compact(a)
			}
		}
		out = append(out, c)
		*budget--
	}
	return out
}

// object reads a resource's before or after value, an object of its
// attributes; anything else (null, or a malformed plan) is none.
func object(raw json.RawMessage) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// jsonEqual compares two JSON values by meaning (key order and spacing
// aside).
func jsonEqual(a, b json.RawMessage) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) == isNull(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	return reflect.DeepEqual(x, y)
}

func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// cut shortens s to at most n bytes on a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

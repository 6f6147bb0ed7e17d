package feedback

import (
	"fmt"
	"strings"

	"github.com/hoistdev/hoist/internal/run"
)

// Resources are the addresses a plan would add, change and destroy.
type Resources struct {
	Add     []string
	Change  []string
	Destroy []string
}

// byAction sorts a plan's resources into what it adds, changes and
// destroys; a replacement is both added and destroyed, as OpenTofu counts
// it.
func byAction(rs []run.Resource) *Resources {
	out := &Resources{}
	for _, r := range rs {
		switch r.Action {
		case "create":
			out.Add = append(out.Add, r.Address)
		case "update":
			out.Change = append(out.Change, r.Address)
		case "delete":
			out.Destroy = append(out.Destroy, r.Address)
		case "replace":
			out.Add = append(out.Add, r.Address)
			out.Destroy = append(out.Destroy, r.Address)
		}
	}
	return out
}

// maxListed bounds each action's list in a merge request note: huge plans
// stay readable and far below GitLab's 1,000,000-character note limit.
const maxListed = 50

// Summary is the plan summary of a delta: "+2 ~1 -0".
func Summary(d run.Delta) string {
	return fmt.Sprintf("+%d ~%d -%d", d.Add, d.Change, d.Destroy)
}

// hasChanges reports whether a plan changes anything.
func hasChanges(d run.Delta) bool { return d.Add+d.Change+d.Destroy+d.Import > 0 }

var stateIcons = map[string]string{"pending": "⏳", "running": "🔄", "success": "✅", "failed": "❌", "canceled": "⛔"}

// noteBody renders the merge request note of a stack's proposed run.
func noteBody(r run.Run, to run.State, note, runURL string, res *Resources) string {
	var b strings.Builder
	state := statusState(to)
	b.WriteString(noteMarker(r.StackID) + "\n")
	fmt.Fprintf(&b, "### %s Hoist · stack `%s` · %s\n\n", stateIcons[state], r.StackID, description(r, to, note, false))
	fmt.Fprintf(&b, "Run [`%s`](%s) at commit `%s` — %s.\n", r.ID, runURL, shortSHA(r.CommitSHA), strings.ToLower(string(to)))
	if to == run.Finished {
		fmt.Fprintf(&b, "\n**Plan: %d to add, %d to change, %d to destroy.**\n", r.Delta.Add, r.Delta.Change, r.Delta.Destroy)
		if res != nil {
			writeResources(&b, "to add", res.Add)
			writeResources(&b, "to change", res.Change)
			writeResources(&b, "to destroy", res.Destroy)
		}
	}
	return b.String()
}

// writeResources lists one action's resources, at most maxListed of them.
func writeResources(b *strings.Builder, action string, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n<details><summary>%d %s</summary>\n\n", len(addrs), action)
	for i, a := range addrs {
		if i == maxListed {
			fmt.Fprintf(b, "- … and %d more\n", len(addrs)-maxListed)
			break
		}
		fmt.Fprintf(b, "- `%s`\n", strings.ReplaceAll(a, "`", "'"))
	}
	b.WriteString("\n</details>\n")
}

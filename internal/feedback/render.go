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
	// OpenTofu's error is the run's code's text: it goes into a code
	// block, where GitLab renders no markdown, links or mentions; never
	// into the heading.
	head := r
	head.ErrorDetail = ""
	b.WriteString(noteMarker(r.StackID) + "\n")
	fmt.Fprintf(&b, "### %s Hoist · stack `%s` · %s\n\n", stateIcons[state], r.StackID, description(head, to, note, false))
	fmt.Fprintf(&b, "Run [`%s`](%s) at commit `%s` — %s.\n", r.ID, runURL, shortSHA(r.CommitSHA), strings.ToLower(string(to)))
	if to == run.Failed && r.ErrorDetail != "" {
		b.WriteString("\nOpenTofu's error:\n\n" + codeBlock(r.ErrorDetail))
	}
	if r.Type == run.Tracked {
		fmt.Fprintf(&b, "\n🔒 Applied before merge: `%s` is locked to this merge request until it is merged or closed, or `/hoist unlock`.\n", r.StackID)
	}
	switch {
	case to == run.Finished && r.Type == run.Tracked:
		fmt.Fprintf(&b, "\n**Applied: %d added, %d changed, %d destroyed.**\n", r.Delta.Add, r.Delta.Change, r.Delta.Destroy)
		writeResourceLists(&b, res, "added", "changed", "destroyed")
	case to == run.Finished:
		fmt.Fprintf(&b, "\n**Plan: %d to add, %d to change, %d to destroy.**\n", r.Delta.Add, r.Delta.Change, r.Delta.Destroy)
		writeResourceLists(&b, res, "to add", "to change", "to destroy")
	}
	return b.String()
}

// afterMergeBody renders the stack's merge request note once the tracked
// branch's run after the merge has planned: no changes (the merge request
// applied what was merged), changes (it did not: something else reached
// the branch, or the apply was not the merged code), or a failure.
func afterMergeBody(r run.Run, to run.State, branch, runURL string, res *Resources, byHoist bool) string {
	var b strings.Builder
	b.WriteString(noteMarker(r.StackID) + "\n")
	ref := fmt.Sprintf("the run [`%s`](%s) of `%s` at commit `%s`", r.ID, runURL, branch, shortSHA(r.CommitSHA))
	merged := "Merged."
	if byHoist {
		merged = "**Merged by Hoist** (automerge: every stack this merge request changes had applied)."
	}
	switch {
	case to == run.Failed:
		fmt.Fprintf(&b, "### %s Hoist · stack `%s` · after the merge: the tracked branch's plan failed\n\n", stateIcons["failed"], r.StackID)
		fmt.Fprintf(&b, "%s After the merge, %s failed, so whether the merged code matches what this merge request applied is unknown.\n", merged, ref)
		if r.ErrorDetail != "" {
			b.WriteString("\nOpenTofu's error:\n\n" + codeBlock(r.ErrorDetail))
		}
	case !hasChanges(r.Delta):
		fmt.Fprintf(&b, "### %s Hoist · stack `%s` · merged: no changes left\n\n", stateIcons["success"], r.StackID)
		fmt.Fprintf(&b, "%s After the merge, %s plans **no changes**: what this merge request applied before its merge is what was merged.\n", merged, ref)
	default:
		fmt.Fprintf(&b, "### ⚠️ Hoist · stack `%s` · merged, but the tracked branch still has changes\n\n", r.StackID)
		fmt.Fprintf(&b, "%s After the merge, %s **still plans %s** — what this merge request applied before its merge is not "+
			"what was merged (another change reached `%s`, or the merge changed the code). The run is %s.\n",
			merged, ref, Summary(r.Delta), branch, strings.ToLower(string(to)))
		writeResourceLists(&b, res, "to add", "to change", "to destroy")
	}
	return b.String()
}

// writeResourceLists lists a plan's resources by action, when known, each
// list headed by its word ("to add", or "added" once applied).
func writeResourceLists(b *strings.Builder, res *Resources, add, change, destroy string) {
	if res == nil {
		return
	}
	writeResources(b, add, res.Add)
	writeResources(b, change, res.Change)
	writeResources(b, destroy, res.Destroy)
}

// maxFailureDescription bounds a failure's commit status description,
// which GitLab shows on one line.
const maxFailureDescription = 140

// errorLine is OpenTofu's error on one line: the first error's summary and
// the first paragraph of its explanation ("Error: Resource precondition
// failed — needs 2 replicas."), skipping the source lines tofu quotes
// (indented).
func errorLine(detail string) string {
	lines := strings.Split(strings.TrimSpace(detail), "\n")
	out := lines[0]
	para := false
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "Error: ") || para && (l == "" || strings.HasPrefix(l, " ")) {
			break
		}
		if l != "" && !strings.HasPrefix(l, " ") {
			if !para {
				out += " —"
			}
			out, para = out+" "+l, true
		}
	}
	return strings.Join(strings.Fields(out), " ")
}

// failedStep names what failed from a failure's note: "plan failed: tofu
// plan: exit status 1" → "Plan failed"; "Failed" when the note does not
// say.
func failedStep(note string) string {
	step, _, ok := strings.Cut(note, ": ")
	if !ok || !strings.HasSuffix(step, " failed") || strings.Count(step, " ") != 1 {
		return "Failed"
	}
	return strings.ToUpper(step[:1]) + step[1:]
}

// codeBlock fences text for GitLab markdown: the fence is longer than any
// run of backticks in text, so text cannot close it, and "<!--" is broken
// up so that text cannot pass for another stack's note marker.
func codeBlock(text string) string {
	longest, n := 0, 0
	for _, c := range text {
		if c == '`' {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	text = strings.ReplaceAll(text, "<!--", "<!-\u200b-")
	return fence + "text\n" + strings.TrimRight(text, "\n") + "\n" + fence + "\n"
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

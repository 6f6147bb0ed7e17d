package policy

import (
	"strings"

	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// The rules of who may do what with policies, as pure functions of the
// principal's resolved access, the same as stacks': readers of a policy's
// space see it, admins of the space create, change, delete and attach it;
// anyone else is told it does not exist.

// CanRead reports whether the principal may see p.
func CanRead(p Policy, a space.Access) bool { return a.Has(p.SpaceID, space.Read) }

// CanManage reports whether the principal may create, change, delete or
// attach policies of the space spaceID.
func CanManage(spaceID string, a space.Access) bool { return a.Has(spaceID, space.Admin) }

// ListFilter returns the store filter holding exactly the policies CanRead
// allows.
func ListFilter(a space.Access) Filter {
	all, spaces := a.ReadScope()
	return Filter{All: all, Spaces: spaces}
}

// AutoattachPrefix starts the labels that attach a policy automatically:
// autoattach:<label> to the stacks carrying <label>, autoattach:* to all,
// in the policy's space and below.
const AutoattachPrefix = "autoattach:"

// Attached says whether and why policy p applies to stack st.
type Attached struct {
	Policy Policy
	// Explicit: attached by hand; otherwise through AutoLabel.
	Explicit  bool
	AutoLabel string // the autoattach label that matched
}

// Applies decides whether p applies to st: explicitly attached, or
// autoattached — st is in p's space or below and carries one of the labels
// p's autoattach labels name (any, for autoattach:*).
func Applies(p Policy, st stack.Stack, tree space.Tree, explicit bool) (Attached, bool) {
	if explicit {
		return Attached{Policy: p, Explicit: true}, true
	}
	if !tree.Within(st.SpaceID, p.SpaceID) {
		return Attached{}, false
	}
	for _, l := range p.Labels {
		want, ok := strings.CutPrefix(l, AutoattachPrefix)
		if !ok {
			continue
		}
		if want == "*" || hasLabel(st.Labels, want) {
			return Attached{Policy: p, AutoLabel: l}, true
		}
	}
	return Attached{}, false
}

func hasLabel(labels []string, l string) bool {
	for _, x := range labels {
		if x == l {
			return true
		}
	}
	return false
}

// Resolve returns, for each stack, the policies of ps that apply to it, in
// policy id order. explicit holds the explicit attachments.
func Resolve(ps []Policy, stacks []stack.Stack, tree space.Tree, explicit []Attachment) map[string][]Attached {
	byStack := map[string]map[string]bool{}
	for _, a := range explicit {
		if byStack[a.StackID] == nil {
			byStack[a.StackID] = map[string]bool{}
		}
		byStack[a.StackID][a.PolicyID] = true
	}
	out := make(map[string][]Attached, len(stacks))
	for _, st := range stacks {
		for _, p := range ps {
			if at, ok := Applies(p, st, tree, byStack[st.ID][p.ID]); ok {
				out[st.ID] = append(out[st.ID], at)
			}
		}
	}
	return out
}

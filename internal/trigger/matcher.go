package trigger

import "github.com/bmatcuk/doublestar/v4"

// Matcher answers Affected for many stacks of one repository at once. It is
// built once per set of stacks and is safe for concurrent use.
//
// Project roots are indexed by path: for each changed file the Matcher looks
// up every path-segment prefix of it (a, a/b, a/b/c.tf) in one map, so the
// cost grows with files × depth, not files × stacks. Globs are indexed the
// same way by their literal prefix (modules/net for "modules/net/**/*.tf"),
// so a glob is only tried against files under that prefix; identical globs
// of different stacks are tried once; a glob stops being tried once it
// matched or all its stacks are already affected.
type Matcher struct {
	stacks    []Stack
	everyFile []int32          // stacks rooted at the repository root
	nodes     map[string]*node // path prefix → what hangs there
	nodeList  []*node          // nodes by id, for per-match bookkeeping
	anywhere  []int32          // globs with no literal prefix
	globs     []glob
	maxKey    int // longest key in nodes; longer prefixes cannot hit
}

// node is one path prefix: stacks rooted there and globs starting there.
type node struct {
	id     int32
	stacks []int32
	globs  []int32
}

type glob struct {
	pattern string
	stacks  []int32
}

// NewMatcher indexes stacks. Match results are indexed like stacks.
func NewMatcher(stacks []Stack) *Matcher {
	m := &Matcher{stacks: stacks, nodes: make(map[string]*node, len(stacks))}
	globIDs := map[string]int32{}
	for i, st := range stacks {
		id := int32(i)
		if root := NormalizeRoot(st.ProjectRoot); root == "" {
			m.everyFile = append(m.everyFile, id)
		} else {
			n := m.node(root)
			n.stacks = append(n.stacks, id)
		}
		for _, g := range st.AdditionalGlobs {
			m.addGlob(id, NormalizeGlob(g), globIDs)
		}
	}
	return m
}

// addGlob indexes one glob of stack id under the literal prefix of each of
// its alternatives; identical patterns share one entry.
func (m *Matcher) addGlob(id int32, pattern string, globIDs map[string]int32) {
	if pattern == "" || !doublestar.ValidatePattern(pattern) {
		return // matches nothing, as in Affected
	}
	for _, alt := range expandAlternatives(pattern) {
		gid, seen := globIDs[alt]
		if !seen {
			gid = int32(len(m.globs))
			globIDs[alt] = gid
			m.globs = append(m.globs, glob{pattern: alt})
			if prefix := literalPrefix(alt); prefix == "" {
				m.anywhere = append(m.anywhere, gid)
			} else {
				n := m.node(prefix)
				n.globs = append(n.globs, gid)
			}
		}
		// Alternatives of one glob can coincide ("{a,a}"); stacks arrive in
		// order, so a repeat is always the last one.
		if g := &m.globs[gid]; len(g.stacks) == 0 || g.stacks[len(g.stacks)-1] != id {
			g.stacks = append(g.stacks, id)
		}
	}
}

func (m *Matcher) node(key string) *node {
	n, ok := m.nodes[key]
	if !ok {
		n = &node{id: int32(len(m.nodeList))}
		m.nodes[key] = n
		m.nodeList = append(m.nodeList, n)
		m.maxKey = max(m.maxKey, len(key))
	}
	return n
}

// Stacks returns the stacks the Matcher was built from, in their order.
func (m *Matcher) Stacks() []Stack { return m.stacks }

// matchState is the bookkeeping of one Match call.
type matchState struct {
	affected  []bool
	nodeDone  []bool // the node's stacks are marked
	globDone  []bool // the glob matched or cannot change the result any more
	remaining int    // stacks not yet affected
}

// Match reports, for each stack, whether files affect it; the result is
// exactly what Affected gives for each stack alone.
func (m *Matcher) Match(files []string) []bool {
	s := &matchState{
		affected:  make([]bool, len(m.stacks)),
		nodeDone:  make([]bool, len(m.nodeList)),
		globDone:  make([]bool, len(m.globs)),
		remaining: len(m.stacks),
	}
	nonEmpty := false
	for _, f := range files {
		if s.remaining == 0 {
			break
		}
		f = normalizePath(f)
		if f == "" {
			continue
		}
		nonEmpty = true
		m.matchFile(s, f)
	}
	if nonEmpty {
		s.mark(m.everyFile)
	}
	return s.affected
}

func (m *Matcher) matchFile(s *matchState, f string) {
	// Every path-segment prefix of f, then f itself.
	for i := 0; i <= len(f) && i <= m.maxKey; i++ {
		if i < len(f) && f[i] != '/' {
			continue
		}
		n, ok := m.nodes[f[:i]]
		if !ok {
			continue
		}
		if !s.nodeDone[n.id] {
			s.nodeDone[n.id] = true
			s.mark(n.stacks)
		}
		m.tryGlobs(s, n.globs, f)
	}
	m.tryGlobs(s, m.anywhere, f)
}

func (m *Matcher) tryGlobs(s *matchState, ids []int32, f string) {
	for _, gid := range ids {
		if s.globDone[gid] {
			continue
		}
		g := &m.globs[gid]
		if s.allMarked(g.stacks) || globMatch(g.pattern, f) {
			s.globDone[gid] = true
			s.mark(g.stacks)
		}
	}
}

func (s *matchState) mark(ids []int32) {
	for _, id := range ids {
		if !s.affected[id] {
			s.affected[id] = true
			s.remaining--
		}
	}
}

func (s *matchState) allMarked(ids []int32) bool {
	for _, id := range ids {
		if !s.affected[id] {
			return false
		}
	}
	return true
}

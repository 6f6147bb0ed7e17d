// Package mrcommand reads the commands people type in merge request
// comments (`/hoist plan app`, `/hoist apply`, `/hoist unlock`, `/hoist
// help`) out of a note's text.
//
// Everything here is pure: no I/O, no clock, no knowledge of stacks or
// permissions. Only the first line of a note is read; the rest is free text
// for humans. A note that does not start with the /hoist prefix is not a
// command and is ignored. Comments are written by anyone who can reach the
// merge request, so every size is bounded and only plain ASCII counts as
// the prefix, a verb or a stack name: a lookalike such as "/hοist" (Greek
// omicron) or "/hoiſt" (long s, which Unicode case folding maps to s) is
// not a command.
package mrcommand

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Prefix starts every command, matched case-insensitively (ASCII only).
const Prefix = "/hoist"

// Bounds on what a note may ask for.
const (
	// MaxLineBytes is the longest first line read as a command. A longer
	// one is refused as a whole rather than cut, so a command never acts
	// on a truncated stack list.
	MaxLineBytes = 1024
	// MaxStacks is how many stack names one command may name.
	MaxStacks = 20
	// MaxStackNameBytes is the longest stack name accepted.
	MaxStackNameBytes = 100
	// maxEcho is how much of a rejected word a reply quotes back.
	maxEcho = 32
)

// Kind is what a command asks for.
type Kind string

// The commands, and Invalid for a note that starts with the prefix but
// is no command Hoist knows (a typo, an unknown verb, a bad stack name).
const (
	Plan    Kind = "plan"
	Apply   Kind = "apply"
	Unlock  Kind = "unlock"
	Help    Kind = "help"
	Invalid Kind = "invalid"
)

// verbs are the commands a person can type, in the order help lists them.
var verbs = []Kind{Plan, Apply, Unlock, Help}

// Command is a parsed command.
type Command struct {
	Kind Kind
	// Stacks are the stack names given to plan, apply or unlock, in the
	// order typed, without duplicates. Empty means every affected stack.
	Stacks []string
	// Problem says, for Invalid, what is wrong in words safe to quote in a
	// reply (control characters removed, the offending word shortened).
	Problem string
	// Suggestion is, for an Invalid verb close to a real one ("aply"),
	// the command probably meant; empty otherwise.
	Suggestion Kind
}

// HelpText is the short reply listing the commands, sent for help and
// after every Invalid command.
const HelpText = "Hoist commands (first line of a comment):\n" +
	"- `/hoist plan [stack…]`: plan the merge request's head again, for the named stacks or every affected one\n" +
	"- `/hoist apply [stack…]`: apply before merge, for the named stacks or every affected one\n" +
	"- `/hoist unlock [stack…]`: release the stacks this merge request holds locked\n" +
	"- `/hoist help`: this list"

// Reply is what to answer a Help or Invalid command with; empty for the
// commands that act.
func (c Command) Reply() string {
	switch c.Kind {
	case Help:
		return HelpText
	case Invalid:
		msg := c.Problem
		if c.Suggestion != "" {
			msg += fmt.Sprintf(" Did you mean `/hoist %s`?", c.Suggestion)
		}
		return msg + "\n\n" + HelpText
	}
	return ""
}

// Parse reads the first line of a note. ok is false when the note is not
// a command at all (it does not start with the prefix), which callers
// ignore without a reply.
func Parse(note string) (cmd Command, ok bool) {
	line := firstLine(note)
	rest, ok := cutPrefix(line)
	if !ok {
		return Command{}, false
	}
	if len(line) > MaxLineBytes {
		return invalid(fmt.Sprintf("The command line is longer than %d bytes.", MaxLineBytes)), true
	}
	if !utf8.ValidString(line) || strings.ContainsFunc(line, isControl) {
		return invalid("The command line holds control characters or invalid text."), true
	}
	words := strings.Fields(rest)
	if len(words) == 0 {
		return Command{Kind: Help}, true // a bare "/hoist" asks what it can do
	}
	verb := Kind(asciiLower(words[0]))
	if !slices.Contains(verbs, verb) {
		c := invalid(fmt.Sprintf("`%s` is not a Hoist command.", echo(words[0])))
		c.Suggestion = suggest(string(verb))
		return c, true
	}
	if verb == Help {
		return Command{Kind: Help}, true // words after help change nothing
	}
	stacks, problem := stackNames(words[1:])
	if problem != "" {
		return invalid(problem), true
	}
	return Command{Kind: verb, Stacks: stacks}, true
}

func invalid(problem string) Command { return Command{Kind: Invalid, Problem: problem} }

// firstLine returns the note's first line with surrounding blanks trimmed.
// Only the first MaxLineBytes+1 bytes are looked at, so a huge note costs
// no more than a long line.
func firstLine(note string) string {
	if len(note) > MaxLineBytes+len(Prefix)+64 {
		note = note[:MaxLineBytes+len(Prefix)+64]
	}
	if i := strings.IndexAny(note, "\r\n"); i >= 0 {
		note = note[:i]
	}
	return strings.Trim(note, " \t")
}

// cutPrefix matches the prefix in ASCII, followed by the end of the line
// or a blank: "/hoistx" is someone else's word, not a command.
func cutPrefix(line string) (string, bool) {
	if len(line) < len(Prefix) || asciiLower(line[:len(Prefix)]) != Prefix {
		return "", false
	}
	rest := line[len(Prefix):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return rest, true
}

// stackNames checks the names given to a command and drops repeats.
func stackNames(words []string) ([]string, string) {
	var out []string
	for _, w := range words {
		if len(w) > MaxStackNameBytes || !validStackName(w) {
			return nil, fmt.Sprintf("`%s` is not a stack name (letters, digits, `-`, `_`, `.` and `/`, at most %d characters).",
				echo(w), MaxStackNameBytes)
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
		if len(out) > MaxStacks {
			return nil, fmt.Sprintf("A command names at most %d stacks.", MaxStacks)
		}
	}
	return out, ""
}

func validStackName(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '.' || s[0] == '/' {
		return false // never an option, a hidden or an absolute path
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

// isControl matches C0 and C1 controls and the invisible format
// characters that can make a reply or a log line read differently from
// what was typed (bidirectional overrides, zero-width spaces).
func isControl(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0xfeff:
		return true
	}
	return false
}

// asciiLower lower-cases ASCII letters only. strings.ToLower and
// strings.EqualFold fold Unicode too, and would read "/HOİST" or "/hoiſt"
// as the prefix.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// echo shortens a word typed by someone for quoting in a reply, on a rune
// boundary, and strips backquotes that would break the reply's markup.
func echo(s string) string {
	s = strings.ReplaceAll(s, "`", "")
	if len(s) <= maxEcho {
		return s
	}
	n := maxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// suggest returns the command within two edits of word, if exactly one
// is: "aply" means apply, "pla" means plan.
func suggest(word string) Kind {
	if len(word) > 2*maxEcho {
		return ""
	}
	var found Kind
	for _, v := range verbs {
		if distance(word, string(v)) <= 2 {
			if found != "" {
				return ""
			}
			found = v
		}
	}
	return found
}

// distance is the Levenshtein distance between two short strings, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

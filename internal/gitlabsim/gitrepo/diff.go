package gitrepo

import (
	"context"
	"fmt"
	"strings"
)

// emptyTree is the object name of the empty tree in SHA-1 repositories; git
// knows it without it being stored.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// Diff is one changed file as GitLab's compare and merge request diffs
// endpoints show it. Modes are octal strings, "0" for the missing side of an
// added or deleted file. Diff is the unified diff from the first "@@" hunk
// header on (no "diff --git", index or ---/+++ lines), "Binary files … differ"
// for binary files, and empty when only the name or mode changed.
type Diff struct {
	OldPath     string
	NewPath     string
	AMode       string
	BMode       string
	Diff        string
	NewFile     bool
	RenamedFile bool
	DeletedFile bool
}

// Compare returns what GitLab's compare API returns for from and to: the
// commits of from..to oldest first (GitLab lists them with git log
// --reverse), and the file diffs. With straight=false the diffs start from
// the merge base of from and to (git's from...to); with straight=true from
// from itself. Renames are detected and reported once.
func (r *Repo) Compare(ctx context.Context, from, to string, straight bool) ([]Commit, []Diff, error) {
	commits, err := r.log(ctx, from, to, "--reverse")
	if err != nil {
		return nil, nil, fmt.Errorf("compare: %w", err)
	}
	diffs, err := r.Diffs(ctx, from, to, straight)
	if err != nil {
		return nil, nil, err
	}
	return commits, diffs, nil
}

// Diffs returns the file diffs between from and to (see Compare for
// straight). An empty from means the empty tree, which gives a root commit's
// own changes.
func (r *Repo) Diffs(ctx context.Context, from, to string, straight bool) ([]Diff, error) {
	if to == "" || strings.HasPrefix(to, "-") || strings.HasPrefix(from, "-") {
		return nil, fmt.Errorf("diff %q %q: %w", from, to, ErrInvalid)
	}
	args := []string{"diff", "--raw", "-p", "-z", "-M", "--no-color", "--no-ext-diff", "--no-textconv", "--end-of-options"}
	switch {
	case from == "":
		args = append(args, emptyTree, to+"^{commit}")
	case straight:
		args = append(args, from+"^{commit}", to+"^{commit}")
	default:
		args = append(args, from+"..."+to)
	}
	out, err := r.git(ctx, append(args, "--")...)
	if err != nil {
		if strings.Contains(stderrOf(err), "no merge base") {
			return nil, fmt.Errorf("diff %s...%s: no merge base: %w", from, to, ErrRefNotFound)
		}
		return nil, r.refError(ctx, "diff "+from+" "+to, err, from, to)
	}
	diffs, err := parseDiff(string(out))
	if err != nil {
		return nil, fmt.Errorf("diff %s %s: %w", from, to, err)
	}
	return diffs, nil
}

// parseDiff reads `git diff --raw -p -z` output: NUL-separated raw records,
// an extra NUL, then the patches in the same order as the records.
func parseDiff(out string) ([]Diff, error) {
	var diffs []Diff
	var typeChanges []bool
	for strings.HasPrefix(out, ":") {
		d, typeChange, rest, err := parseRawRecord(out)
		if err != nil {
			return nil, err
		}
		diffs = append(diffs, d)
		typeChanges = append(typeChanges, typeChange)
		out = rest
	}
	sections := splitPatches(strings.TrimPrefix(out, "\x00"))
	for i := range diffs {
		// A type change (file <-> symlink) prints as a deletion and a
		// creation: two patches for one raw record.
		n := 1
		if typeChanges[i] {
			n = 2
		}
		if len(sections) < n {
			return nil, fmt.Errorf("patch missing for %s", diffs[i].NewPath)
		}
		for _, s := range sections[:n] {
			diffs[i].Diff += patchBody(s)
		}
		sections = sections[n:]
	}
	return diffs, nil
}

// parseRawRecord reads ":<amode> <bmode> <asha> <bsha> <status>\0<path>\0"
// with a second path for renames and copies.
func parseRawRecord(out string) (d Diff, typeChange bool, rest string, err error) {
	meta, rest, ok := strings.Cut(out, "\x00")
	fields := strings.Fields(strings.TrimPrefix(meta, ":"))
	if !ok || len(fields) != 5 {
		return Diff{}, false, "", fmt.Errorf("unexpected raw diff record %q", meta)
	}
	path, rest, _ := strings.Cut(rest, "\x00")
	d = Diff{OldPath: path, NewPath: path, AMode: gitlabMode(fields[0]), BMode: gitlabMode(fields[1])}
	switch status := fields[4]; status[0] {
	case 'A':
		d.NewFile = true
	case 'D':
		d.DeletedFile = true
	case 'T':
		typeChange = true
	case 'R', 'C':
		d.NewPath, rest, _ = strings.Cut(rest, "\x00")
		d.RenamedFile = status[0] == 'R'
		d.NewFile = status[0] == 'C'
	}
	return d, typeChange, rest, nil
}

// gitlabMode drops the zero padding git puts on a missing side.
func gitlabMode(mode string) string {
	if strings.Trim(mode, "0") == "" {
		return "0"
	}
	return mode
}

// splitPatches cuts patch text at each "diff --git" line. Hunk lines always
// start with ' ', '+', '-' or '\', so the header cannot occur inside one.
func splitPatches(text string) []string {
	var sections []string
	for text != "" {
		next := strings.Index(text[1:], "\ndiff --git ")
		if next < 0 {
			sections = append(sections, text)
			break
		}
		sections = append(sections, text[:next+2])
		text = text[next+2:]
	}
	return sections
}

// patchBody drops a patch's header lines, keeping what GitLab shows.
func patchBody(section string) string {
	for off := 0; off < len(section); {
		line := section[off:]
		if strings.HasPrefix(line, "@@ ") || strings.HasPrefix(line, "Binary files ") {
			return line
		}
		nl := strings.IndexByte(line, '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	return ""
}

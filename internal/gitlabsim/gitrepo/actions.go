package gitrepo

import (
	"fmt"
	"strings"
)

// treeState is the file set of a commit being built, keyed by path.
type treeState struct {
	entries map[string]treeEntry
	dirs    map[string]int // built lazily: number of files below each directory
}

func (t *treeState) apply(a Action, contents *[][]byte) error {
	if err := checkPath(a.Path); err != nil {
		return err
	}
	cur, exists := t.entries[a.Path]
	addContent := func() int {
		*contents = append(*contents, a.Content)
		return len(*contents) - 1
	}
	switch a.Kind {
	case ActionCreate:
		if err := t.checkFree(a.Path); err != nil {
			return err
		}
		t.put(a.Path, treeEntry{mode: "100644", blob: addContent()})
	case ActionUpdate:
		if !exists {
			return ErrFileNotFound
		}
		t.entries[a.Path] = treeEntry{mode: cur.mode, blob: addContent()}
	case ActionDelete:
		if !exists {
			return ErrFileNotFound
		}
		t.remove(a.Path)
	case ActionMove:
		return t.move(a, addContent)
	case ActionSymlink:
		if !exists {
			if err := t.checkFree(a.Path); err != nil {
				return err
			}
		}
		if len(a.Content) == 0 {
			return fmt.Errorf("symlink %s: no target: %w", a.Path, ErrInvalid)
		}
		t.put(a.Path, treeEntry{mode: "120000", blob: addContent()})
	case ActionChmod:
		if !exists {
			return ErrFileNotFound
		}
		cur.mode = "100644"
		if a.ExecuteFilemode {
			cur.mode = "100755"
		}
		t.entries[a.Path] = cur
	default:
		return fmt.Errorf("unknown action %q: %w", a.Kind, ErrInvalid)
	}
	return nil
}

func (t *treeState) move(a Action, addContent func() int) error {
	if err := checkPath(a.PreviousPath); err != nil {
		return fmt.Errorf("previous path: %w", err)
	}
	old, ok := t.entries[a.PreviousPath]
	if !ok {
		return fmt.Errorf("previous path %s: %w", a.PreviousPath, ErrFileNotFound)
	}
	if a.PreviousPath == a.Path {
		return fmt.Errorf("move onto itself: %w", ErrInvalid)
	}
	t.remove(a.PreviousPath)
	if err := t.checkFree(a.Path); err != nil {
		t.put(a.PreviousPath, old)
		return err
	}
	moved := old
	if a.Content != nil {
		moved = treeEntry{mode: old.mode, blob: addContent()}
	}
	t.put(a.Path, moved)
	return nil
}

// checkFree reports ErrFileExists when path is taken by a file, by a
// directory, or has a file where one of its parent directories should be.
func (t *treeState) checkFree(path string) error {
	if _, ok := t.entries[path]; ok {
		return ErrFileExists
	}
	t.buildDirs()
	if t.dirs[path] > 0 {
		return fmt.Errorf("a directory has this name: %w", ErrFileExists)
	}
	for dir := parentDir(path); dir != ""; dir = parentDir(dir) {
		if _, ok := t.entries[dir]; ok {
			return fmt.Errorf("parent %s is a file: %w", dir, ErrFileExists)
		}
	}
	return nil
}

// buildDirs counts the files below every directory, on first need only: most
// commits never create a file, so never pay for it.
func (t *treeState) buildDirs() {
	if t.dirs != nil {
		return
	}
	t.dirs = make(map[string]int)
	for path := range t.entries {
		t.countDirs(path, 1)
	}
}

func (t *treeState) countDirs(path string, delta int) {
	for dir := parentDir(path); dir != ""; dir = parentDir(dir) {
		t.dirs[dir] += delta
	}
}

func (t *treeState) put(path string, e treeEntry) {
	if _, ok := t.entries[path]; !ok && t.dirs != nil {
		t.countDirs(path, 1)
	}
	t.entries[path] = e
}

func (t *treeState) remove(path string) {
	if _, ok := t.entries[path]; ok && t.dirs != nil {
		t.countDirs(path, -1)
	}
	delete(t.entries, path)
}

func parentDir(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return ""
	}
	return path[:i]
}

// checkPath accepts a relative slash-separated path without empty, "." or
// ".." components and without a .git component, which git refuses to store.
func checkPath(path string) error {
	if path == "" || strings.ContainsRune(path, 0) {
		return fmt.Errorf("path %q: %w", path, ErrInvalid)
	}
	for _, part := range strings.Split(path, "/") {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return fmt.Errorf("path %q: %w", path, ErrInvalid)
		}
	}
	return nil
}

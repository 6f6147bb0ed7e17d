package workspace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OverrideFile is the name of the backend override Hoist writes.
const OverrideFile = "hoist_backend_override.tf"

// Project is the stack's project root inside an extracted source, held
// open: Hoist's reads and writes there go through it, so a symlink planted
// by the repository (or by the run's code between two commands) cannot
// redirect them.
type Project struct {
	// Dir is the project root's real path (symlinks resolved).
	Dir  string
	root *os.Root
}

// OpenProject resolves the stack's project root inside src against the
// real file system: it must exist, be a folder and stay inside src.
func OpenProject(src, projectRoot string) (*Project, error) {
	srcRoot, err := os.OpenRoot(src)
	if err != nil {
		return nil, fmt.Errorf("open workspace: %w", err)
	}
	defer srcRoot.Close()
	rel := strings.Trim(projectRoot, "/")
	if rel == "" {
		rel = "."
	}
	real, err := Resolve(srcRoot, rel)
	if err != nil {
		return nil, fmt.Errorf("project root %q leaves the repository (%v)", projectRoot, err)
	}
	if real == "" {
		real = "."
	}
	fi, err := srcRoot.Stat(real)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("project root %q is not in the repository at this commit", projectRoot)
	case err != nil:
		return nil, fmt.Errorf("project root %q: %w", projectRoot, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("project root %q is not a folder", projectRoot)
	}
	root, err := srcRoot.OpenRoot(real)
	if err != nil {
		return nil, fmt.Errorf("open project root %q: %w", projectRoot, err)
	}
	return &Project{Dir: filepath.Join(src, filepath.FromSlash(real)), root: root}, nil
}

// Close releases the project root.
func (p *Project) Close() error { return p.root.Close() }

// WriteFile writes name in the project root afresh, never through a
// symlink: whatever the repository had under that name is replaced.
func (p *Project) WriteFile(name string, data []byte, perm os.FileMode) error {
	f, err := createExclusive(p.root, name, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Clear removes whatever the repository has under name (a file, a
// symlink), so that a program told to write name creates it afresh rather
// than writing through a planted link. A folder of that name is an error.
func (p *Project) Clear(name string) error {
	fi, err := p.root.Lstat(name)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("the repository has a folder named %s, where Hoist writes a file", name)
	}
	return p.root.Remove(name)
}

// ReadFile reads name from the project root, refusing a symlink (the run's
// code may have replaced the file with one) and anything over max bytes.
func (p *Project) ReadFile(name string, max int64) ([]byte, error) {
	fi, err := p.root.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file (%s)", name, fi.Mode().Type())
	}
	f, err := p.root.OpenFile(name, os.O_RDONLY|noFollow, 0)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("read %s: larger than %s", name, formatBytes(max))
	}
	return b, nil
}

// WriteBackendOverride points OpenTofu at the managed state (the http
// backend). An override file replaces whatever backend the code declares,
// so user code needs no backend block. The addresses and credentials come
// from the environment (TF_HTTP_ADDRESS, TF_HTTP_LOCK_ADDRESS, …), never
// from this file: a saved plan records the backend's configuration but not
// what the environment supplied, so a confirmed plan is applied against the
// state backend of whichever server or replica applies it, not against an
// address (a loopback port) that died with the server that planned it.
func (p *Project) WriteBackendOverride() error {
	content := "# Written by Hoist: the stack's state is managed by Hoist.\n" +
		"terraform {\n  backend \"http\" {\n" +
		"    lock_method    = \"POST\"\n    unlock_method  = \"DELETE\"\n" +
		"    retry_max      = 3\n    retry_wait_min = 1\n    retry_wait_max = 5\n  }\n}\n"
	return p.WriteFile(OverrideFile, []byte(content), 0o644)
}

// CreateFile writes a new file into dir, a folder Hoist made for the run:
// it must not exist yet, and is never reached through a symlink.
func CreateFile(dir, name string, data []byte, perm os.FileMode) (string, error) {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, perm)
	if err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return p, nil
}

// Chown gives dir and everything in it to uid:gid, links themselves
// included (never their targets). It runs before any program of the run
// starts, so nothing moves meanwhile.
func Chown(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// Remove deletes a run's folder. The run's code may have left folders it
// cannot be removed from (mode 0500): those are opened up first, walking
// real folders only (never through a link), and the removal tried again.
func Remove(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, werr error) error {
		if werr == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

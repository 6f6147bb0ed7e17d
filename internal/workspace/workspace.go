// Package workspace prepares the folder a run executes in: the source
// archive of the run's commit extracted safely (no path leaves the folder,
// no link points out of it, sizes are bounded), the project root inside it,
// and the backend override that points OpenTofu at Hoist's managed state.
package workspace

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Limits of an extracted archive.
const (
	MaxTotalBytes = 1 << 30
	MaxFiles      = 200_000
)

// Extract unpacks a tar.gz into dest, dropping the archive's single
// top-level folder (GitLab archives hold "<project>-<sha>/…"). Entries
// escaping dest, hard links, devices and links pointing outside dest are
// refused.
func Extract(r io.Reader, dest string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("read source archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	for files := 0; ; files++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read source archive: %w", err)
		}
		if files > MaxFiles {
			return fmt.Errorf("source archive has more than %d entries", MaxFiles)
		}
		rel, ok := stripTop(h.Name)
		if !ok {
			continue // the top-level folder itself, or pax metadata
		}
		target, err := within(dest, rel)
		if err != nil {
			return err
		}
		total += h.Size
		if total > MaxTotalBytes {
			return fmt.Errorf("source archive is larger than %d bytes", MaxTotalBytes)
		}
		if err := writeEntry(tr, h, dest, target); err != nil {
			return err
		}
	}
}

// stripTop drops the first path component.
func stripTop(name string) (string, bool) {
	name = strings.TrimPrefix(filepath.ToSlash(name), "./")
	_, rest, ok := strings.Cut(name, "/")
	rest = strings.TrimSuffix(rest, "/")
	return rest, ok && rest != ""
}

// within joins rel to dest and refuses anything that leaves dest.
func within(dest, rel string) (string, error) {
	if filepath.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return "", fmt.Errorf("source archive entry %q is an absolute path", rel)
	}
	target := filepath.Join(dest, filepath.FromSlash(rel))
	if !inside(dest, target) {
		return "", fmt.Errorf("source archive entry %q leaves the workspace", rel)
	}
	return target, nil
}

func inside(dest, p string) bool {
	r, err := filepath.Rel(dest, p)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) && !filepath.IsAbs(r)
}

func writeEntry(tr *tar.Reader, h *tar.Header, dest, target string) error {
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(target, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, tr, h.Size)
		return errors.Join(err, f.Close())
	case tar.TypeSymlink:
		// Resolve the link against its own folder: it must stay inside.
		if filepath.IsAbs(h.Linkname) || !inside(dest, filepath.Join(filepath.Dir(target), h.Linkname)) {
			return fmt.Errorf("source archive link %q points outside the workspace (%q)", h.Name, h.Linkname)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, target)
	case tar.TypeXGlobalHeader, tar.TypeXHeader:
		return nil
	default:
		return fmt.Errorf("source archive entry %q has an unsupported type (%c)", h.Name, h.Typeflag)
	}
}

// ProjectDir returns the stack's project root inside the source folder; it
// must exist and stay inside.
func ProjectDir(src, projectRoot string) (string, error) {
	dir, err := within(src, strings.Trim(projectRoot, "/"))
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("project root %q is not in the repository at this commit", projectRoot)
	}
	realSrc, err := filepath.EvalSymlinks(src)
	if err != nil || !inside(realSrc, real) && real != realSrc {
		return "", fmt.Errorf("project root %q leaves the repository", projectRoot)
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.IsDir() {
		return "", fmt.Errorf("project root %q is not a folder", projectRoot)
	}
	return dir, nil
}

// OverrideFile is the name of the backend override Hoist writes.
const OverrideFile = "hoist_backend_override.tf"

// WriteBackendOverride points OpenTofu at the managed state of the stack
// (the http backend; credentials come from TF_HTTP_USERNAME/PASSWORD in the
// environment, never from a file). An override file replaces whatever
// backend the code declares, so user code needs no backend block.
func WriteBackendOverride(dir, stateURL string) error {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	content := "# Written by Hoist: the stack's state is managed by Hoist.\n" +
		"terraform {\n  backend \"http\" {\n" +
		"    address        = " + q(stateURL) + "\n" +
		"    lock_address   = " + q(stateURL+"/lock") + "\n" +
		"    unlock_address = " + q(stateURL+"/lock") + "\n" +
		"    lock_method    = \"POST\"\n    unlock_method  = \"DELETE\"\n" +
		"    retry_max      = 3\n    retry_wait_min = 1\n    retry_wait_max = 5\n  }\n}\n"
	return os.WriteFile(filepath.Join(dir, OverrideFile), []byte(content), 0o644)
}

// Package workspace prepares the folder a run executes in: the source
// archive of the run's commit extracted safely, the project root inside
// it, and the files Hoist writes there (the backend override, the plan).
//
// The archive is hostile input (it comes from a repository, through GitLab
// or a VCS agent). Every path is resolved against the real file system
// through an os.Root, so that no entry lands outside the workspace through
// "..", an absolute path, a hard link or any chain of symlinks; symlinks
// are created last and each must resolve inside; sizes and entry counts
// are capped; Hoist never writes through a symlink.
package workspace

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Default caps of an extracted archive.
const (
	DefaultMaxBytes   int64 = 1 << 30
	DefaultMaxEntries       = 100_000
)

// maxLinkHops bounds symlink resolution, as the kernel's 40 does.
const maxLinkHops = 40

// Limits bound one archive. Zero fields take the defaults.
type Limits struct {
	// MaxBytes caps the archive as downloaded and the total size of the
	// files it holds (--max-archive-size).
	MaxBytes int64
	// MaxEntries caps files, folders and links (--max-archive-entries).
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// CapError is an archive over one of the Limits.
type CapError struct {
	What string // "size", "entries"
	Cap  int64
	Flag string
}

func (e *CapError) Error() string {
	if e.What == "entries" {
		return fmt.Sprintf("the source archive has more than %d entries (the cap, %s)", e.Cap, e.Flag)
	}
	return fmt.Sprintf("the source archive is larger than %s (the cap, %s)", formatBytes(e.Cap), e.Flag)
}

// EntryError is an archive entry Hoist refuses.
type EntryError struct {
	Entry  string
	Reason string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("source archive entry %q refused: %s", e.Entry, e.Reason)
}

// Extract unpacks a tar.gz into dest (an empty folder), dropping the
// archive's single top-level folder (GitLab archives hold
// "<project>-<sha>/…"). Folders and files come first; symlinks are made
// once every file is written — so no file is ever written through one —
// and each must resolve inside dest.
func Extract(r io.Reader, dest string, lim Limits) error {
	lim = lim.withDefaults()
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("open workspace: %w", err)
	}
	defer root.Close()
	counted := &capReader{r: r, left: lim.MaxBytes, cap: lim.MaxBytes}
	zr, err := gzip.NewReader(counted)
	if err != nil {
		return archiveErr(counted, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	var links []link
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return archiveErr(counted, err)
		}
		if entries >= lim.MaxEntries {
			return &CapError{What: "entries", Cap: int64(lim.MaxEntries), Flag: "--max-archive-entries"}
		}
		rel, ok, err := entryPath(h)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		total += max(h.Size, 0)
		if total > lim.MaxBytes {
			return &CapError{What: "size", Cap: lim.MaxBytes, Flag: "--max-archive-size"}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(rel, 0o755)
		case tar.TypeReg:
			err = writeEntry(root, rel, h, tr)
		case tar.TypeSymlink:
			if path.IsAbs(h.Linkname) || h.Linkname == "" {
				return &EntryError{Entry: h.Name, Reason: fmt.Sprintf("a symlink to the absolute path %q", h.Linkname)}
			}
			links = append(links, link{name: h.Name, rel: rel, target: h.Linkname})
		case tar.TypeLink:
			return &EntryError{Entry: h.Name, Reason: "a hard link (Hoist extracts files, folders and symlinks only)"}
		default:
			return &EntryError{Entry: h.Name, Reason: fmt.Sprintf("an unsupported entry type %q", string(h.Typeflag))}
		}
		if err != nil {
			return entryFailure(h.Name, err)
		}
	}
	return makeLinks(root, links)
}

// entryPath is the entry's path below the top-level folder; ok is false
// for the top-level folder itself and pax metadata.
func entryPath(h *tar.Header) (string, bool, error) {
	if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
		return "", false, nil
	}
	name := strings.TrimPrefix(h.Name, "./")
	if strings.HasPrefix(name, "/") {
		return "", false, &EntryError{Entry: h.Name, Reason: "an absolute path"}
	}
	_, rest, ok := strings.Cut(name, "/")
	rest = strings.TrimSuffix(rest, "/")
	if !ok || rest == "" {
		return "", false, nil
	}
	for _, c := range strings.Split(rest, "/") {
		if c == ".." {
			return "", false, &EntryError{Entry: h.Name, Reason: "a path through \"..\" that leaves the workspace"}
		}
	}
	return rest, true, nil
}

func writeEntry(root *os.Root, rel string, h *tar.Header, r io.Reader) error {
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	mode := os.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		mode = 0o755
	}
	f, err := createExclusive(root, rel, mode)
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, r, h.Size)
	return errors.Join(err, f.Close())
}

// createExclusive creates name afresh: whatever had that name (a file of
// the repository, a symlink) is removed first, and O_EXCL never follows a
// symlink that appears meanwhile.
func createExclusive(root *os.Root, name string, mode os.FileMode) (*os.File, error) {
	fi, err := root.Lstat(name)
	switch {
	case err == nil && fi.IsDir():
		return nil, fmt.Errorf("%s is a folder", name)
	case err == nil:
		if err := root.Remove(name); err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	return root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, mode)
}

type link struct{ name, rel, target string }

// makeLinks creates the archive's symlinks, then resolves each against
// the real file system: one that leaves the workspace, directly or
// through other links, is refused by name.
func makeLinks(root *os.Root, links []link) error {
	for _, l := range links {
		if dir := path.Dir(l.rel); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return entryFailure(l.name, err)
			}
		}
		if fi, err := root.Lstat(l.rel); err == nil && !fi.IsDir() {
			if err := root.Remove(l.rel); err != nil {
				return entryFailure(l.name, err)
			}
		}
		if err := root.Symlink(l.target, l.rel); errors.Is(err, fs.ErrExist) {
			return &EntryError{Entry: l.name, Reason: "a symlink where the archive also has a folder of that name"}
		} else if err != nil {
			return entryFailure(l.name, err)
		}
	}
	for _, l := range links {
		if _, err := Resolve(root, l.rel); err != nil {
			return &EntryError{Entry: l.name, Reason: fmt.Sprintf("a symlink to %q, which %v", l.target, err)}
		}
	}
	return nil
}

// errLeaves is a path that resolves outside its root.
var errLeaves = errors.New("leaves the workspace")

// Resolve follows rel inside root as the kernel would — every symlink, at
// every step — and returns the resolved path relative to root. It fails
// when any step leaves root (through "..", an absolute link, or a chain of
// links) or after too many links. Parts that do not exist are resolved as
// text.
func Resolve(root *os.Root, rel string) (string, error) {
	var done []string
	todo := strings.Split(filepath.ToSlash(rel), "/")
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", errLeaves
			}
			done = done[:len(done)-1]
			continue
		}
		p := path.Join(append(done, c)...)
		fi, err := root.Lstat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				done = append(done, c)
				continue
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return "", errors.New("goes through too many symlinks")
		}
		target, err := root.Readlink(p)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			return "", errLeaves
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return path.Join(done...), nil
}

func entryFailure(entry string, err error) error {
	return &EntryError{Entry: entry, Reason: strings.TrimPrefix(err.Error(), "openat ")}
}

// capReader fails once more than cap bytes were read.
type capReader struct {
	r         io.Reader
	left, cap int64
}

var errOverCap = errors.New("over the cap")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// At the cap: only the end of the stream is still acceptable.
		var b [1]byte
		n, err := c.r.Read(b[:])
		if n > 0 {
			return 0, errOverCap
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func archiveErr(c *capReader, err error) error {
	if errors.Is(err, errOverCap) {
		return &CapError{What: "size", Cap: c.cap, Flag: "--max-archive-size"}
	}
	return fmt.Errorf("read the source archive: %w", err)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

package gitrepo

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// Archive writes the tree of the commit ref names to w as format, every
// entry under prefix (e.g. "project-<sha>/"). Formats are GitLab's: "tar.gz"
// (also "" and "tgz"), "tar", "zip", and "tar.bz2" (also "tbz", "tbz2",
// "tb2", "bz2", needing the bzip2 program). paths, when given, limit the
// archive to those files or directories. The ref and format are checked
// before anything is written, so those errors leave w untouched; a failure
// later may leave a partial archive in w.
func (r *Repo) Archive(ctx context.Context, w io.Writer, ref, prefix, format string, paths ...string) error {
	sha, err := r.ResolveRef(ctx, ref)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	for _, p := range paths {
		if err := checkPath(strings.TrimSuffix(p, "/")); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
	gitFormat := "tar"
	switch strings.ToLower(format) {
	case "", "tar.gz", "tgz", "gz":
		return r.archiveGzip(ctx, w, sha, prefix, paths)
	case "tar":
	case "zip":
		gitFormat = "zip"
	case "tar.bz2", "tbz", "tbz2", "tb2", "bz2":
		return r.archiveBzip2(ctx, w, sha, prefix, paths)
	default:
		return fmt.Errorf("archive format %q: %w", format, ErrInvalid)
	}
	return r.archive(ctx, w, gitFormat, sha, prefix, paths)
}

func (r *Repo) archive(ctx context.Context, w io.Writer, format, sha, prefix string, paths []string) error {
	args := []string{"archive", "--format=" + format, "--prefix=" + prefix, sha, "--"}
	_, err := r.run(ctx, invocation{args: append(args, paths...), stdout: w})
	if err != nil {
		if strings.Contains(stderrOf(err), "did not match any files") {
			return fmt.Errorf("archive %s %v: %w", sha, paths, ErrFileNotFound)
		}
		return fmt.Errorf("archive %s: %w", sha, err)
	}
	return nil
}

// archiveGzip compresses in-process: no dependence on git's tar.gz filter
// configuration, and the output is deterministic (no name or time in the
// gzip header; git sets entry times to the commit time).
func (r *Repo) archiveGzip(ctx context.Context, w io.Writer, sha, prefix string, paths []string) error {
	zw := gzip.NewWriter(w)
	if err := r.archive(ctx, zw, "tar", sha, prefix, paths); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive %s: gzip: %w", sha, err)
	}
	return nil
}

// archiveBzip2 pipes the tar through the bzip2 program, as the standard
// library only decompresses bzip2.
func (r *Repo) archiveBzip2(ctx context.Context, w io.Writer, sha, prefix string, paths []string) error {
	bin, err := exec.LookPath("bzip2")
	if err != nil {
		return fmt.Errorf("archive format tar.bz2 needs bzip2: %w", errors.Join(ErrInvalid, err))
	}
	// An OS pipe rather than io.Pipe: both processes hold its ends directly,
	// so if bzip2 dies git gets EPIPE instead of blocking on a reader that is
	// gone.
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("archive %s: %w", sha, err)
	}
	cmd := exec.CommandContext(ctx, bin, "-c")
	cmd.Stdin = pr
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("archive %s: start bzip2: %w", sha, err)
	}
	pr.Close()
	archErr := r.archive(ctx, pw, "tar", sha, prefix, paths)
	pw.Close()
	waitErr := cmd.Wait()
	if archErr != nil {
		return archErr
	}
	if waitErr != nil {
		return fmt.Errorf("archive %s: bzip2: %w", sha, waitErr)
	}
	return nil
}

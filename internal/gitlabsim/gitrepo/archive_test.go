package gitrepo

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"io"
	"maps"
	"os/exec"
	"strings"
	"testing"
)

// readTar returns the regular files of a tar stream by name.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	files := make(map[string]string)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = string(b)
	}
}

func TestArchive(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	old := commit(t, repo, "main", "old", create("old.txt", "old"))
	c := commit(t, repo, "main", "files", Action{Kind: ActionDelete, Path: "old.txt"},
		create("main.tf", "resource {}\n"), create("modules/vpc/vpc.tf", "vpc\n"), create("README.md", "r\n"))
	prefix := "project-" + c.SHA + "/"
	want := map[string]string{
		prefix + "main.tf":            "resource {}\n",
		prefix + "modules/vpc/vpc.tf": "vpc\n",
		prefix + "README.md":          "r\n",
	}

	var gz bytes.Buffer
	if err := repo.Archive(ctx, &gz, c.SHA, prefix, "tar.gz"); err != nil {
		t.Fatalf("Archive tar.gz: %v", err)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	if got := readTar(t, zr); !maps.Equal(got, want) {
		t.Fatalf("tar.gz files = %v, want %v", got, want)
	}

	var plain bytes.Buffer
	if err := repo.Archive(ctx, &plain, "main", prefix, "tar", "modules"); err != nil {
		t.Fatalf("Archive tar with path: %v", err)
	}
	if got := readTar(t, &plain); !maps.Equal(got, map[string]string{prefix + "modules/vpc/vpc.tf": "vpc\n"}) {
		t.Fatalf("tar with path filter = %v", got)
	}

	var zipped bytes.Buffer
	if err := repo.Archive(ctx, &zipped, old.SHA, "p/", "zip"); err != nil {
		t.Fatalf("Archive zip: %v", err)
	}
	zf, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zf.File {
		if !strings.HasSuffix(f.Name, "/") {
			names = append(names, f.Name)
		}
	}
	if len(names) != 1 || names[0] != "p/old.txt" {
		t.Fatalf("zip files = %v", names)
	}

	if _, err := exec.LookPath("bzip2"); err == nil {
		var bz bytes.Buffer
		if err := repo.Archive(ctx, &bz, c.SHA, prefix, "tar.bz2"); err != nil {
			t.Fatalf("Archive tar.bz2: %v", err)
		}
		if got := readTar(t, bzip2.NewReader(&bz)); !maps.Equal(got, want) {
			t.Fatalf("tar.bz2 files = %v", got)
		}
	}

	// Determinism: the same commit archives to the same bytes.
	var again bytes.Buffer
	if err := repo.Archive(ctx, &again, c.SHA, prefix, ""); err != nil {
		t.Fatal(err)
	}
	var first bytes.Buffer
	_ = repo.Archive(ctx, &first, c.SHA, prefix, "tgz")
	if !bytes.Equal(first.Bytes(), again.Bytes()) {
		t.Fatal("archives of one commit differ")
	}

	var sink bytes.Buffer
	wantErr(t, repo.Archive(ctx, &sink, "nope", prefix, "tar.gz"), ErrRefNotFound)
	wantErr(t, repo.Archive(ctx, &sink, c.SHA, prefix, "rar"), ErrInvalid)
	wantErr(t, repo.Archive(ctx, &sink, c.SHA, prefix, "tar", "missing"), ErrFileNotFound)
	wantErr(t, repo.Archive(ctx, &sink, c.SHA, prefix, "tar", "../x"), ErrInvalid)
	if sink.Len() != 0 {
		t.Fatalf("failed archives wrote %d bytes", sink.Len())
	}
}

// TestArchiveSymlink: a symlink action commits mode 120000, which the
// archive carries as a symlink, as git does for a pushed link.
func TestArchiveSymlink(t *testing.T) {
	t.Parallel()
	repo, ctx := setup(t)
	c := commit(t, repo, "main", "links", create("main.tf", "x\n"),
		Action{Kind: ActionSymlink, Path: "leak", Content: []byte("../../../etc/passwd")})
	if _, err := repo.Commit(ctx, CommitOptions{Branch: "main", Message: "no target",
		Actions: []Action{{Kind: ActionSymlink, Path: "empty"}}}); err == nil {
		t.Fatal("a symlink without a target was committed")
	}
	var gz bytes.Buffer
	if err := repo.Archive(ctx, &gz, c.SHA, "p/", "tar.gz"); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&gz)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no symlink in the archive: %v", err)
		}
		if h.Name == "p/leak" {
			if h.Typeflag != tar.TypeSymlink || h.Linkname != "../../../etc/passwd" {
				t.Fatalf("p/leak = type %c → %q", h.Typeflag, h.Linkname)
			}
			return
		}
	}
}

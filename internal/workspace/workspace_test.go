package workspace

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
}

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func TestExtract(t *testing.T) {
	t.Parallel()
	dest := t.TempDir()
	err := Extract(archive(t,
		entry{name: "proj-abc/", typ: tar.TypeDir},
		entry{name: "proj-abc/infra/main.tf", body: "locals {}", typ: tar.TypeReg},
		entry{name: "proj-abc/infra/link.tf", link: "main.tf", typ: tar.TypeSymlink},
	), dest)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dest, "infra", "link.tf"))
	if err != nil || string(b) != "locals {}" {
		t.Fatalf("link.tf = %q, %v", b, err)
	}
	dir, err := ProjectDir(dest, "/infra/")
	if err != nil || dir != filepath.Join(dest, "infra") {
		t.Fatalf("ProjectDir = %q, %v", dir, err)
	}
	if _, err := ProjectDir(dest, "missing"); err == nil {
		t.Fatal("a missing project root was accepted")
	}
	if _, err := ProjectDir(dest, "../.."); err == nil {
		t.Fatal("a project root outside was accepted")
	}
	if dir, err := ProjectDir(dest, ""); err != nil || dir != dest {
		t.Fatalf("empty project root = %q, %v", dir, err)
	}
}

func TestExtractRefuses(t *testing.T) {
	t.Parallel()
	tests := map[string]entry{
		"traversal":        {name: "p/../../evil.tf", body: "x", typ: tar.TypeReg},
		"absolute link":    {name: "p/l", link: "/etc/passwd", typ: tar.TypeSymlink},
		"link outside":     {name: "p/a/l", link: "../../../x", typ: tar.TypeSymlink},
		"hard link":        {name: "p/h", link: "p/x", typ: tar.TypeLink},
		"character device": {name: "p/dev", typ: tar.TypeChar},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			dest := filepath.Join(parent, "ws")
			if err := os.Mkdir(dest, 0o700); err != nil {
				t.Fatal(err)
			}
			err := Extract(archive(t, e), dest)
			if err == nil {
				t.Fatalf("extracted %+v", e)
			}
			if _, serr := os.Stat(filepath.Join(parent, "evil.tf")); serr == nil {
				t.Fatal("a file was written outside the workspace")
			}
		})
	}
}

func TestWriteBackendOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := WriteBackendOverride(dir, "http://127.0.0.1:1/api/v1/state/web"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, OverrideFile))
	for _, want := range []string{`backend "http"`, `address        = "http://127.0.0.1:1/api/v1/state/web"`, `lock_method    = "POST"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("override lacks %s:\n%s", want, b)
		}
	}
}

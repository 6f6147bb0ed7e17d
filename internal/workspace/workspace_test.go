package workspace

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

type entry struct {
	name, body, link string
	typ              byte
}

func file(name, body string) entry   { return entry{name: name, body: body, typ: tar.TypeReg} }
func symlink(name, to string) entry  { return entry{name: name, link: to, typ: tar.TypeSymlink} }
func dir(name string) entry          { return entry{name: name, typ: tar.TypeDir} }
func hardlink(name, to string) entry { return entry{name: name, link: to, typ: tar.TypeLink} }

func archive(t testing.TB, entries ...entry) *bytes.Buffer {
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

// sandbox is a workspace inside a folder that also holds what an attacker
// would aim at: a "tofu" binary and a "victim" file next to the workspace.
type sandbox struct {
	parent, dest string
}

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	parent := t.TempDir()
	dest := filepath.Join(parent, "a", "b", "c", "d", "e", "f", "ws")
	if err := os.MkdirAll(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tofu", "victim"} {
		if err := os.WriteFile(filepath.Join(parent, f), []byte("original"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sandbox{parent: parent, dest: dest}
}

// untouched fails when anything outside the workspace changed.
func (s sandbox) untouched(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(s.parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(p, s.dest) {
			return nil
		}
		if d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			if string(b) != "original" {
				t.Errorf("%s outside the workspace was written: %q", p, b)
			}
		} else if !d.IsDir() {
			t.Errorf("%s outside the workspace was created (%s)", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExtract(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	err := Extract(archive(t,
		dir("proj-abc/"),
		file("proj-abc/infra/main.tf", "locals {}"),
		symlink("proj-abc/infra/link.tf", "main.tf"),
		symlink("proj-abc/shared", "infra"),
		symlink("proj-abc/infra/up", ".."),
		symlink("proj-abc/dangling", "infra/not-yet"),
		file("proj-abc/infra/main.tf", "locals { x = 1 }"), // a later entry wins
	), s.dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(s.dest, "shared", "link.tf"))
	if err != nil || string(b) != "locals { x = 1 }" {
		t.Fatalf("shared/link.tf = %q, %v", b, err)
	}
	s.untouched(t)
}

func TestOpenProject(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	err := Extract(archive(t,
		file("p/infra/main.tf", "locals {}"),
		symlink("p/alias", "infra"),
		file("p/README", "x"),
	), s.dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// Made after extraction, which refuses it: as the run's code could.
	if err := os.Symlink("infra/../..", filepath.Join(s.dest, "escape")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		root, wantDir, wantErr string
	}{
		{"/infra/", "infra", ""},
		{"alias", "infra", ""},
		{"", ".", ""},
		{"missing", "", "is not in the repository"},
		{"../..", "", "leaves the repository"},
		{"escape", "", "leaves the repository"},
		{"README", "", "is not a folder"},
	}
	for _, tt := range tests {
		p, err := OpenProject(s.dest, tt.root)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("OpenProject(%q) = %v; want %q", tt.root, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p.Dir != filepath.Join(s.dest, tt.wantDir) {
			t.Errorf("OpenProject(%q) = %v, %v; want %s", tt.root, p, err, tt.wantDir)
			continue
		}
		p.Close()
	}
}

// TestExtractRefuses covers the attacks: each archive is refused
// with its offending entry named, and nothing outside the workspace
// changes (the "tofu" binary included).
func TestExtractRefuses(t *testing.T) {
	t.Parallel()
	// up1 → ., upN → up(N-1)/..: each link looks harmless as text.
	chain := []entry{symlink("p/up1", ".")}
	for i := 2; i <= 8; i++ {
		chain = append(chain, symlink("p/up"+itoa(i), "up"+itoa(i-1)+"/.."))
	}
	tests := []struct {
		name    string
		entries []entry
		entry   string // named in the error
	}{
		{"dot-dot path", []entry{file("p/../../evil", "x")}, "p/../../evil"},
		{"deep dot-dot path", []entry{file("p/a/b/../../../../victim", "x")}, "p/a/b/../../../../victim"},
		{"absolute path", []entry{file("/etc/evil", "x")}, "/etc/evil"},
		{"absolute link", []entry{symlink("p/l", "/etc/passwd")}, "p/l"},
		{"link outside", []entry{symlink("p/a/l", "../../../victim")}, "p/a/l"},
		{"hard link", []entry{file("p/x", "y"), hardlink("p/h", "p/x")}, "p/h"},
		{"hard link outside", []entry{hardlink("p/h", "../../victim")}, "p/h"},
		{"character device", []entry{{name: "p/dev", typ: tar.TypeChar}}, "p/dev"},
		{"fifo", []entry{{name: "p/fifo", typ: tar.TypeFifo}}, "p/fifo"},
		{"symlink chain", append(chain, symlink("p/hoist_backend_override.tf", "up8/victim")), "p/up2"},
		{"symlink then file", append(append([]entry{}, chain[:7]...), symlink("p/x/t", "../up6"), file("p/x/t/tofu", "#!/bin/sh\necho pwned")), "p/x/t"},
		{"symlink then file, one link", []entry{symlink("p/x", "../../../../../../.."), file("p/x/tofu", "pwned")}, "p/x"},
		{"link to a link outside", []entry{symlink("p/a", "b"), symlink("p/b", "../../../..")}, "p/a"},
		{"link loop", []entry{symlink("p/a", "b"), symlink("p/b", "a")}, "p/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t)
			err := Extract(archive(t, tt.entries...), s.dest, Limits{})
			var ee *EntryError
			if !errors.As(err, &ee) || ee.Entry != tt.entry || !strings.Contains(err.Error(), tt.entry) {
				t.Fatalf("Extract = %v; want the entry %q refused", err, tt.entry)
			}
			s.untouched(t)
		})
	}
}

// TestWritesNeverFollowLinks: a repository that plants a link where Hoist
// writes (the backend override, the plan) gets a fresh file instead, and
// a link in place of a file Hoist reads is refused.
func TestWritesNeverFollowLinks(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	err := Extract(archive(t,
		file("p/main.tf", "locals {}"),
		file("p/inside", "original"),
		symlink("p/"+OverrideFile, "inside"),
		symlink("p/hoist.tfplan", "inside"),
	), s.dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenProject(s.dest, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.WriteBackendOverride(); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFile("hoist.tfplan", []byte("plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(s.dest, "inside"))
	if string(b) != "original" {
		t.Fatalf("a write went through a symlink: %q", b)
	}
	b, _ = os.ReadFile(filepath.Join(s.dest, OverrideFile))
	for _, want := range []string{`backend "http"`, `lock_method    = "POST"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("override lacks %s:\n%s", want, b)
		}
	}
	// Addresses come from the environment: a saved plan must not carry them.
	if strings.Contains(string(b), "address") {
		t.Errorf("override names an address:\n%s", b)
	}
	// The run's code swaps the plan for a link to a file outside.
	if err := os.Remove(filepath.Join(s.dest, "hoist.tfplan")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(s.parent, "victim"), filepath.Join(s.dest, "hoist.tfplan")); err != nil {
		t.Fatal(err)
	}
	if b, err := p.ReadFile("hoist.tfplan", 1<<20); err == nil {
		t.Fatalf("read the plan through a symlink: %q", b)
	}
	if err := os.WriteFile(filepath.Join(s.dest, "big"), make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadFile("big", 1024); err == nil || !strings.Contains(err.Error(), "larger than 1 KiB") {
		t.Fatalf("an oversized read: %v", err)
	}
	s.untouched(t)
}

func TestExtractCaps(t *testing.T) {
	t.Parallel()
	many := []entry{}
	for i := range 11 {
		many = append(many, file("p/f"+itoa(i), "x"))
	}
	big := archive(t, file("p/big", strings.Repeat("x", 4096)))
	tests := []struct {
		name string
		arch *bytes.Buffer
		lim  Limits
		want string
	}{
		{"entries", archive(t, many...), Limits{MaxEntries: 10}, "more than 10 entries (the cap, --max-archive-entries)"},
		{"extracted size", big, Limits{MaxBytes: 1024}, "larger than 1 KiB (the cap, --max-archive-size)"},
		{"downloaded size", archive(t, file("p/a", "x")), Limits{MaxBytes: 16}, "larger than 16 bytes (the cap, --max-archive-size)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Extract(bytes.NewReader(tt.arch.Bytes()), t.TempDir(), tt.lim)
			var ce *CapError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Extract = %v; want %q", err, tt.want)
			}
		})
	}
	// Exactly at the caps is fine.
	arch := archive(t, many[:10]...)
	if err := Extract(bytes.NewReader(arch.Bytes()), t.TempDir(), Limits{MaxEntries: 10, MaxBytes: int64(arch.Len())}); err != nil {
		t.Fatalf("an archive at the caps: %v", err)
	}
}

func TestChown(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root; the worker does it only as root")
	}
	s := newSandbox(t)
	if err := Extract(archive(t, file("p/a/b", "x"), symlink("p/l", "../../victim")), s.dest, Limits{}); err == nil {
		t.Fatal("an escaping link was accepted")
	}
	if err := os.Symlink(filepath.Join(s.parent, "victim"), filepath.Join(s.dest, "abs")); err != nil {
		t.Fatal(err)
	}
	if err := Chown(s.dest, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.dest, filepath.Join(s.dest, "a", "b"), filepath.Join(s.dest, "abs")} {
		fi, err := os.Lstat(p)
		if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
			t.Errorf("%s not given to the run user: %v", p, err)
		}
	}
	fi, _ := os.Stat(filepath.Join(s.parent, "victim"))
	if fi.Sys().(*syscall.Stat_t).Uid == 65534 {
		t.Fatal("Chown followed a link out of the workspace")
	}
	s.untouched(t)
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestClear(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	err := Extract(archive(t, file("p/main.tf", "x"), symlink("p/hoist.tfplan", "main.tf"), dir("p/folder/")), s.dest, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenProject(s.dest, "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Clear("hoist.tfplan"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(s.dest, "hoist.tfplan")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the planted link is still there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.dest, "main.tf")); string(b) != "x" {
		t.Fatalf("main.tf = %q", b)
	}
	if err := p.Clear("missing"); err != nil {
		t.Fatal(err)
	}
	if err := p.Clear("folder"); err == nil || !strings.Contains(err.Error(), "folder named folder") {
		t.Fatalf("Clear of a folder: %v", err)
	}
}

func TestRemoveLockedFolders(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "run")
	locked := filepath.Join(dir, "src", "locked")
	if err := os.MkdirAll(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(locked, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(parent, "outside")
	if err := os.Mkdir(outside, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(locked, 0o500); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the run's folder is still there: %v", err)
	}
	if fi, err := os.Stat(outside); err != nil || fi.Mode().Perm() != 0o500 {
		t.Fatalf("Remove touched a folder outside through a link: %v", err)
	}
	_ = os.Chmod(outside, 0o700)
}

package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
)

type entry struct {
	name, body, link string
	typ              byte
}

// gitlabArchive builds a tar.gz shaped like GitLab's: one top folder, a
// pax global header first (git archive writes the commit id there).
func gitlabArchive(t *testing.T, entries []entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size, h.Mode = 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
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

func files(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

func TestRepack(t *testing.T) {
	t.Parallel()
	top := "greeting-da1560886d4f094c3e6c9ef40349f7d38b5d27d7/"
	in := []entry{
		{name: top, typ: tar.TypeDir},
		{name: top + "README.md", body: "# repo", typ: tar.TypeReg},
		{name: top + "modules/", typ: tar.TypeDir},
		{name: top + "modules/greeting/", typ: tar.TypeDir},
		{name: top + "modules/greeting/main.tf", body: "output {}", typ: tar.TypeReg},
		{name: top + "modules/greeting/sub/", typ: tar.TypeDir},
		{name: top + "modules/greeting/sub/x.tf", body: "x", typ: tar.TypeReg},
		{name: top + "modules/greeting/link", link: "../../README.md", typ: tar.TypeSymlink},
		{name: top + "modules/greeting/../../../etc/passwd", body: "evil", typ: tar.TypeReg},
		{name: top + "modules/greeting-other/main.tf", body: "not it", typ: tar.TypeReg},
	}
	tests := []struct {
		root string
		want map[string]string
	}{
		{"modules/greeting", map[string]string{"main.tf": "output {}", "sub/": "", "sub/x.tf": "x"}},
		{"", map[string]string{"README.md": "# repo", "modules/": "", "modules/greeting/": "", "modules/greeting/main.tf": "output {}",
			"modules/greeting/sub/": "", "modules/greeting/sub/x.tf": "x", "modules/greeting-other/main.tf": "not it"}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		n, err := Repack(gitlabArchive(t, in), tt.root, &out)
		if err != nil {
			t.Fatalf("root %q: %v", tt.root, err)
		}
		got := files(t, &out)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("root %q: files = %v\nwant %v", tt.root, got, tt.want)
		}
		if want := regularFiles(tt.want); n != want {
			t.Errorf("root %q: %d files, want %d", tt.root, n, want)
		}
	}
	var out bytes.Buffer
	_, err := Repack(gitlabArchive(t, in), "modules/nope", &out)
	if !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing root: %v", err)
	}
	_, err = Repack(strings.NewReader("not gzip"), "", &out)
	if err == nil {
		t.Error("garbage accepted")
	}
}

// regularFiles counts the names that are not directories.
func regularFiles(m map[string]string) int {
	n := 0
	for k := range m {
		if !strings.HasSuffix(k, "/") {
			n++
		}
	}
	return n
}

func TestSignedLinks(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := New(Config{PublicURL: "https://hoist.example:8443/", SigningKey: []byte("k1"), Clock: clock})
	link := h.link("greeting", "0.1.0")
	if !strings.HasPrefix(link, "https://hoist.example:8443/registry/archives/greeting/0.1.0.tar.gz?") {
		t.Fatalf("link = %s", link)
	}
	req := func(link string) *http.Request { return httptest.NewRequest(http.MethodGet, link, nil) }
	if err := h.verify(req(link), "greeting", "0.1.0"); err != nil {
		t.Errorf("fresh link: %v", err)
	}
	for name, check := range map[string]func() error{
		"other version": func() error { return h.verify(req(link), "greeting", "0.2.0") },
		"other module":  func() error { return h.verify(req(link), "vpc", "0.1.0") },
		"other key": func() error {
			return New(Config{SigningKey: []byte("k2"), Clock: clock}).verify(req(link), "greeting", "0.1.0")
		},
		"no signature": func() error { return h.verify(req(strings.Split(link, "&")[0]), "greeting", "0.1.0") },
		"longer expiry": func() error {
			return h.verify(req(withExpiry(t, link, now.Add(time.Hour).Unix())), "greeting", "0.1.0")
		},
		"expired": func() error {
			later := New(Config{SigningKey: []byte("k1"), Clock: func() time.Time { return now.Add(LinkTTL + time.Second) }})
			return later.verify(req(link), "greeting", "0.1.0")
		},
	} {
		if err := check(); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
}

func withExpiry(t *testing.T, link string, exp int64) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("expires", formatInt(exp))
	u.RawQuery = q.Encode()
	return u.String()
}

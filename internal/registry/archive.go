package registry

import (
	"archive/tar"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hoistdev/hoist/internal/apperr"
)

// MaxArchiveBytes bounds the unpacked size of a module archive, so a huge
// repository cannot fill the disk of the cache.
const MaxArchiveBytes = 512 << 20

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

// sign is the signature of a download link: HMAC-SHA256 over the module,
// the version and the expiry, base64url.
func sign(key []byte, moduleID, version string, expires int64) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "hoist-module-archive\x00%s\x00%s\x00%d", moduleID, version, expires)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks a download link's signature and expiry.
func (h *Handler) verify(r *http.Request, moduleID, version string) error {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	if err != nil {
		return apperr.Errorf(apperr.Forbidden, "download link without a valid expiry; ask the registry for a new one")
	}
	want := sign(h.cfg.SigningKey, moduleID, version, exp)
	if !hmac.Equal([]byte(want), []byte(q.Get("signature"))) {
		return apperr.Errorf(apperr.Forbidden, "download link signature does not match; ask the registry for a new one")
	}
	if h.now().Unix() > exp {
		return apperr.Errorf(apperr.Forbidden, "download link expired; run tofu init again")
	}
	return nil
}

// archive serves /registry/archives/{module}/{version}.tar.gz: the
// version's project root as a tar.gz whose root is the module's folder.
func (h *Handler) archive(w http.ResponseWriter, r *http.Request) {
	moduleID := r.PathValue("module")
	version, ok := strings.CutSuffix(r.PathValue("file"), ".tar.gz")
	if !ok {
		writeErrors(w, http.StatusNotFound, "not found")
		return
	}
	if err := h.verify(r, moduleID, version); err != nil {
		h.fail(w, r, err)
		return
	}
	m, v, err := h.cfg.Modules.Lookup(r.Context(), moduleID, version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Versions are immutable (module, version → SHA), and the SHA in the
	// name keeps a re-created module from ever getting another's archive.
	cached := filepath.Join(h.cfg.CacheDir, m.ID, v.Version+"-"+v.SHA+".tar.gz")
	if _, err := os.Stat(cached); errors.Is(err, os.ErrNotExist) {
		if err := h.fill(r, cached, func(w io.Writer) error { return h.cfg.Modules.WriteArchive(r.Context(), m, v, w) }, m.ProjectRoot); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	f, err := os.Open(cached)
	if err != nil {
		h.fail(w, r, fmt.Errorf("open cached archive: %w", err))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	st, err := f.Stat()
	if err == nil {
		w.Header().Set("Content-Length", formatInt(st.Size()))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, f)
	}
}

// fill fetches GitLab's archive, repacks its project root and moves the
// result into place atomically, so readers never see half a file.
func (h *Handler) fill(r *http.Request, dst string, fetch func(io.Writer) error, root string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	raw, err := os.CreateTemp(filepath.Dir(dst), ".raw-*")
	if err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	defer os.Remove(raw.Name())
	defer raw.Close()
	if err := fetch(raw); err != nil {
		return err
	}
	if _, err := raw.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	out, err := os.CreateTemp(filepath.Dir(dst), ".out-*")
	if err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	n, err := Repack(raw, root, out)
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	if err := os.Rename(out.Name(), dst); err != nil {
		return fmt.Errorf("archive cache: %w", err)
	}
	h.log.InfoContext(r.Context(), "module archive cached", "path", filepath.Base(dst), "files", n)
	return nil
}

// Repack reads a GitLab repository archive (tar.gz with one top folder)
// and writes a tar.gz holding only what lies under root ("" for
// everything), with root as the new top: the layout OpenTofu expects of a
// module package. Only directories and regular files are kept (symlinks
// could point outside the module); unsafe names are dropped. It returns the
// number of files written; an archive without any under root is an error.
func Repack(src io.Reader, root string, dst io.Writer) (int, error) {
	zr, err := gzip.NewReader(src)
	if err != nil {
		return 0, fmt.Errorf("read archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	zw := gzip.NewWriter(dst)
	tw := tar.NewWriter(zw)
	files := 0
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read archive: %w", err)
		}
		name, ok := rebase(hdr.Name, root)
		if !ok || (hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir) {
			continue
		}
		total += hdr.Size
		if total > MaxArchiveBytes {
			return 0, apperr.Errorf(apperr.Invalid, "module archive is larger than %d MiB unpacked", MaxArchiveBytes>>20)
		}
		out := &tar.Header{Name: name, Typeflag: hdr.Typeflag, Mode: hdr.Mode & 0o755, Size: hdr.Size, ModTime: hdr.ModTime, Format: tar.FormatPAX}
		if hdr.Typeflag == tar.TypeDir {
			out.Name, out.Size = name+"/", 0
		}
		if err := tw.WriteHeader(out); err != nil {
			return 0, fmt.Errorf("write archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.CopyN(tw, tr, hdr.Size); err != nil {
				return 0, fmt.Errorf("copy %s: %w", name, err)
			}
			files++
		}
	}
	if files == 0 {
		return 0, apperr.Errorf(apperr.NotFound, "the archive holds no files under %q", root)
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("write archive: %w", err)
	}
	return files, zw.Close()
}

// rebase strips the archive's top folder and root from name; ok is false
// for entries outside root, the root itself, and unsafe names.
func rebase(name, root string) (string, bool) {
	_, rest, ok := strings.Cut(strings.TrimPrefix(name, "./"), "/")
	if !ok {
		return "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if root != "" {
		if rest, ok = strings.CutPrefix(rest, root+"/"); !ok {
			return "", false
		}
	}
	clean := path.Clean(rest)
	if rest == "" || clean != rest || strings.HasPrefix(clean, "../") || clean == ".." || path.IsAbs(clean) {
		return "", false
	}
	return clean, true
}

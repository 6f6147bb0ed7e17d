package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadKeyFromEnv(t *testing.T) {
	t.Parallel()
	want := bytes.Repeat([]byte{7}, KeySize)
	dir := t.TempDir()
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		got, src, err := LoadKey(env(map[string]string{EnvKey: " " + enc.EncodeToString(want) + "\n"}), dir)
		if err != nil || src != FromEnv || !bytes.Equal(got, want) {
			t.Errorf("LoadKey = %x, %q, %v", got, src, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
		t.Error("a key from the environment must not write a key file")
	}
}

func TestLoadKeyRefusesBadEnv(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]string{
		"16 bytes":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"33 bytes":   base64.StdEncoding.EncodeToString(make([]byte, 33)),
		"not base64": "this is not a key!",
		"hex":        strings.Repeat("ab", 32),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, _, err := LoadKey(env(map[string]string{EnvKey: v}), dir)
			if err == nil || !strings.Contains(err.Error(), EnvKey) {
				t.Fatalf("err = %v, want an error naming %s", err, EnvKey)
			}
			if strings.Contains(err.Error(), v) {
				t.Error("error repeats the key value")
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
				t.Error("a bad env key must not fall back to a generated file")
			}
		})
	}
}

func TestLoadKeyGeneratesOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	k1, src, err := LoadKey(env(nil), dir)
	if err != nil || src != FromGenerated || len(k1) != KeySize {
		t.Fatalf("first LoadKey = %d bytes, %q, %v", len(k1), src, err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, info.Mode())
	}
	k2, src, err := LoadKey(env(nil), dir)
	if err != nil || src != FromFile || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadKey = %q, %v; same key %v", src, err, bytes.Equal(k1, k2))
	}
}

func TestLoadKeyRefusesOpenFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(make([]byte, KeySize))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKey(env(nil), dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("err = %v, want refusal of a world-readable key file", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadKey(env(nil), dir); err == nil {
		t.Error("a malformed key file was accepted")
	}
}

package deploytest

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apptest"
)

// unit is deploy/hoist.service as section → key → values.
func unit(t *testing.T) map[string]map[string][]string {
	t.Helper()
	sections := map[string]map[string][]string{}
	var cur map[string][]string
	for i, line := range strings.Split(read(t, "deploy/hoist.service"), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string][]string{}
			sections[line[1:len(line)-1]] = cur
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == nil {
				t.Fatalf("deploy/hoist.service:%d: %q is no key=value of a section", i+1, line)
			}
			cur[k] = append(cur[k], v)
		}
	}
	return sections
}

// TestSystemdUnit: systemd-analyze accepts the unit (where it exists);
// each credential reaches Hoist through a …_FILE variable; and no option
// that would take the sandbox's namespaces away is set.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	u := unit(t)
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("deploy/hoist.service has no [%s]", s)
		}
	}
	svc := u["Service"]
	if got := svc["ExecStart"]; len(got) != 1 || got[0] != "/usr/local/bin/hoist server" {
		t.Errorf("ExecStart %q: want /usr/local/bin/hoist server", got)
	}
	for _, k := range []string{"RestrictNamespaces", "PrivateUsers", "CapabilityBoundingSet", "SystemCallFilter"} {
		if svc[k] != nil {
			t.Errorf("%s= is set: it takes namespaces or Landlock from the sandbox (the unit's comment says why)", k)
		}
	}
	if svc["User"] == nil || svc["StateDirectory"] == nil || svc["NoNewPrivileges"] == nil {
		t.Errorf("want User=, StateDirectory= and NoNewPrivileges=: %v", svc)
	}
	env := unitEnv(svc)
	if env["HOIST_DATA_DIR"] != "/var/lib/"+svc["StateDirectory"][0] {
		t.Errorf("HOIST_DATA_DIR %q is not the StateDirectory= %v", env["HOIST_DATA_DIR"], svc["StateDirectory"])
	}
	for _, c := range svc["LoadCredential"] {
		name, _, _ := strings.Cut(c, ":")
		found := false
		for k, v := range env {
			found = found || (strings.HasSuffix(k, "_FILE") && v == "%d/"+name)
		}
		if !found {
			t.Errorf("LoadCredential=%s: no HOIST_…_FILE=%%d/%s reads it", c, name)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the unit was only parsed")
		return
	}
	// verify wants the ExecStart binary to exist; the rest as written.
	text := strings.Replace(read(t, "deploy/hoist.service"), "ExecStart=/usr/local/bin/hoist", "ExecStart="+apptest.Binary(t), 1)
	path := filepath.Join(t.TempDir(), "hoist.service")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// unitEnv is the unit's Environment= variables.
func unitEnv(svc map[string][]string) map[string]string {
	env := map[string]string{}
	for _, e := range svc["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	return env
}

// TestVariablesAreHoistServers: every HOIST_ variable the image, the
// compose file and the unit (with its example environment file) set is
// one `hoist server` reads, as --print-config reports.
func TestVariablesAreHoistServers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	secret := func(name, value string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Secret files stand in for /run/secrets/… and %d/….
	files := map[string]string{
		"HOIST_ENCRYPTION_KEY_FILE": secret("key", key),
		"HOIST_DATABASE_URL_FILE":   secret("db", "postgres://hoist:pw@postgres:5432/hoist"),
	}
	example := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(HOIST_[A-Z0-9_]+)=(.*)$`).FindAllStringSubmatch(read(t, "deploy/hoist.env.example"), -1) {
		example[m[1]] = m[2]
	}
	final := dockerfile(t)[1]
	for _, c := range []struct {
		what string
		env  map[string]string
	}{
		{"Dockerfile ENV", imageEnv(t, final)},
		{"deploy/compose.yaml", composeEnv(read(t, "deploy/compose.yaml"))},
		{"deploy/hoist.service", unitEnv(unit(t)["Service"])},
		{"deploy/hoist.env.example", example},
	} {
		var env []string
		for k, v := range c.env {
			if f, ok := files[k]; ok {
				v = f
			} else if strings.HasSuffix(k, "_FILE") {
				t.Errorf("%s: %s is no secret file this test knows", c.what, k)
				continue
			}
			env = append(env, k+"="+v)
		}
		cmd := exec.Command(apptest.Binary(t), "server", "--print-config=json")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: hoist server --print-config: %v\n%s", c.what, err, out)
		}
		var cfg struct {
			Flags []struct{ Variable string }
		}
		if err := json.Unmarshal(out, &cfg); err != nil {
			t.Fatalf("%s: %v\n%s", c.what, err, out)
		}
		read := map[string]bool{}
		for _, f := range cfg.Flags {
			read[f.Variable] = true
		}
		for k := range c.env {
			if !read[k] {
				t.Errorf("%s sets %s, which hoist server does not read", c.what, k)
			}
		}
	}
}

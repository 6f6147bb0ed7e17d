package deploytest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apptest"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ op, args string }

// dockerfile is the Dockerfile's stages, each its instructions from FROM on.
func dockerfile(t *testing.T) [][]instruction {
	t.Helper()
	var stages [][]instruction
	text := strings.ReplaceAll(read(t, "Dockerfile"), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(op), strings.Join(strings.Fields(args), " ")}
		if in.op == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before FROM", in.op)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, final)", len(stages))
	}
	return stages
}

// all returns the arguments of every op instruction of a stage.
func all(stage []instruction, op string) []string {
	var out []string
	for _, in := range stage {
		if in.op == op {
			out = append(out, in.args)
		}
	}
	return out
}

// one returns the arguments of a stage's only op instruction.
func one(t *testing.T, stage []instruction, op string) string {
	t.Helper()
	args := all(stage, op)
	if len(args) != 1 {
		t.Fatalf("Dockerfile: final stage has %d %s, want 1", len(args), op)
	}
	return args[0]
}

// imageEnv is the final stage's ENV, as name → value.
func imageEnv(t *testing.T, final []instruction) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, a := range all(final, "ENV") {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.Contains(v, " ") {
			t.Fatalf("Dockerfile: ENV %s: want one NAME=value an instruction (scripts/image-steps.sh reads them so)", a)
		}
		env[k] = v
	}
	return env
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(apptest.RepoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// port is the port of a listen address such as ":8080".
func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

// TestDockerfileRunsTheScriptsSteps: the image is built by the steps the
// tests run, from the Go version go.mod names, and started with the
// settings scripts/image-steps.sh reads back from it.
func TestDockerfileRunsTheScriptsSteps(t *testing.T) {
	t.Parallel()
	stages := dockerfile(t)
	build, final := stages[0], stages[1]

	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(read(t, "go.mod"))
	if from := build[0].args; goVersion == nil || !strings.HasPrefix(from, "docker.io/library/golang:"+goVersion[1]+"-") ||
		!strings.HasSuffix(from, " AS build") {
		t.Errorf("build stage FROM %s: want docker.io/library/golang:%v-… AS build (go.mod's Go)", from, goVersion)
	}
	if runs := all(build, "RUN"); !contains(runs, "bash scripts/image-steps.sh build /rootfs") {
		t.Errorf("build stage RUNs %q: want `bash scripts/image-steps.sh build /rootfs`, the steps the tests run", runs)
	}
	if c := all(final, "COPY"); len(c) != 1 || c[0] != "--from=build /rootfs/ /" {
		t.Errorf("final stage COPY %q: want only --from=build /rootfs/ /", c)
	}
	script := read(t, "scripts/image-steps.sh")
	for _, step := range []string{`CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$root/usr/local/bin/hoist" ./cmd/hoist`,
		"bash scripts/install-tofu.sh", `"$root/usr/local/bin/tofu"`, `"$root/var/lib/hoist"`} {
		if !strings.Contains(script, step) {
			t.Errorf("scripts/image-steps.sh lacks the step %s", step)
		}
	}

	env := imageEnv(t, final)
	if v := one(t, final, "VOLUME"); v != env["HOIST_DATA_DIR"] || v != "/var/lib/hoist" {
		t.Errorf("VOLUME %s, HOIST_DATA_DIR %s: want both /var/lib/hoist", v, env["HOIST_DATA_DIR"])
	}
	if env["HOIST_TOFU_PATH"] != "/usr/local/bin/tofu" {
		t.Errorf("HOIST_TOFU_PATH %q: want /usr/local/bin/tofu, where the script puts it", env["HOIST_TOFU_PATH"])
	}
	if e := one(t, final, "EXPOSE"); e != port(env["HOIST_LISTEN"]) {
		t.Errorf("EXPOSE %s, HOIST_LISTEN %s: want one port", e, env["HOIST_LISTEN"])
	}
	if u := one(t, final, "USER"); u != "10001:10001" || !strings.Contains(strings.Join(all(final, "RUN"), "\n"), "--uid 10001 --gid 10001") {
		t.Errorf("USER %s: want 10001:10001, the uid useradd gives hoist", u)
	}
	if hc := one(t, final, "HEALTHCHECK"); !strings.Contains(hc, " CMD bash -c ") || !strings.Contains(hc, "GET /healthz") ||
		!strings.Contains(hc, "${HOIST_LISTEN##*:}") {
		t.Errorf("HEALTHCHECK %s: want a shell-form bash check of /healthz on HOIST_LISTEN's port (the script runs it)", hc)
	}
	if e, c := one(t, final, "ENTRYPOINT"), one(t, final, "CMD"); e != `["hoist"]` || c != `["server"]` {
		t.Errorf("ENTRYPOINT %s CMD %s: want [\"hoist\"] [\"server\"], settings in ENV (a --listen in CMD would beat HOIST_LISTEN)", e, c)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestComposeMatchesImage: the replicas use the image's port and volume,
// share their secrets through …_FILE, and the proxy balances over both.
func TestComposeMatchesImage(t *testing.T) {
	t.Parallel()
	final := dockerfile(t)[1]
	env := imageEnv(t, final)
	compose := read(t, "deploy/compose.yaml")
	vars := composeEnv(compose)
	if port(vars["HOIST_LISTEN"]) != one(t, final, "EXPOSE") {
		t.Errorf("compose HOIST_LISTEN %q: want the image's port %s", vars["HOIST_LISTEN"], one(t, final, "EXPOSE"))
	}
	for _, name := range []string{"HOIST_DATABASE_URL_FILE", "HOIST_ENCRYPTION_KEY_FILE", "HOIST_PUBLIC_URL"} {
		if vars[name] == "" {
			t.Errorf("compose sets no %s, which the replicas must share", name)
		}
	}
	secrets := read(t, "deploy/secrets/README.md")
	for name, v := range vars {
		s, ok := strings.CutPrefix(v, "/run/secrets/")
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		if !ok || !regexp.MustCompile(`(?m)^  `+s+`:\n    file: \./secrets/(\S+)$`).MatchString(compose) {
			t.Errorf("compose %s=%s: want /run/secrets/<a secret of the file's secrets: with a file in ./secrets/>", name, v)
		}
	}
	for _, f := range regexp.MustCompile(`file: \./secrets/(\S+)`).FindAllStringSubmatch(compose, -1) {
		if !strings.Contains(secrets, "> "+f[1]) {
			t.Errorf("deploy/secrets/README.md does not say how to make %s", f[1])
		}
	}
	haproxy := read(t, "deploy/haproxy.cfg")
	for _, r := range []string{"hoist-1", "hoist-2"} {
		if !regexp.MustCompile(`(?m)^  ` + r + `:\n    <<: \*hoist\n    volumes:\n      - ` + r + `-data:` + env["HOIST_DATA_DIR"] + `$`).MatchString(compose) {
			t.Errorf("compose: replica %s is not the hoist template with its own volume at %s", r, env["HOIST_DATA_DIR"])
		}
		if !strings.Contains(haproxy, "server "+r+" "+r+":"+one(t, final, "EXPOSE")+" ") {
			t.Errorf("deploy/haproxy.cfg does not balance over %s:%s", r, one(t, final, "EXPOSE"))
		}
	}
}

// composeEnv is the HOIST_ variables of deploy/compose.yaml, defaults of
// ${VAR:-default} substituted.
func composeEnv(compose string) map[string]string {
	vars := map[string]string{}
	subst := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	for _, m := range regexp.MustCompile(`(?m)^\s+(HOIST_[A-Z0-9_]+): (.*)$`).FindAllStringSubmatch(compose, -1) {
		vars[m[1]] = strings.Trim(subst.ReplaceAllString(m[2], "$1"), `"`)
	}
	return vars
}

package app_test

// End-to-end tests of modules (issue 8): Hoist served over TLS with a test
// CA, a module bound to a simulator project, and the real `tofu` consuming
// it through Hoist's module registry.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/api/apitest"
	"github.com/hoistdev/hoist/internal/app"
	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/gitlabsim"
)

const (
	moduleProject = "acme/modules/greeting"
	moduleRoot    = "modules/greeting"
	moduleMainTF  = "variable \"name\" {\n  type = string\n}\n\noutput \"greeting\" {\n  value = \"hello, ${var.name}\"\n}\n"
)

// tlsHarness is the harness with Hoist on HTTPS and its client trusting
// it.
type tlsHarness struct {
	*harness
	ca testCA
}

// setupTLS starts the harness with a certificate of a test CA; tweak (may
// be nil) changes the config further.
func setupTLS(t *testing.T, tweak func(*app.Config)) *tlsHarness {
	t.Helper()
	ca := newTestCA(t)
	h := setup(t, func(c *app.Config) {
		c.TLSCertFile, c.TLSKeyFile = ca.certFile, ca.keyFile
		if tweak != nil {
			tweak(c)
		}
	})
	if !strings.HasPrefix(h.URL, "https://") || !strings.HasPrefix(h.App.PublicURL(), "https://") {
		t.Fatalf("URL %s, public URL %s: want https", h.URL, h.App.PublicURL())
	}
	h.HTTP = ca.client()
	h.HTTP.Transport = apitest.Transport(t, h.HTTP.Transport)
	return &tlsHarness{harness: h, ca: ca}
}

// moduleSetup creates the simulator project, a default integration whose
// user maintains it, the space platform and the module greeting in it.
func (h *tlsHarness) moduleSetup() (webhookEndpoint, webhookSecret string) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.Sim.CreateProject(ctx, gitlabsim.ProjectOptions{Path: moduleProject, Files: map[string]string{
		moduleRoot + "/main.tf": moduleMainTF, "README.md": "# modules\n"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.AddMember(ctx, gitlabsim.MemberOptions{Group: "acme", UserID: h.SimUser.ID, AccessLevel: gitlabsim.Maintainer}); err != nil {
		h.t.Fatal(err)
	}
	var it api.Integration
	h.Must(http.StatusCreated, "POST", "/api/v1/integrations/gitlab", h.AdminKey,
		h.integrationBody("Acme GitLab", "", h.Token(gitlabsim.TokenOptions{Scopes: []string{"api"}}))).Decode(h.t, &it)
	h.Must(http.StatusCreated, "POST", "/api/v1/spaces", h.AdminKey, map[string]any{"name": "platform", "parent": "root"})
	h.Must(http.StatusCreated, "POST", "/api/v1/spaces", h.AdminKey, map[string]any{"name": "other", "parent": "root"})
	var m struct{ ID, Source string }
	h.Must(http.StatusCreated, "POST", "/api/v1/modules", h.AdminKey, map[string]any{"name": "greeting", "provider": "null",
		"space": "platform", "repository": moduleProject, "branch": "main", "project_root": moduleRoot}).Decode(h.t, &m)
	if m.ID != "greeting" || m.Source != "platform/greeting/null" {
		h.t.Fatalf("module = %+v", m)
	}
	return it.WebhookEndpoint, it.WebhookSecret
}

// key creates an API key with one role.
func (h *tlsHarness) key(name, space, role string) string {
	h.t.Helper()
	var k struct{ Secret string }
	h.Must(http.StatusCreated, "POST", "/api/v1/api-keys", h.AdminKey, map[string]any{"name": name,
		"roles": []map[string]string{{"space": space, "role": role}}}).Decode(h.t, &k)
	return k.Secret
}

func (h *tlsHarness) host() string {
	u, err := url.Parse(h.URL)
	if err != nil {
		h.t.Fatal(err)
	}
	return u.Host
}

func TestModuleRegistryServesTofu(t *testing.T) {
	t.Parallel()
	h := setupTLS(t, nil)
	h.moduleSetup()
	head, err := h.Sim.ResolveRef(t.Context(), moduleProject, "main")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, SHA, State string }
	h.Must(http.StatusCreated, "POST", "/api/v1/modules/greeting/versions", h.AdminKey,
		map[string]any{"version": "v0.1.0", "sha": head[:12]}).Decode(t, &v)
	if v.Version != "0.1.0" || v.SHA != head || v.State != "published" {
		t.Fatalf("version = %+v", v)
	}
	reader := h.key("reader", "platform", "read")
	outsider := h.key("outsider", "other", "read")

	// Discovery is public; everything else needs a key, and a principal
	// without read on the module's space gets 404.
	var disc map[string]string
	h.Must(http.StatusOK, "GET", "/.well-known/terraform.json", "", nil).Decode(t, &disc)
	if disc["modules.v1"] != "/registry/modules/v1/" || len(disc) != 1 {
		t.Errorf("discovery = %v", disc)
	}
	versions := "/registry/modules/v1/platform/greeting/null/versions"
	h.Must(http.StatusUnauthorized, "GET", versions, "", nil)
	h.Must(http.StatusNotFound, "GET", versions, outsider, nil)
	h.Must(http.StatusNotFound, "GET", "/registry/modules/v1/platform/greeting/null/0.1.0/download", outsider, nil)
	h.Must(http.StatusNotFound, "GET", "/registry/modules/v1/other/greeting/null/versions", reader, nil)
	var vs struct {
		Modules []struct {
			Versions []struct{ Version string }
		}
	}
	h.Must(http.StatusOK, "GET", versions, reader, nil).Decode(t, &vs)
	if len(vs.Modules) != 1 || len(vs.Modules[0].Versions) != 1 || vs.Modules[0].Versions[0].Version != "0.1.0" {
		t.Errorf("versions = %s", mustJSON(t, vs))
	}
	dl := h.Must(http.StatusNoContent, "GET", "/registry/modules/v1/platform/greeting/null/0.1.0/download", reader, nil)
	link := dl.Header.Get("X-Terraform-Get")
	if !strings.HasPrefix(link, h.App.PublicURL()+"/registry/archives/greeting/0.1.0.tar.gz?") {
		t.Fatalf("X-Terraform-Get = %q", link)
	}
	// The link works without a key, and only as signed.
	h.Must(http.StatusOK, "GET", link, "", nil)
	h.Must(http.StatusForbidden, "GET", strings.Replace(link, "signature=", "signature=x", 1), "", nil)
	h.Must(http.StatusForbidden, "GET", strings.Replace(link, "0.1.0.tar.gz", "0.2.0.tar.gz", 1), "", nil)

	// The real tofu, as a stack's workspace would run it.
	dir := t.TempDir()
	code := "module \"m\" {\n  source  = \"" + h.host() + "/platform/greeting/null\"\n  version = \"0.1.0\"\n  name    = \"hoist\"\n}\n\n" +
		"output \"greeting\" {\n  value = module.m.greeting\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	tofu := apptest.Tofu(t)
	out := h.tofu(tofu, dir, reader, "init", "-input=false", "-no-color")
	if !strings.Contains(out, "Downloading "+h.host()+"/platform/greeting/null 0.1.0") {
		t.Errorf("tofu init did not download from Hoist:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".terraform", "modules", "m", "main.tf")); err != nil || string(b) != moduleMainTF {
		t.Errorf("installed module main.tf = %q, %v", b, err)
	}
	out = h.tofu(tofu, dir, reader, "plan", "-input=false", "-no-color")
	if !strings.Contains(out, `greeting = "hello, hoist"`) {
		t.Errorf("tofu plan output lacks the module's output:\n%s", out)
	}
	// A reader of another space cannot install it.
	if out, err := h.tofuRun(tofu, t.TempDir(), code, outsider, "init", "-input=false", "-no-color"); err == nil {
		t.Errorf("tofu init as an outsider succeeded:\n%s", out)
	}
}

// tofu runs tofu in dir against Hoist's registry with key as the registry
// token and fails the test when it fails.
func (h *tlsHarness) tofu(bin, dir, key string, args ...string) string {
	h.t.Helper()
	out, err := h.tofuRun(bin, dir, "", key, args...)
	if err != nil {
		h.t.Fatalf("tofu %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// tofuRun runs tofu with its own CLI config, home and plugin cache, trusting
// the test CA (SSL_CERT_FILE), and the API key in TF_TOKEN_<host> with the
// host's dots as underscores (OpenTofu reads the port after a colon).
func (h *tlsHarness) tofuRun(bin, dir, code, key string, args ...string) (string, error) {
	h.t.Helper()
	if code != "" {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(code), 0o600); err != nil {
			h.t.Fatal(err)
		}
	}
	home := h.t.TempDir()
	cliConfig := filepath.Join(home, "tofurc")
	if err := os.WriteFile(cliConfig, []byte("disable_checkpoint = true\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(h.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TF_CLI_CONFIG_FILE=" + cliConfig, "SSL_CERT_FILE=" + h.ca.caFile,
		"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"TF_TOKEN_" + strings.ReplaceAll(h.host(), ".", "_") + "=" + key,
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tagPush runs fn (a tag push or deletion in the simulator), waits until
// Hoist has processed the delivery it caused, and returns its log entry.
func (h *tlsHarness) tagPush(fn func() error) api.Delivery {
	h.t.Helper()
	seen := len(h.deliveries())
	if err := fn(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.Sim.WaitHooks(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
	var d api.Delivery
	apptest.Eventually(h.t, 15*time.Second, "Hoist to process the delivery", func() error {
		ds := h.deliveries()
		if len(ds) > seen && ds[0].Status != "received" && ds[0].Status != "processing" {
			d = ds[0] // newest first
			return nil
		}
		return errors.New(mustJSON(h.t, ds))
	})
	return d
}

func (h *tlsHarness) deliveries() []api.Delivery {
	h.t.Helper()
	var p struct{ Items []api.Delivery }
	h.Must(http.StatusOK, "GET", "/api/v1/deliveries?integration=acme-gitlab", h.AdminKey, nil).Decode(h.t, &p)
	return p.Items
}

// waitStatus waits (bounded) until GitLab has the commit status name in
// state on sha: the write-back sends it asynchronously.
func (h *tlsHarness) waitStatus(sha, name, state string) {
	h.t.Helper()
	apptest.Eventually(h.t, 15*time.Second, fmt.Sprintf("status %s %s on %s", name, state, sha), func() error {
		sts, err := h.Sim.CommitStatuses(moduleProject, sha)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, st := range sts {
			if st.Name == name && st.State == state {
				if st.Ref != "v0.1.0" || !strings.Contains(st.Description, "0.1.0") {
					h.t.Errorf("status = %+v", st)
				}
				return nil
			}
		}
		return fmt.Errorf("%+v", sts)
	})
}

// moduleLine is the only module line of a tag push's delivery.
func moduleLine(t *testing.T, d api.Delivery) (result, version, reason string) {
	t.Helper()
	if d.Status != "processed" || d.Result == nil || len(d.Result.Modules) != 1 || d.Result.Modules[0].ModuleID != "greeting" {
		t.Fatalf("delivery %s of %s: %s", d.Event, d.Ref, mustJSON(t, d))
	}
	m := d.Result.Modules[0]
	return m.Result, m.Version, m.Reason
}

// TestModuleVersionsFromTagPushes: GitLab's tag push webhooks publish,
// ignore and refuse versions, with the reason in the delivery log (issue 8
// acceptance 1).
func TestModuleVersionsFromTagPushes(t *testing.T) {
	t.Parallel()
	h := setupTLS(t, nil)
	endpoint, secret := h.moduleSetup()
	ctx := t.Context()
	noPush, noVerify := false, false
	if _, err := h.Sim.AddHook(ctx, moduleProject, gitlabsim.HookOptions{URL: endpoint, Token: secret, PushEvents: &noPush,
		TagPushEvents: true, EnableSSLVerification: &noVerify}); err != nil {
		t.Fatal(err)
	}
	head, err := h.Sim.ResolveRef(ctx, moduleProject, "main")
	if err != nil {
		t.Fatal(err)
	}
	tag := func(name, message string) func() error {
		return func() error {
			_, err := h.Sim.CreateTag(ctx, gitlabsim.TagOptions{Project: moduleProject, Tag: name, Ref: "main", Message: message})
			return err
		}
	}
	versions := func() []struct{ Version, SHA, Tag, State string } {
		var p struct {
			Items []struct{ Version, SHA, Tag, State string }
		}
		h.Must(http.StatusOK, "GET", "/api/v1/modules/greeting/versions", h.AdminKey, nil).Decode(t, &p)
		return p.Items
	}

	res, ver, reason := moduleLine(t, h.tagPush(tag("v0.1.0", "an annotated tag")))
	if res != "published" || ver != "0.1.0" {
		t.Fatalf("v0.1.0: %s %s %s", res, ver, reason)
	}
	if vs := versions(); len(vs) != 1 || vs[0].Version != "0.1.0" || vs[0].SHA != head || vs[0].Tag != "v0.1.0" || vs[0].State != "published" {
		t.Fatalf("versions = %+v (want 0.1.0 at the tagged commit %s)", vs, head)
	}

	h.waitStatus(head, "hoist/module/greeting", "success")

	res, _, reason = moduleLine(t, h.tagPush(tag("banana", "")))
	if res != "ignored" || !strings.Contains(reason, "not a version") {
		t.Errorf("banana: %s %q", res, reason)
	}

	res, _, reason = moduleLine(t, h.tagPush(func() error { return h.Sim.DeleteTag(ctx, moduleProject, "v0.1.0", 0) }))
	if res != "ignored" || !strings.Contains(reason, "never removed") {
		t.Errorf("tag deleted: %s %q", res, reason)
	}
	if _, err := h.Sim.Push(ctx, gitlabsim.PushOptions{Project: moduleProject, Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: moduleRoot + "/main.tf", Content: moduleMainTF + "# v2\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	res, ver, reason = moduleLine(t, h.tagPush(tag("v0.1.0", "")))
	if res != "refused" || ver != "0.1.0" || !strings.Contains(reason, "never reused") {
		t.Errorf("v0.1.0 again: %s %s %q", res, ver, reason)
	}
	if vs := versions(); len(vs) != 1 || vs[0].SHA != head {
		t.Errorf("versions after the refused tag = %+v", vs)
	}
}

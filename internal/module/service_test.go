package module_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/gitlabsim"
	"github.com/hoistdev/hoist/internal/module"
	"github.com/hoistdev/hoist/internal/registry"
	"github.com/hoistdev/hoist/internal/vcs"
)

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Errorf("err = %v (%s), want %s", err, apperr.CodeOf(err), code)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != field {
		t.Errorf("err = %v, want invalid %s", err, field)
	}
}

func TestCreateChecksGitLabAndAccess(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	in := module.CreateInput{Name: "Greeting", Provider: "null", Space: "platform", Repository: project, Branch: "main", ProjectRoot: root}

	_, err := f.svc.Create(ctx, f.writer, in)
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.Create(ctx, f.outsider, in)
	wantField(t, err, "space") // a space the caller cannot see does not exist for them
	bad := in
	bad.Repository = "acme/modules/nope"
	_, err = f.svc.Create(ctx, f.admin, bad)
	wantField(t, err, "repository")
	bad = in
	bad.Branch = "develop"
	_, err = f.svc.Create(ctx, f.admin, bad)
	wantField(t, err, "branch")
	bad = in
	bad.Integration = "nope"
	_, err = f.svc.Create(ctx, f.admin, bad)
	wantField(t, err, "integration")

	v := f.createModule()
	if v.ID != "greeting" || v.ProjectID == 0 || v.IntegrationID != "acme-gitlab" || v.SpaceID != "platform" {
		t.Errorf("created %+v", v.Module)
	}
	_, err = f.svc.Create(ctx, f.admin, in)
	wantCode(t, err, apperr.Conflict)

	if _, err := f.svc.Get(ctx, f.reader, "greeting"); err != nil {
		t.Errorf("reader: %v", err)
	}
	_, err = f.svc.Get(ctx, f.outsider, "greeting")
	wantCode(t, err, apperr.NotFound)
	list, _, err := f.svc.List(ctx, f.outsider, "", 10)
	if err != nil || len(list) != 0 {
		t.Errorf("outsider lists %d modules, %v", len(list), err)
	}
	wantCode(t, f.svc.Delete(ctx, f.writer, "greeting"), apperr.Forbidden)
	if err := f.svc.Delete(ctx, f.admin, "greeting"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.svc.Delete(ctx, f.admin, "greeting"), apperr.NotFound)
}

// TestTagPushes drives OnTagPush with the simulator's real tag push
// payloads (SPEC §4.5, issue 8 acceptance 1).
func TestTagPushes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	f.createModule()
	head := f.head()

	// An annotated tag: the version is the tagged commit, not the tag object.
	ev := f.pushTag("v0.1.0", "first release")
	if ev.After == head {
		t.Fatalf("annotated tag payload: after = the commit; the test needs the tag object")
	}
	out := onTag(t, f, ev)
	if out.Result != module.ResultPublished || out.Version != "0.1.0" || out.SHA != head {
		t.Fatalf("v0.1.0: %+v", out)
	}
	v, _, err := f.svc.Versions(ctx, f.reader, "greeting", "", 10)
	if err != nil || len(v) != 1 || v[0].SHA != head || v[0].Tag != "v0.1.0" || v[0].State != module.Published ||
		v[0].CreatedBy != "gitlab:root" {
		t.Fatalf("versions = %+v, %v", v, err)
	}
	st := f.statuses.all()
	if len(st) != 1 || st[0].Name != "hoist/module/greeting" || st[0].SHA != head || st[0].State != "success" ||
		st[0].Ref != "v0.1.0" || st[0].Project != project {
		t.Errorf("statuses = %+v", st)
	}

	out = onTag(t, f, f.pushTag("banana", ""))
	if out.Result != module.ResultIgnored || !strings.Contains(out.Reason, "not a version") {
		t.Errorf("banana: %+v", out)
	}

	// Deleting the tag keeps the version; pushing it again, even at another
	// commit, is refused.
	out = onTag(t, f, f.deleteTag("v0.1.0"))
	if out.Result != module.ResultIgnored || !strings.Contains(out.Reason, "never removed") {
		t.Errorf("delete: %+v", out)
	}
	if _, err := f.sim.Push(ctx, gitlabsim.PushOptions{Project: project, Branch: "main", Commits: []gitlabsim.CommitSpec{{
		Message: "change", Actions: []gitlabsim.FileAction{{Action: "update", Path: root + "/main.tf", Content: mainTF + "# v2\n"}}}}}); err != nil {
		t.Fatal(err)
	}
	out = onTag(t, f, f.pushTag("v0.1.0", ""))
	if out.Result != module.ResultRefused || !strings.Contains(out.Reason, "never reused") {
		t.Errorf("v0.1.0 again: %+v", out)
	}
	// The same version without the v is the same version.
	out = onTag(t, f, f.pushTag("0.1.0", ""))
	if out.Result != module.ResultRefused {
		t.Errorf("0.1.0 after v0.1.0: %+v", out)
	}
	out = onTag(t, f, f.pushTag("1.0.0", ""))
	if out.Result != module.ResultPublished || out.SHA != f.head() {
		t.Errorf("1.0.0: %+v", out)
	}
	vs, _, _ := f.svc.Versions(ctx, f.reader, "greeting", "", 10)
	if len(vs) != 2 {
		t.Errorf("versions after all tags = %+v", vs)
	}
	// Another repository's tags touch no module.
	outs, err := f.svc.OnTagPush(ctx, "other-integration", ev)
	if err != nil || len(outs) != 0 {
		t.Errorf("other integration: %+v, %v", outs, err)
	}
}

func onTag(t *testing.T, f *fixture, ev vcs.Event) module.Outcome {
	t.Helper()
	outs, err := f.svc.OnTagPush(t.Context(), "acme-gitlab", ev)
	if err != nil || len(outs) != 1 {
		t.Fatalf("OnTagPush(%s) = %+v, %v", ev.Tag, outs, err)
	}
	return outs[0]
}

func TestVersionsByHandBadAndRegistryView(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	m := f.createModule().Module
	head := f.head()

	_, err := f.svc.CreateVersion(ctx, f.reader, m.ID, module.CreateVersionInput{Version: "0.1.0", SHA: head})
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "banana", SHA: head})
	wantField(t, err, "version")
	_, err = f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "0.1.0", SHA: "zzz"})
	wantField(t, err, "sha")
	_, err = f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "0.1.0", SHA: "0123456789abcdef"})
	wantField(t, err, "sha") // no such commit in GitLab
	v, err := f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "v0.1.0", SHA: head[:10]})
	if err != nil || v.SHA != head || v.Version != "0.1.0" || v.Tag != "" || v.CreatedBy != f.writer {
		t.Fatalf("by hand = %+v, %v", v, err)
	}
	_, err = f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "0.1.0", SHA: head})
	wantCode(t, err, apperr.Conflict)
	if _, err := f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "0.2.0", SHA: head}); err != nil {
		t.Fatal(err)
	}

	_, err = f.svc.MarkBad(ctx, f.reader, m.ID, "0.2.0", "broken")
	wantCode(t, err, apperr.Forbidden)
	_, err = f.svc.MarkBad(ctx, f.writer, m.ID, "0.2.0", " ")
	wantField(t, err, "note")
	_, err = f.svc.MarkBad(ctx, f.writer, m.ID, "9.9.9", "x")
	wantCode(t, err, apperr.NotFound)
	bad, err := f.svc.MarkBad(ctx, f.writer, m.ID, "v0.2.0", "drops the output")
	if err != nil || bad.State != module.Bad || bad.Note != "drops the output" {
		t.Fatalf("mark bad = %+v, %v", bad, err)
	}
	// Bad versions stay taken.
	_, err = f.svc.CreateVersion(ctx, f.writer, m.ID, module.CreateVersionInput{Version: "0.2.0", SHA: head})
	wantCode(t, err, apperr.Conflict)

	// The registry's view: by address, for readers only, without bad versions.
	_, err = f.svc.Resolve(ctx, f.outsider, "platform", "greeting", "null")
	wantCode(t, err, apperr.NotFound)
	for _, addr := range [][3]string{{"other", "greeting", "null"}, {"platform", "greeting", "aws"}, {"platform", "nope", "null"}} {
		_, err = f.svc.Resolve(ctx, f.reader, addr[0], addr[1], addr[2])
		wantCode(t, err, apperr.NotFound)
	}
	rm, err := f.svc.Resolve(ctx, f.reader, "platform", "greeting", "null")
	if err != nil {
		t.Fatal(err)
	}
	avail, err := f.svc.Available(ctx, rm)
	if err != nil || len(avail) != 1 || avail[0].Version != "0.1.0" {
		t.Errorf("available = %+v, %v", avail, err)
	}
	_, err = f.svc.AvailableVersion(ctx, rm, "0.2.0")
	wantCode(t, err, apperr.NotFound)

	// The archive of a version: GitLab's, limited to the project root,
	// repacked with the module's folder as the root.
	lm, lv, err := f.svc.Lookup(ctx, m.ID, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	var raw, packed bytes.Buffer
	if err := f.svc.WriteArchive(ctx, lm, lv, &raw); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Repack(&raw, lm.ProjectRoot, &packed); err != nil {
		t.Fatal(err)
	}
	files := untar(t, &packed)
	if len(files) != 1 || files["main.tf"] != mainTF {
		t.Errorf("archive files = %v", files)
	}
}

func untar(t *testing.T, r io.Reader) map[string]string {
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
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}

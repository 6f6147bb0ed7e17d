// Command gen writes the components.schemas of internal/api/openapi.json
// from the Go types of package api (run by `go generate ./internal/api`).
// The rest of the document (info, paths, responses) is written by hand and
// kept as it is; its paths refer to the generated schemas by name.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/hoistdev/hoist/internal/run"
)

// roots are the bodies the paths name; the types they contain follow.
var roots = []any{
	api.Error{}, api.Health{},
	api.Page[api.Space]{}, api.CreateSpace{}, api.UpdateSpace{},
	api.Page[api.APIKey]{}, api.CreateAPIKey{}, api.Page[api.User]{}, api.CreateUser{},
	api.RevokeRole{}, api.SetPassword{}, api.RoleMappings{}, api.CreateRoleMapping{},
	api.PersonalAPIKeys{}, api.CreatePersonalAPIKey{},
	api.Page[api.Integration]{}, api.CreateGitLabIntegration{}, api.UpdateGitLabIntegration{},
	api.TestResult{}, api.CreateGitLabWebhook{}, api.GitLabWebhook{},
	api.Page[api.AuditEntry]{}, api.Launchpad{},
	api.Page[api.Stack]{}, api.CreateStack{}, api.UpdateStack{},
	api.Schedule{}, api.Schedules{}, api.CreateSchedule{}, api.UpdateSchedule{},
	api.Page[api.Run]{}, api.TriggerRun{}, api.RunLogs{}, api.Page[api.Review]{}, api.CreateReview{}, api.ReviewResult{},
	api.Page[api.Variable]{}, api.SetVariable{}, api.Page[api.StateVersion]{},
	api.Page[api.WorkerPool]{}, api.CreateWorkerPool{},
	api.Page[api.Module]{}, api.CreateModule{}, api.Page[api.ModuleVersion]{},
	api.CreateModuleVersion{}, api.MarkModuleVersionBad{},
	api.Page[api.Policy]{}, api.CreatePolicy{}, api.UpdatePolicy{}, api.Page[api.StackPolicy]{},
	api.Page[api.PolicyEvaluation]{},
	api.Page[api.NotificationTarget]{}, api.CreateNotificationTarget{}, api.UpdateNotificationTarget{},
	api.Page[api.NotificationDelivery]{},
	api.Page[api.Delivery]{},
	api.Page[api.VCSAgentPool]{}, api.CreateVCSAgentPool{}, api.UpdateVCSAgentPool{},
	api.LeaseRequest{}, run.Job{}, api.RunState{}, api.Advance{}, api.PlanReport{},
	api.PlanAnswer{}, api.Finish{}, api.AppendLog{},
}

func main() {
	if err := rewrite("."); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// rewrite regenerates openapi.json in apiDir, the api package's folder.
func rewrite(apiDir string) error {
	path := filepath.Join(apiDir, "openapi.json")
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := generate(doc, apiDir)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// document is openapi.json with its parts in their order; components.schemas
// is generated, the rest copied. Decoding refuses unknown top-level parts,
// so that nothing written by hand is dropped silently.
type document struct {
	OpenAPI    string          `json:"openapi"`
	Info       json.RawMessage `json:"info"`
	Servers    json.RawMessage `json:"servers"`
	Security   json.RawMessage `json:"security"`
	Paths      json.RawMessage `json:"paths"`
	Components struct {
		SecuritySchemes json.RawMessage `json:"securitySchemes"`
		Responses       json.RawMessage `json:"responses"`
		Schemas         json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// generate returns doc with its schemas generated from the types, whose
// comments it reads from the sources beside apiDir.
func generate(doc []byte, apiDir string) ([]byte, error) {
	var d document
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("read openapi.json: %w", err)
	}
	comments := docs{}
	apiPath, runPath := reflect.TypeFor[api.Error]().PkgPath(), reflect.TypeFor[run.Job]().PkgPath()
	apiTypes, err := parseDocs(comments, apiDir, apiPath)
	if err != nil {
		return nil, err
	}
	if _, err := parseDocs(comments, filepath.Join(apiDir, "..", "run"), runPath); err != nil {
		return nil, err
	}
	w := newWalker(comments)
	for _, r := range roots {
		if err := w.component(reflect.TypeOf(r)); err != nil {
			return nil, err
		}
	}
	for _, name := range apiTypes {
		if _, ok := w.schemas[name]; !ok {
			return nil, fmt.Errorf("api.%s is in no schema: add it (or a type holding it) to gen's roots", name)
		}
	}
	schemas, err := marshal(w.schemas) // maps marshal with sorted keys
	if err != nil {
		return nil, err
	}
	d.Components.Schemas = schemas
	raw, err := marshal(d)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

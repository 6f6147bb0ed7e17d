package gitlabsim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

var (
	envNameRe = regexp.MustCompile(`^[a-zA-Z0-9 _/${}.-]+$`)
	slugBadRe = regexp.MustCompile(`[^a-z0-9]+`)
	envTiers  = []string{"production", "staging", "testing", "development", "other"}
	// tierGuesses are GitLab's name patterns, tried in order.
	tierGuesses = []struct {
		re   *regexp.Regexp
		tier string
	}{
		{regexp.MustCompile(`(dev|review|trunk)`), "development"},
		{regexp.MustCompile(`(test|tst|int|ac(ce|)pt|qa|qc|control|quality)`), "testing"},
		{regexp.MustCompile(`(st(a|)g|mod(e|)l|pre|demo|non)`), "staging"},
		{regexp.MustCompile(`(pr(o|)d|live)`), "production"},
	}
)

// guessTier is GitLab's tier guess from an environment name.
func guessTier(name string) string {
	n := strings.ToLower(name)
	for _, g := range tierGuesses {
		if g.re.MatchString(n) {
			return g.tier
		}
	}
	return "other"
}

// envSlug follows GitLab: lower case, runs of other characters become "-",
// at most 24 characters; a changed name gets a short suffix for uniqueness.
func envSlug(name string) string {
	slug := strings.Trim(slugBadRe.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if slug == "" || (slug[0] >= '0' && slug[0] <= '9') {
		slug = "env-" + slug
	}
	if len(slug) > 24 {
		slug = slug[:24]
	}
	if slug != name {
		slug = strings.TrimRight(slug[:min(len(slug), 17)], "-") + "-" + randomHex(3)
	}
	return slug
}

func (s *Server) envObj(e *Environment, withDeployment bool) obj {
	var ext any
	if e.ExternalURL != "" {
		ext = e.ExternalURL
	}
	o := obj{"id": e.ID, "name": e.Name, "slug": e.Slug, "external_url": ext, "state": e.State, "tier": e.Tier,
		"description": e.Description, "created_at": apiTime(e.CreatedAt), "updated_at": apiTime(e.UpdatedAt),
		"auto_stop_at": nil, "auto_stop_setting": "always", "kubernetes_namespace": nil, "flux_resource_path": nil}
	if withDeployment {
		var last any
		for _, d := range slices.Backward(s.st.Deployments) {
			if d.EnvironmentID == e.ID && d.Status == "success" {
				last = s.deploymentObj(d, false)
				break
			}
		}
		o["last_deployment"] = last
	}
	return o
}

func (s *Server) listEnvironments(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	name, search, states := c.str("name"), c.str("search"), c.str("states")
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*Environment
	for _, e := range s.st.Environments {
		if e.ProjectID == p.ID && (name == "" || e.Name == name) && (search == "" || strings.Contains(e.Name, search)) &&
			(states == "" || e.State == states) {
			list = append(list, e)
		}
	}
	page := paginate(c, list)
	out := make([]obj, 0, len(page))
	for _, e := range page {
		out = append(out, s.envObj(e, false))
	}
	return c.ok(http.StatusOK, out)
}

func (s *Server) getEnvironment(c *call) error {
	p, err := c.project(Reporter)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := c.pathInt("env_id")
	for _, e := range s.st.Environments {
		if e.ID == id && e.ProjectID == p.ID {
			o := s.envObj(e, true)
			o["project"] = s.projectObj(&p, c.level(&p))
			return c.ok(http.StatusOK, o)
		}
	}
	return notFound("Environment")
}

func (s *Server) createEnvironment(c *call) error {
	p, err := c.project(Developer)
	if err != nil {
		return err
	}
	name, ok := c.param("name")
	if !ok {
		return paramError("name is missing")
	}
	tier := c.str("tier")
	if tier != "" && !slices.Contains(envTiers, tier) {
		return paramError("tier does not have a valid value")
	}
	var out obj
	err = s.mutate(func(st *state) error {
		e, err := st.addEnvironment(p.ID, name, s.now())
		if err != nil {
			return err
		}
		if tier != "" {
			e.Tier = tier
		}
		e.ExternalURL, e.Description = c.str("external_url"), c.str("description")
		out = s.envObj(e, false)
		return nil
	})
	if err != nil {
		return err
	}
	return c.ok(http.StatusCreated, out)
}

// addEnvironment validates and records a new environment. Callers hold s.mu.
func (st *state) addEnvironment(projectID int, name string, now time.Time) (*Environment, error) {
	if strings.TrimSpace(name) == "" {
		return nil, validationError("name", "can't be blank")
	}
	if !envNameRe.MatchString(name) || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") {
		return nil, validationError("name", "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'")
	}
	for _, e := range st.Environments {
		if e.ProjectID == projectID && e.Name == name {
			return nil, validationError("name", "has already been taken")
		}
	}
	id := st.nextID("environment")
	e := &Environment{ID: id, ProjectID: projectID, Name: name, Slug: envSlug(name), Tier: guessTier(name),
		State: "available", CreatedAt: now, UpdatedAt: now}
	st.Environments = append(st.Environments, e)
	return e, nil
}

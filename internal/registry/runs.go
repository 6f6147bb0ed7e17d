package registry

import (
	"context"
	"strings"

	"github.com/hoistdev/hoist/internal/space"
)

// A run authenticates to the registry with its own credential rather than an
// API key: "<run id>:<state token>", the token of the lease the worker holds
// (stored hashed, valid only while that lease is held and the run has not
// ended). Reusing the lease's token keeps one secret per lease, already
// masked in the run's logs, with no new table.

// stateTokenPrefix starts every run's state token (run.Service.tryLease).
const stateTokenPrefix = "hoistrun_"

// runPrincipalKind is the kind of the principal a run's credential resolves
// to. Identity principals are "user:…" and "apikey:…", so it cannot collide.
const runPrincipalKind = "registry-run:"

// RunToken is the registry credential of a run's lease: what the worker
// puts in TF_TOKEN_<host>.
func RunToken(runID, stateToken string) string { return runID + ":" + stateToken }

// parseRunToken splits a run credential; ok is false for anything else (an
// API key, say).
func parseRunToken(key string) (runID, token string, ok bool) {
	runID, token, ok = strings.Cut(key, ":")
	return runID, token, ok && runID != "" && strings.HasPrefix(token, stateTokenPrefix)
}

// runPrincipal is the principal of a verified run credential: it carries the
// space of the run's stack, which is all RunAccess needs.
func runPrincipal(runID, stackSpace string) string {
	return runPrincipalKind + stackSpace + ":" + runID
}

// AccessResolver resolves a principal's roles over the space tree
// (space.Service, stack.AccessResolver).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// RunAccess is the access resolver of the module service behind the
// registry: a run's principal reads what a principal holding read on the
// run's stack's space would read (that space, its descendants, and the
// ancestors it inherits from); every other principal is resolved by Next.
type RunAccess struct{ Next AccessResolver }

// Access implements AccessResolver.
func (a RunAccess) Access(ctx context.Context, principal string) (space.Access, space.Tree, error) {
	rest, ok := strings.CutPrefix(principal, runPrincipalKind)
	if !ok {
		return a.Next.Access(ctx, principal)
	}
	stackSpace, _, _ := strings.Cut(rest, ":")
	// A run principal has no bindings: Next gives the tree only.
	_, tree, err := a.Next.Access(ctx, principal)
	if err != nil {
		return space.Access{}, space.Tree{}, err
	}
	grant := []space.Binding{{Principal: principal, SpaceID: stackSpace, Role: space.Read}}
	return space.Resolve(tree, grant), tree, nil
}

// authenticate resolves a Bearer credential: a run's credential when it
// has that shape and the handler accepts runs, an API key otherwise.
func (h *Handler) authenticate(ctx context.Context, key string) (string, error) {
	runID, token, ok := parseRunToken(key)
	if !ok || h.cfg.AuthenticateRun == nil {
		return h.cfg.Authenticate(ctx, key)
	}
	stackSpace, err := h.cfg.AuthenticateRun(ctx, runID, token)
	if err != nil {
		return "", err
	}
	return runPrincipal(runID, stackSpace), nil
}

// TokenEnvName is the environment variable OpenTofu reads a host's
// credential from: TF_TOKEN_ and the host with "-" as "__" and "." as "_"
// (OpenTofu decodes "__" first). A port stays after its colon, as OpenTofu
// compares the decoded name with the host including its port:
// TF_TOKEN_127_0_0_1:8443.
func TokenEnvName(host string) string {
	h := strings.ToLower(host)
	h = strings.ReplaceAll(h, "-", "__")
	h = strings.ReplaceAll(h, ".", "_")
	return "TF_TOKEN_" + h
}

package integration

import (
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"net/url"
	"strings"
	"unicode"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/space"
)

// Limits on user-supplied fields (SPEC §2.1 leaves sizes open; these are
// generous for real use and small enough to keep rows and requests sane).
const (
	MaxNameLen          = space.MaxNameLen          // characters
	MaxDescriptionBytes = space.MaxDescriptionBytes // 64 KiB of markdown
	MaxCABundleBytes    = 256 << 10
	MaxTokenBytes       = 4096
	MaxHostBytes        = 2048
)

// Validate checks and normalises every user-supplied field of in, as stored:
// name, provider, space/default placement, both hosts (UserFacingHost
// defaults to APIHost), labels (a set), description and CA bundle. Errors are
// apperr Invalid naming the field as the API spells it. The token is checked
// separately by ValidateToken because in holds it sealed.
func Validate(in *Integration) error {
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return err
	}
	in.Name = name
	if in.Provider != GitLab {
		return apperr.InvalidField("provider", "unknown provider %q", in.Provider)
	}
	if in.IsDefault {
		if in.SpaceID != "" && in.SpaceID != space.RootID {
			return apperr.InvalidField("space", "a default integration lives in root; do not name a space for it")
		}
		in.SpaceID = space.RootID
	} else if strings.TrimSpace(in.SpaceID) == "" {
		return apperr.InvalidField("space", "is required for an integration that is not the default")
	}
	if in.APIHost, err = ValidateHost("api_host", in.APIHost); err != nil {
		return err
	}
	if strings.TrimSpace(in.UserFacingHost) == "" {
		in.UserFacingHost = in.APIHost
	} else if in.UserFacingHost, err = ValidateHost("user_facing_host", in.UserFacingHost); err != nil {
		return err
	}
	if in.Labels, err = space.NormalizeLabels("labels", in.Labels); err != nil {
		return err
	}
	if len(in.Description) > MaxDescriptionBytes {
		return apperr.InvalidField("description", "must be at most %d KiB, got %d bytes", MaxDescriptionBytes>>10, len(in.Description))
	}
	if in.DriftIssueLabels, err = ValidateDriftIssue(in.DriftIssue, in.DriftIssueLabels); err != nil {
		return err
	}
	return ValidateCABundle(in.CABundle)
}

// ValidateHost checks a host URL of SPEC §2.1 and returns it normalised
// (scheme and host lower-case, no trailing slash, no trailing /api/v4).
// Accepted: http:// or https:// with a host, an optional port and an
// optional path (GitLab under a relative URL root), without user info,
// query or fragment; or private://<agent-pool>[/path].
func ValidateHost(field, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", apperr.InvalidField(field, "is required (e.g. https://gitlab.com)")
	case len(raw) > MaxHostBytes:
		return "", apperr.InvalidField(field, "must be at most %d bytes", MaxHostBytes)
	case strings.ContainsFunc(raw, unicode.IsSpace) || strings.ContainsFunc(raw, unicode.IsControl):
		return "", apperr.InvalidField(field, "must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", apperr.InvalidField(field, "is not a URL: %v", err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "http", "https", "private":
	case "":
		return "", apperr.InvalidField(field, "must start with https:// or http:// (or private://<agent-pool>)")
	default:
		return "", apperr.InvalidField(field, "scheme %q is not allowed: use https://, http:// or private://<agent-pool>", u.Scheme)
	}
	switch {
	case u.User != nil:
		return "", apperr.InvalidField(field, "must not contain a user name or password; the token authenticates")
	case u.RawQuery != "" || u.ForceQuery:
		return "", apperr.InvalidField(field, "must not contain a query (?…)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", apperr.InvalidField(field, "must not contain a fragment (#…)")
	case u.Opaque != "":
		return "", apperr.InvalidField(field, "must look like %s://host", scheme)
	case u.Host == "" || u.Hostname() == "":
		if scheme == "private" {
			return "", apperr.InvalidField(field, "must name an agent pool: private://<agent-pool>")
		}
		return "", apperr.InvalidField(field, "must name a host, e.g. https://gitlab.example.com")
	}
	if scheme == "private" && u.Port() != "" {
		return "", apperr.InvalidField(field, "private://<agent-pool> takes no port")
	}
	host := strings.ToLower(u.Host)
	path := strings.TrimRight(u.EscapedPath(), "/")
	// People paste GitLab's API URL; Hoist adds /api/v4 itself, and links
	// built on the host would 404 with it.
	if n := len(path) - len(apiSuffix); n >= 0 && strings.EqualFold(path[n:], apiSuffix) {
		path = strings.TrimRight(path[:n], "/")
	}
	return scheme + "://" + host + path, nil
}

// apiSuffix is where GitLab serves its REST API under its root URL.
const apiSuffix = "/api/v4"

// ValidateToken checks the shape of a VCS token before it is sent anywhere:
// present, not absurdly long, and free of whitespace (a token file with a
// trailing newline is trimmed first). It returns the trimmed token.
func ValidateToken(token string) (string, error) {
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", apperr.InvalidField("token", "is required")
	case len(token) > MaxTokenBytes:
		return "", apperr.InvalidField("token", "must be at most %d bytes", MaxTokenBytes)
	case strings.ContainsFunc(token, unicode.IsSpace) || strings.ContainsFunc(token, unicode.IsControl):
		return "", apperr.InvalidField("token", "must not contain spaces or control characters")
	}
	return token, nil
}

// ValidateCABundle accepts "" or a PEM bundle of one or more parseable
// certificates and nothing else.
func ValidateCABundle(bundle string) error {
	if strings.TrimSpace(bundle) == "" {
		return nil
	}
	if len(bundle) > MaxCABundleBytes {
		return apperr.InvalidField("ca_bundle", "must be at most %d KiB", MaxCABundleBytes>>10)
	}
	rest := []byte(bundle)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return apperr.InvalidField("ca_bundle", "PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return apperr.InvalidField("ca_bundle", "certificate %d does not parse: %v", n, err)
		}
	}
	switch {
	case n == 0:
		return apperr.InvalidField("ca_bundle", "holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	case strings.TrimSpace(string(rest)) != "":
		return apperr.InvalidField("ca_bundle", "has data after certificate %d that is not PEM", n)
	}
	return nil
}

// metadataAddrs are single cloud-metadata addresses outside the link-local
// ranges: AWS's IPv6 instance metadata endpoint.
var metadataAddrs = []netip.Addr{netip.MustParseAddr("fd00:ec2::254")}

// IsMetadataAddr reports whether ip is link-local (169.254.0.0/16,
// fe80::/10 — where cloud metadata services live) or a known metadata
// address. A GitLab host resolving there is refused unless allowed, because
// a token-bearing request to it could leak instance credentials.
func IsMetadataAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() {
		return true
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

// metadataHostnames are names that resolve to metadata services inside
// clouds; refusing them by name gives a clearer error than at dial time.
var metadataHostnames = []string{"metadata.google.internal", "metadata.goog", "metadata"}

// CheckHostAllowed refuses an already validated host URL whose host is a
// literal metadata address or a well-known metadata name, unless its host
// name (or host:port) is in allow. Names resolving to such addresses are
// caught when dialing (IsMetadataAddr).
func CheckHostAllowed(field, hostURL string, allow []string) error {
	u, err := url.Parse(hostURL)
	if err != nil || u.Scheme == "private" {
		return nil // private hosts are reached through an agent, not dialed
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, a := range allow {
		a = strings.ToLower(a)
		if a == h || a == strings.ToLower(u.Host) {
			return nil
		}
	}
	refused := false
	if ip, err := netip.ParseAddr(h); err == nil {
		refused = IsMetadataAddr(ip)
	}
	for _, m := range metadataHostnames {
		refused = refused || h == m
	}
	if refused {
		return apperr.InvalidField(field, "host %s is a link-local or cloud metadata address; the server operator must allow it with --allow-gitlab-host %s", h, h)
	}
	return nil
}

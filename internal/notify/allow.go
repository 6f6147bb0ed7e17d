package notify

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"github.com/hoistdev/hoist/internal/apperr"
)

// AllowSetting names the server flag of the allow-list, in errors.
const AllowSetting = "--notify-allow-hosts"

// AllowList is the operator's allow-list of the hosts notification targets
// may reach (--notify-allow-hosts). A nil *AllowList allows every host,
// internal ones included (the default, as before the flag existed).
//
// With a list, a target's URL host must match one of its patterns, when
// the target is created or changed and again before each attempt; and
// every address the host resolves to is checked where the connection is
// made (after DNS, so a public name answering with 10.0.0.5, or changing
// its answer after the check, is caught): loopback, private, link-local
// and other non-public addresses are refused unless an IP or CIDR pattern
// of the list names them.
type AllowList struct {
	patterns []string       // as given, for messages
	names    []string       // exact host names, lower case, no trailing dot
	suffixes []string       // "*.example.com" as ".example.com"
	prefixes []netip.Prefix // IP and CIDR patterns
}

// MaxAllowPatterns bounds the list (it is scanned for every check).
const MaxAllowPatterns = 256

// ParseAllowList parses the patterns of --notify-allow-hosts: a host name
// (hooks.example.com), a wildcard for its subdomains (*.example.com, not
// the name itself), an IP address (192.0.2.7, ::1, [::1]) or a CIDR range
// (10.20.0.0/16). Ports are not part of a pattern. No pattern: nil, every
// host allowed.
func ParseAllowList(patterns []string) (*AllowList, error) {
	if len(patterns) == 0 {
		return nil, nil
	}
	if len(patterns) > MaxAllowPatterns {
		return nil, fmt.Errorf("%s: at most %d patterns, got %d", AllowSetting, MaxAllowPatterns, len(patterns))
	}
	a := &AllowList{}
	for _, raw := range patterns {
		p := strings.ToLower(strings.TrimSpace(raw))
		if err := a.add(p); err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", AllowSetting, raw, err)
		}
		a.patterns = append(a.patterns, p)
	}
	return a, nil
}

func (a *AllowList) add(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("is empty")
	case p == "*":
		return fmt.Errorf("allows every host: leave %s out instead", AllowSetting)
	case strings.Contains(p, "/"):
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return fmt.Errorf("is not a CIDR range (want e.g. 10.20.0.0/16)")
		}
		a.prefixes = append(a.prefixes, pr.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")); err == nil {
		ip = ip.Unmap()
		a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	name, wild := strings.CutPrefix(p, "*.")
	name = strings.TrimSuffix(name, ".")
	if !validHostName(name) {
		return fmt.Errorf("is not a host name, *.domain, IP address or CIDR range (ports are not part of a pattern)")
	}
	if wild {
		a.suffixes = append(a.suffixes, "."+name)
	} else {
		a.names = append(a.names, name)
	}
	return nil
}

// validHostName reports whether s is a DNS name: labels of letters,
// digits and inner dashes (underscores tolerated), at most 253 bytes.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

// Enabled reports whether a list restricts the hosts.
func (a *AllowList) Enabled() bool { return a != nil }

// String is the patterns, comma-separated.
func (a *AllowList) String() string {
	if a == nil {
		return ""
	}
	return strings.Join(a.patterns, ",")
}

// CheckHost refuses a URL host (without port) the list does not name: an
// IP address must be in an IP or CIDR pattern, a name must equal a name
// pattern or be a subdomain of a wildcard one. A nil list allows all.
func (a *AllowList) CheckHost(host string) error {
	if a == nil {
		return nil
	}
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		if a.inPrefixes(ip.Unmap()) {
			return nil
		}
		return fmt.Errorf("host %s is not in the server's allow-list of notification hosts (%s %s)", h, AllowSetting, a)
	}
	for _, n := range a.names {
		if h == n {
			return nil
		}
	}
	for _, s := range a.suffixes {
		if strings.HasSuffix(h, s) {
			return nil
		}
	}
	return fmt.Errorf("host %s is not in the server's allow-list of notification hosts (%s %s)", h, AllowSetting, a)
}

func (a *AllowList) inPrefixes(ip netip.Addr) bool {
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkURLHost is CheckHost as an invalid "url" field, for the API.
func (a *AllowList) checkURLHost(host string) error {
	if err := a.CheckHost(host); err != nil {
		return apperr.InvalidField("url", "%v", err)
	}
	return nil
}

// RefusedAddrError is a connection refused because the address a target's
// host resolved to is not public and the allow-list does not name it.
type RefusedAddrError struct{ Addr netip.Addr }

func (e *RefusedAddrError) Error() string {
	return fmt.Sprintf("address %s is not public (loopback, private, link-local or reserved) and %s names no IP or CIDR range holding it",
		e.Addr, AllowSetting)
}

// CheckAddr refuses a resolved address that is not public unless an IP
// or CIDR pattern of the list holds it. A nil list allows all.
func (a *AllowList) CheckAddr(ip netip.Addr) error {
	if a == nil {
		return nil
	}
	ip = ip.Unmap()
	if IsPublicAddr(ip) || a.inPrefixes(ip) {
		return nil
	}
	return &RefusedAddrError{Addr: ip}
}

// dialControl checks the address actually dialed (net.Dialer.Control),
// after name resolution: the check cannot be raced by a DNS answer that
// changes between a lookup and the connection.
func (a *AllowList) dialControl(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("dial %s: not an IP address", address)
	}
	return a.CheckAddr(ip)
}

// nonPublic are the ranges of IsPublicAddr that the netip predicates do
// not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT, often internal
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64: may reach any IPv4 address, internal ones included
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
	netip.MustParsePrefix("2002::/16"),      // 6to4: embeds an IPv4 address
	netip.MustParsePrefix("2001::/32"),      // Teredo: embeds an IPv4 address
}

// IsPublicAddr reports whether ip is a global unicast address outside the
// private, shared and reserved ranges: what a receiver on the Internet
// has.
func IsPublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

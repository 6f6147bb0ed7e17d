package app

import (
	"net"
	"os"
	"strings"
	"testing"
)

// TestAdvertiseURL: the flag is checked and kept; without it a server
// bound to one address advertises that address, and one bound to every
// interface its host name and port.
func TestAdvertiseURL(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	tests := []struct {
		flag, scheme, listen string
		want                 string // "" for an error
	}{
		{flag: "https://hoist-1.internal:8443/", scheme: "http", listen: "0.0.0.0:8080", want: "https://hoist-1.internal:8443"},
		{flag: "hoist-1:8080", scheme: "http", listen: "0.0.0.0:8080"},
		{flag: "ftp://hoist-1", scheme: "http", listen: "0.0.0.0:8080"},
		{flag: "http://user:pw@hoist-1", scheme: "http", listen: "0.0.0.0:8080"},
		{flag: "http://hoist-1?x=1", scheme: "http", listen: "0.0.0.0:8080"},
		{scheme: "http", listen: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{scheme: "https", listen: "[::1]:8443", want: "https://[::1]:8443"},
		{scheme: "http", listen: "0.0.0.0:8080", want: "http://" + net.JoinHostPort(host, "8080")},
		{scheme: "https", listen: "[::]:9000", want: "https://" + net.JoinHostPort(host, "9000")},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.listen)
		if err != nil {
			t.Fatal(err)
		}
		got, err := advertiseURL(tt.flag, tt.scheme, addr)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), "--advertise-url") {
				t.Errorf("advertiseURL(%q) = %q, %v; want an error naming the flag", tt.flag, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("advertiseURL(%q, %s, %s) = %q, %v; want %q", tt.flag, tt.scheme, tt.listen, got, err, tt.want)
		}
	}
}

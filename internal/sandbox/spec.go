package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
)

// spec is what the server tells the re-exec step, as one JSON argument
// (argv shows paths only, never a secret).
type spec struct {
	Writable []string `json:"writable,omitempty"`
	Readable []string `json:"readable,omitempty"`
	Hidden   []string `json:"hidden,omitempty"`
	// UID and GID: the program's identity (-1: keep the server's).
	UID int `json:"uid"`
	GID int `json:"gid"`
	// PIDNS starts the program in a new PID namespace; the re-exec step
	// itself is then in new mount and IPC namespaces (and UserNS).
	PIDNS  bool `json:"pid_ns,omitempty"`
	UserNS bool `json:"user_ns,omitempty"`
}

func (s spec) encode() (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("sandbox: encode spec: %w", err)
	}
	return string(b), nil
}

// parseArgs reads `SPEC -- PROGRAM [ARG…]`.
func parseArgs(args []string) (spec, []string, error) {
	if len(args) < 3 || args[1] != "--" {
		return spec{}, nil, errors.New("usage: hoist " + Command + " SPEC -- PROGRAM [ARG…] (internal: started by the server)")
	}
	var s spec
	if err := json.Unmarshal([]byte(args[0]), &s); err != nil {
		return spec{}, nil, fmt.Errorf("bad spec: %w", err)
	}
	if len(s.Writable) == 0 {
		return spec{}, nil, errors.New("bad spec: no writable folder")
	}
	return s, args[2:], nil
}

//go:build !linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// systemDirs: nothing is readable where nothing is sandboxed.
var systemDirs []string

func landlockABI() (int, error) {
	return 0, errors.New("the Landlock LSM exists only on Linux")
}

func setNamespaces(*syscall.SysProcAttr, bool) {}

// Dispatch serves the re-exec step (it only fails here).
func Dispatch() {
	if len(os.Args) > 1 && os.Args[1] == Command {
		os.Exit(Main(os.Args[2:], os.Stderr))
	}
}

// Main fails: there is no sandbox on this OS.
func Main(_ []string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "hoist %s: %v\n", Command, ErrNotServed)
	return 125
}

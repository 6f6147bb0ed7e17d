package main

import (
	"os"
	"testing"

	"github.com/hoistdev/hoist/internal/apptest"
	"github.com/hoistdev/hoist/internal/sandbox"
)

// Tests run the program in-process (run), so its embedded workers start
// runs' OpenTofu through this test binary: it serves sandbox-exec as the
// real one does. Others run the built binary (apptest.Binary), which
// apptest.Main removes at the end.
func TestMain(m *testing.M) {
	sandbox.Dispatch()
	os.Exit(apptest.Main(m))
}

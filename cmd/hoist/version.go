package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionLine is what `hoist version` and `hoist --version` print: the
// module version (a tag for `go install …@v1.2.3`, "(devel)" for a plain
// build), the VCS commit the binary was built from, whether the tree had
// uncommitted changes, and the Go version.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "hoist version unknown (no build information)"
	}
	version, commit, modified := bi.Main.Version, "unknown", ""
	if version == "" {
		version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			commit = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			modified = " (modified)"
		}
	}
	return fmt.Sprintf("hoist version %s, commit %s%s, %s", version, commit, modified, bi.GoVersion)
}

func versionCommand(e *env, cmd *cobra.Command) runFunc {
	return func(_ context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		_, err := fmt.Fprintln(e.stdout, cmd.Root().Version)
		return err
	}
}

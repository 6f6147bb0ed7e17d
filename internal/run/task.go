package run

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
)

// Bounds on a task's command: it is stored with the run and sent to the
// worker, whoever wrote it.
const (
	MaxTaskArgs      = 64
	MaxTaskArgBytes  = 4096
	MaxTaskCommandSz = 16 << 10
)

// taskPrograms are the programs a task may run: the stack's own tool,
// which the worker maps to the binary it runs the stack with. The sandbox
// lets a run read its tool and its workspace, nothing else, so another
// program would not start there; refusing it here says so at once.
var taskPrograms = []string{"tofu", "terraform"}

// CheckTaskCommand returns nil when cmd is a command a TASK run may run,
// else an apperr.Invalid on field saying why.
func CheckTaskCommand(field string, cmd []string) error {
	if len(cmd) == 0 {
		return apperr.InvalidField(field, "a task needs a command, such as [\"tofu\", \"state\", \"list\"]")
	}
	if len(cmd) > MaxTaskArgs {
		return apperr.InvalidField(field, "a task's command has at most 64 arguments")
	}
	total := 0
	for _, a := range cmd {
		total += len(a)
		if len(a) > MaxTaskArgBytes || !utf8.ValidString(a) || strings.ContainsRune(a, 0) {
			return apperr.InvalidField(field, "each argument must be valid UTF-8 without NUL, at most 4096 bytes")
		}
	}
	if total > MaxTaskCommandSz {
		return apperr.InvalidField(field, "a task's command is at most 16 KiB")
	}
	if !slices.Contains(taskPrograms, cmd[0]) {
		return apperr.InvalidField(field, "a task runs the stack's tool: the command must start with tofu or terraform "+
			"(other programs are not available in the run's sandbox)")
	}
	return nil
}

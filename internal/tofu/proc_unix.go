//go:build unix

package tofu

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts tofu in its own process group and makes cancellation
// signal the whole group: tofu starts provider plugins that would otherwise
// outlive it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}

// killGroup kills whatever is left of the group once tofu has exited.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

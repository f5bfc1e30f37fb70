//go:build unix

package hooks

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd as the leader of a new process group and makes its
// cancellation kill the whole group, so whatever the hook started goes
// with it.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// ownGroupOnly starts cmd in a new process group.
func ownGroupOnly(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

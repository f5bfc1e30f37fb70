//go:build !unix

package hooks

import "os/exec"

// ownGroup leaves cmd as it is: without Unix process groups only the
// hook's own process is killed at its bound.
func ownGroup(cmd *exec.Cmd) {}

// ownGroupOnly leaves cmd as it is.
func ownGroupOnly(cmd *exec.Cmd) {}

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import (
	"context"
	"syscall"
	"time"
)

// detached returns no special process attributes on this system.
func detached() *syscall.SysProcAttr { return nil }

// lockFile does not lock on this system: there is no flock. Two clients
// racing to start the daemon may both start one; the second fails to bind
// the control socket and exits.
func lockFile(ctx context.Context, path string, timeout time.Duration) (unlock func(), err error) {
	return func() {}, nil
}

//go:build !unix

package store

import (
	"fmt"
	"os"
)

// lockDir creates path exclusively: without flock a lock left by a crash
// must be removed by hand.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock file %s: another gophone is running on this data directory (or left it): %w", path, err)
	}
	return func() {
		f.Close()
		os.Remove(path)
	}, nil
}

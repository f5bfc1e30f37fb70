//go:build !unix

package procscale

import (
	"errors"
	"time"
)

// processCPUTime is not known here, so the Scaler leaves GOMAXPROCS alone.
func processCPUTime() (time.Duration, error) {
	return 0, errors.New("process CPU time is not available on this system")
}

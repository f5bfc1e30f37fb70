//go:build integration_pending

package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// gophoneBin is the daemon binary TestMain built for this test run.
var gophoneBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := testutil.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gophone-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gophoneBin, err = testutil.Build(ctx, root, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// startDaemon runs gophone with the given extra ini lines.
func startDaemon(t *testing.T, ini string) *testutil.Daemon {
	t.Helper()
	return testutil.StartDaemon(t, gophoneBin, ini)
}

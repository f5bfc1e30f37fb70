package hooks

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the hook spawner of the tests
// that use one, as the gophone binary does (cmd/gophone).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == SpawnerArg {
		os.Exit(ServeSpawner(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

package integration

import (
	"path/filepath"
	"testing"
)

// scenario returns the path of a SIPp scenario in testdata/sipp.
func scenario(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

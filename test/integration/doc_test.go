// Package integration runs gophone and its helpers against real SIP peers
// from Debian's packages: SIPp (sip-tester) as a scripted far end and load
// generator, and baresip (baresip-core) as a second softphone. scripts/test.sh
// installs them; a missing peer fails the tests rather than skipping them.
//
// Tests that need the gophone daemon are in files built with the
// integration_pending tag until the daemon exists.
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

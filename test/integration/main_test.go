// Package integration runs gophone daemons against each other and against
// real SIP peers (SIPp, baresip) on loopback.
package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/codec"
	"github.com/gophone/gophone/internal/testutil"
)

// gophoneBin is the gophone binary built once by TestMain.
var gophoneBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := testutil.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "gophone-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var flags []string
	if codec.HaveOpus {
		// These tests were built with Opus: so is the daemon they run.
		flags = append(flags, "-tags", "with_opus_c")
	}
	gophoneBin, err = testutil.Build(ctx, root, dir, flags...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building gophone:", err)
		return 1
	}
	return m.Run()
}

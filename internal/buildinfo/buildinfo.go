// Package buildinfo says which build of gophone is running, from the
// information the Go toolchain records in the binary.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// revision is the VCS revision for builds the toolchain cannot stamp (a
// git worktree, a source tarball, -buildvcs=false):
//
//	go build -ldflags "-X github.com/gophone/gophone/internal/buildinfo.revision=$(git rev-parse HEAD)" ./cmd/gophone
//
// It is set only by the linker.
var revision string

// Info identifies a build.
type Info struct {
	// Version is the module version ("v1.2.3", or "(devel)" for a build
	// from a source tree).
	Version string `json:"version"`
	// Revision is the VCS revision the binary was built from, "" when
	// unknown; Modified reports uncommitted changes in that tree.
	Revision string `json:"revision"`
	Modified bool   `json:"modified"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"goVersion"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi, revision)
}

// fromBuildInfo reads bi (nil when the binary has none); rev, when set,
// stands in for a missing vcs.revision.
func fromBuildInfo(bi *debug.BuildInfo, rev string) Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version(), Revision: rev}
	if bi == nil {
		return info
	}
	if bi.Main.Version != "" {
		info.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String returns "gophone VERSION (revision REV[, modified]) GOVERSION".
func (i Info) String() string {
	rev := i.Revision
	if rev == "" {
		rev = "unknown"
	}
	if i.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("gophone %s (revision %s) %s", i.Version, rev, i.GoVersion)
}

package testutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleRoot returns the directory of the go.mod that encloses the current
// working directory (a test's working directory is its package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Build compiles ./cmd/gophone of the module at moduleRoot into outDir and
// returns the binary's path. Extra arguments are passed to go build before
// the package (for example "-race"). Call it once, from TestMain.
func Build(ctx context.Context, moduleRoot, outDir string, buildFlags ...string) (string, error) {
	bin := filepath.Join(outDir, "gophone")
	args := append([]string{"build", "-o", bin}, buildFlags...)
	args = append(args, "./cmd/gophone")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testutil: go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// goTool returns the go command of the toolchain running the tests.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// RequireTool fails the test with a clear message when the named program is
// not on PATH. Integration tests never skip for a missing peer: scripts/test.sh
// installs them.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		pkg := map[string]string{"sipp": "sip-tester", "baresip": "baresip-core", "linphonec": "linphone-cli"}[name]
		if pkg == "" {
			pkg = name
		}
		t.Fatalf("%s is not installed (Debian package %s); run `make test`, which installs it", name, pkg)
	}
	return p
}

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestMessageDiskFull: the daemon's data directory is a small tmpfs that
// is then filled. A MESSAGE that cannot be committed is answered 500 with
// Retry-After, never 2xx; calls still work; once there is room again the
// sender's retry is stored, once. Needs root (to mount the tmpfs), as
// `make test` runs.
func TestMessageDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs as the data directory: run it as root (make test does)")
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", data).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", data).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", data, err, out)
		}
	})
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\ndataDir="+data+"\n")
	b := testutil.StartDaemon(t, gophoneBin, "")
	// Close a before the tmpfs is unmounted (cleanups run last first).
	t.Cleanup(func() { a.RunCLI("close") })

	filler := filepath.Join(data, "filler")
	fill(t, filler)
	res := rawMessage(t, a.SIPAddr(), "full-1", "text/plain", "kept after all")
	if !strings.HasPrefix(res, "SIP/2.0 500 ") || !regexp.MustCompile(`(?mi)^Retry-After: \d+\r$`).MatchString(res) {
		t.Fatalf("a MESSAGE on a full disk was answered:\n%s", res)
	}

	// Calls go on.
	bev := b.Events(t)
	call := strings.TrimSpace(b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr()))
	bev.WaitType(t, eventWait, "call.established", call)
	b.MustRun(t, "hangup", call)
	bev.WaitType(t, eventWait, "call.ended", call)

	// Room again: the retry (a new transaction, same Call-ID, CSeq, tag)
	// is stored, and a second one is a duplicate.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if res := rawMessage(t, a.SIPAddr(), "full-1", "text/plain", "kept after all"); !strings.HasPrefix(res, "SIP/2.0 200 ") {
			t.Fatalf("retry %d with room again was answered:\n%s", i+1, res)
		}
	}
	msgs := messagesJSON(t, a)
	if len(msgs) != 1 || msgs[0].Text != "kept after all" {
		t.Fatalf("messages = %+v, want the one message", msgs)
	}
}

// fill writes path until the file system has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := f.Write(buf); err != nil {
			if strings.Contains(err.Error(), "no space") {
				return
			}
			t.Fatal(err)
		}
	}
	t.Fatal("the file system did not fill up")
}

// TestSecondDaemonSameDataDir: a second daemon on a data directory in use
// is refused at start, naming the lock file; the first goes on.
func TestSecondDaemonSameDataDir(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\ndataDir="+data+"\n")
	dir := t.TempDir()
	ini := filepath.Join(dir, "second.ini")
	settings := []string{
		"listen=127.0.0.1:" + fmt.Sprint(testutil.FreePort(t)),
		"controlSocket=" + filepath.Join(dir, "ctl.sock"),
		"httpListen=",
		"dataDir=" + data,
	}
	if err := os.WriteFile(ini, []byte(testutil.MergeINI(settings, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, gophoneBin, "-c", ini, "serve").CombinedOutput()
	if err == nil || !strings.Contains(string(out), filepath.Join(data, "gophone.lock")) || !strings.Contains(string(out), "another gophone") {
		t.Fatalf("second serve: %v\n%s", err, out)
	}
	a.MustRun(t, "status")
}

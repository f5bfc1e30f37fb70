package testutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Dispatcher is Kamailio run by a test with the repository's dispatcher
// deployment (deploy/kamailio-dispatcher.cfg) on a free loopback port,
// spreading calls over the given destinations.
type Dispatcher struct {
	// Port is Kamailio's SIP UDP port on 127.0.0.1.
	Port int
	// Dir holds the dispatcher list, the log and the runtime files.
	Dir string

	t      testing.TB
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
}

// StartDispatcher runs kamailio with deploy/kamailio-dispatcher.cfg as it
// is in the repository, setting only its -A defines: the listen address,
// the dispatcher list (set 1 = dests, each a host:port) and the OPTIONS
// probe interval. It returns once Kamailio has bound its port and is
// stopped by pid at cleanup.
func StartDispatcher(t testing.TB, pingInterval time.Duration, dests ...string) *Dispatcher {
	t.Helper()
	bin := RequireTool(t, "kamailio")
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	k := &Dispatcher{Port: FreeUDPPort(t), Dir: t.TempDir(), t: t, exited: make(chan struct{})}
	var list strings.Builder
	for _, d := range dests {
		fmt.Fprintf(&list, "1 sip:%s\n", d)
	}
	listPath := filepath.Join(k.Dir, "dispatcher.list")
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(k.Dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	k.log = filepath.Join(k.Dir, "kamailio.log")
	logf, err := os.Create(k.log)
	if err != nil {
		t.Fatal(err)
	}
	k.cmd = exec.Command(bin,
		"-f", filepath.Join(root, "deploy", "kamailio-dispatcher.cfg"),
		"-DD", "-E", "-m", "32", "-M", "4", "-Y", run, "-w", k.Dir,
		"-A", "LISTEN=udp:"+k.Addr(),
		"-A", `DS_LIST="`+listPath+`"`,
		"-A", "DS_PING_INTERVAL="+strconv.Itoa(max(1, int(pingInterval.Seconds()))))
	k.cmd.Stdout, k.cmd.Stderr = logf, logf
	if err := k.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start kamailio: %v", err)
	}
	go func() {
		k.cmd.Wait()
		logf.Close()
		close(k.exited)
	}()
	t.Cleanup(func() {
		k.stop()
		if t.Failed() {
			t.Logf("kamailio log (last 16 KiB):\n%s", tail(readFile(k.log)))
		}
	})
	k.waitBound()
	return k
}

// Addr returns Kamailio's SIP address, 127.0.0.1:port.
func (k *Dispatcher) Addr() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// Log returns Kamailio's output so far.
func (k *Dispatcher) Log() string { return readFile(k.log) }

// waitBound waits up to 20 s for Kamailio to bind its UDP port.
func (k *Dispatcher) waitBound() {
	k.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.ListenPacket("udp4", k.Addr())
		if err != nil && errors.Is(err, syscall.EADDRINUSE) {
			return
		}
		if c != nil {
			c.Close()
		}
		select {
		case <-k.exited:
			k.t.Fatalf("kamailio exited at start:\n%s", tail(readFile(k.log)))
		default:
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("kamailio did not bind %s within 20s:\n%s", k.Addr(), tail(readFile(k.log)))
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// stop ends Kamailio's main process with SIGTERM (it ends its children),
// by pid, killing it after 10 s.
func (k *Dispatcher) stop() {
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(10 * time.Second):
		k.cmd.Process.Kill()
		<-k.exited
	}
}

package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a mosquitto MQTT broker run by a test on a free loopback
// port, with a generated configuration. It can be stopped and started
// again on the same port.
type Mosquitto struct {
	// Port is the broker's TCP port on 127.0.0.1.
	Port int
	// Dir holds the configuration, the log and, with persistence, the
	// database.
	Dir string

	t      testing.TB
	bin    string
	conf   string
	log    *os.File
	cmd    *exec.Cmd
	exited chan struct{}
}

// MosquittoOptions change the generated configuration.
type MosquittoOptions struct {
	// Persistent keeps sessions, queued QoS 1 messages and retained
	// messages across a Stop and Start (persistence true, saved in Dir).
	Persistent bool
}

// StartMosquitto starts a broker (listener PORT 127.0.0.1, anonymous
// clients allowed, no persistence unless opts asks for it) and returns once
// it accepts connections. It is stopped by pid at cleanup.
func StartMosquitto(t testing.TB, opts MosquittoOptions) *Mosquitto {
	t.Helper()
	m := &Mosquitto{bin: RequireTool(t, "mosquitto"), Port: FreePort(t), Dir: t.TempDir(), t: t}
	m.conf = filepath.Join(m.Dir, "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nlog_dest stderr\n", m.Port)
	if opts.Persistent {
		// Run as root, mosquitto would switch to its own user, which cannot
		// write the test's directory; "user root" keeps it (and is ignored
		// for any other user).
		conf += "persistence true\npersistence_location " + m.Dir + "/\nuser root\n"
	} else {
		conf += "persistence false\n"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(m.Dir, "mosquitto.log"))
	if err != nil {
		t.Fatal(err)
	}
	m.log = log
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", readFile(log.Name()))
		}
		log.Close()
	})
	m.Start()
	return m
}

// URL returns the broker's address as gophone's [MQTT] broker key takes it.
func (m *Mosquitto) URL() string { return "mqtt://" + m.Addr() }

// Addr returns 127.0.0.1:port.
func (m *Mosquitto) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.Port) }

// Start runs the broker (again) and waits up to 10 s until it accepts
// connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	if m.cmd != nil {
		m.t.Fatal("testutil: mosquitto is already running")
	}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Dir = m.Dir
	cmd.Stdout = m.log
	cmd.Stderr = m.log
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	m.cmd, m.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			m.t.Fatalf("mosquitto exited at start:\n%s", readFile(m.log.Name()))
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto not accepting on %s after 10s: %v", m.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// Stop ends the broker with SIGTERM (it saves its database, if it has one,
// and closes every connection), by pid, killing it after 10 s.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.exited
	}
	m.cmd = nil
}

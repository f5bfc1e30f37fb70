package testutil

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// KamailioOptions choose how a test Kamailio runs.
type KamailioOptions struct {
	// SHA256 challenges with algorithm=SHA-256 instead of MD5 (Kamailio
	// sets the digest algorithm for the whole server).
	SHA256 bool
	// MinExpires, when set, answers shorter registrations with 423
	// Interval Too Brief and this Min-Expires.
	MinExpires int
	// IPv6 listens on [::1]:Port (UDP and TCP) as well.
	IPv6 bool
	// InDialogAuth challenges in-dialog BYE, re-INVITE and REFER requests
	// (407) as it does the first INVITE.
	InDialogAuth bool
	// TLS adds a TLS listener with a certificate for 127.0.0.1, localhost
	// and kamailio.test signed by a test CA (Kamailio.CAFile).
	TLS bool
}

// Kamailio is a real Kamailio registrar and proxy run by a test from
// test/integration/testdata/kamailio/kamailio.cfg: users 1001–1004 with the
// password "secret"+user, registrations in memory, calls relayed between
// registered users. It listens on 127.0.0.1:Port over UDP and TCP (and on
// TLSPort over TLS).
type Kamailio struct {
	Port, TLSPort int
	// CAFile is the PEM file of the CA that signed the TLS certificate.
	CAFile string

	t    testing.TB
	cfg  string
	args []string
	dir  string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	log     strings.Builder
	records []KamailioRecord
}

// KamailioRecord is one request Kamailio logged on arrival.
type KamailioRecord struct {
	At     time.Time
	Method string
	// Fields are the line's key=value pairs (user, expires, auth, proto…).
	Fields map[string]string
}

// KamailioPassword is the password of test user user (1001–1004).
func KamailioPassword(user string) string { return "secret" + user }

// StartKamailio runs Kamailio in the foreground on free loopback ports
// until the test ends, and returns once it answers OPTIONS.
func StartKamailio(t testing.TB, opts KamailioOptions) *Kamailio {
	t.Helper()
	RequireTool(t, "kamailio")
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	k := &Kamailio{
		Port: FreePort(t),
		t:    t,
		cfg:  filepath.Join(root, "test", "integration", "testdata", "kamailio", "kamailio.cfg"),
		dir:  t.TempDir(),
	}
	listen := "127.0.0.1:" + strconv.Itoa(k.Port)
	k.args = []string{"-f", k.cfg, "-DD", "-E", "-m", "32", "-M", "4",
		"-P", filepath.Join(k.dir, "kamailio.pid"), "-Y", k.dir,
		"-l", "udp:" + listen, "-l", "tcp:" + listen}
	if opts.SHA256 {
		k.args = append(k.args, "-A", "WITH_SHA256")
	}
	if opts.MinExpires > 0 {
		k.args = append(k.args, "-A", "MIN_EXPIRES="+strconv.Itoa(opts.MinExpires))
	}
	if opts.IPv6 {
		listen6 := "[::1]:" + strconv.Itoa(k.Port)
		k.args = append(k.args, "-l", "udp:"+listen6, "-l", "tcp:"+listen6)
	}
	if opts.InDialogAuth {
		k.args = append(k.args, "-A", "WITH_INDIALOG_AUTH")
	}
	if opts.TLS {
		k.TLSPort = FreePort(t)
		k.args = append(k.args, "-A", "WITH_TLS", "-A", `TLS_CFG="`+k.writeTLSFiles(t)+`"`,
			"-l", "tls:127.0.0.1:"+strconv.Itoa(k.TLSPort))
	}
	t.Cleanup(func() {
		k.Stop()
		if t.Failed() {
			t.Logf("kamailio output:\n%s", k.Log())
		}
	})
	k.Start()
	return k
}

// Addr returns Kamailio's UDP and TCP address, 127.0.0.1:Port.
func (k *Kamailio) Addr() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// Addr6 returns Kamailio's IPv6 address (with KamailioOptions.IPv6),
// [::1]:Port.
func (k *Kamailio) Addr6() string { return "[::1]:" + strconv.Itoa(k.Port) }

// Start starts Kamailio again after Stop, on the same ports, with no
// registrations, and returns once it answers OPTIONS.
func (k *Kamailio) Start() {
	t := k.t
	t.Helper()
	cmd := exec.Command("kamailio", k.args...)
	cmd.Dir = k.dir
	// Kamailio forks its workers: they share a process group of their own,
	// which Stop ends as a whole.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kamailio: %v", err)
	}
	exited := make(chan struct{})
	k.mu.Lock()
	k.cmd, k.exited = cmd, exited
	k.mu.Unlock()
	go k.read(pr)
	go func() {
		cmd.Wait()
		pw.Close()
		close(exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !k.answersOptions() {
		select {
		case <-exited:
			t.Fatalf("kamailio exited before it was ready:\n%s", k.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio does not answer OPTIONS after 20s:\n%s", k.Log())
		}
	}
}

// Stop kills Kamailio and its workers (by their process group, which
// Start created) and waits for them to exit; it forgets every
// registration. Stop on a stopped Kamailio does nothing.
func (k *Kamailio) Stop() {
	k.mu.Lock()
	cmd, exited := k.cmd, k.exited
	k.cmd = nil
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	// The workers are gone once no process of the group is left.
	for range 100 {
		if syscall.Kill(-cmd.Process.Pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (k *Kamailio) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		k.mu.Lock()
		k.log.WriteString(line + "\n")
		if rec, ok := parseKamailioRecord(line); ok {
			rec.At = time.Now()
			k.records = append(k.records, rec)
		}
		k.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// parseKamailioRecord reads a "gophone-test: METHOD k=v k=v" log line.
func parseKamailioRecord(line string) (KamailioRecord, bool) {
	_, rest, ok := strings.Cut(line, "gophone-test: ")
	if !ok {
		return KamailioRecord{}, false
	}
	words := strings.Fields(rest)
	if len(words) == 0 {
		return KamailioRecord{}, false
	}
	rec := KamailioRecord{Method: words[0], Fields: map[string]string{}}
	for _, w := range words[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			rec.Fields[k] = v
		}
	}
	return rec, true
}

// Log returns everything Kamailio wrote so far.
func (k *Kamailio) Log() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.log.String()
}

// Records returns the requests of method Kamailio received from user
// (any user if ""), in arrival order.
func (k *Kamailio) Records(method, user string) []KamailioRecord {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []KamailioRecord
	for _, r := range k.records {
		if r.Method == method && (user == "" || r.Fields["user"] == user || r.Fields["from"] == user) {
			out = append(out, r)
		}
	}
	return out
}

// answersOptions sends one OPTIONS over UDP and reports whether a 200
// came back within a second.
func (k *Kamailio) answersOptions() bool {
	c, err := net.Dial("udp4", k.Addr())
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	branch := fmt.Sprintf("z9hG4bK-ready-%d", time.Now().UnixNano())
	msg := "OPTIONS sip:" + k.Addr() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\n" +
		"From: <sip:probe@" + local + ">;tag=probe\r\n" +
		"To: <sip:" + k.Addr() + ">\r\n" +
		"Call-ID: " + branch + "\r\n" +
		"CSeq: 1 OPTIONS\r\n" +
		"Content-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		time.Sleep(100 * time.Millisecond) // e.g. connection refused: poll again shortly
		return false
	}
	return strings.HasPrefix(string(buf[:n]), "SIP/2.0 200")
}

// writeTLSFiles makes a test CA and a certificate for 127.0.0.1 signed by
// it, writes them as PEM into k.dir with a tls.cfg that uses them, and
// returns the tls.cfg's path; it sets k.CAFile.
func (k *Kamailio) writeTLSFiles(t testing.TB) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gophone test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost", "kamailio.test"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	k.CAFile = filepath.Join(k.dir, "ca.pem")
	certFile := filepath.Join(k.dir, "cert.pem")
	keyFile := filepath.Join(k.dir, "key.pem")
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{k.CAFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", leafDER}, {keyFile, "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(k.dir, "tls.cfg")
	text := "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n" +
		"certificate = " + certFile + "\nprivate_key = " + keyFile + "\n\n" +
		"[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

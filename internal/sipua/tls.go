package sipua

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"slices"
	"sync"
	"time"
)

// tlsHosts are the hosts accounts reach over TLS, true for the insecure
// ones; the addresses DNS gave for their names are learned as they are
// looked up (the agent dials an account's server by the address it
// resolved, RFC 3263).
type tlsHosts struct {
	mu    sync.Mutex
	hosts map[string]bool
}

// learn records that name's server was found at ip: when name is
// insecure, a connection to ip is not verified either. (A secure name's
// address is not recorded: a connection to it is verified for the name,
// never for the address, which a certificate for another name may carry.)
func (h *tlsHosts) learn(name, ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hosts[name] && net.ParseIP(name) == nil {
		h.hosts[ip] = true
	}
}

func (h *tlsHosts) snapshot() map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.hosts)
}

// clientTLS is the configuration of the TLS connections the agent opens:
// the server's certificate is verified against the system's CAs and those
// in caFiles, for the host the connection goes to (sipgo sets ServerName
// to it). The hosts in tlsHosts whose value is true (insecure) are not
// verified; a server named by an account but dialled by the address DNS
// gave is verified for its name.
func clientTLS(caFiles []string, hosts *tlsHosts) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range caFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tlsCAFile: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsCAFile %s: no PEM certificate in it", f)
		}
	}
	conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	configured := hosts.snapshot()
	named := slices.ContainsFunc(slices.Collect(maps.Keys(configured)), func(h string) bool { return net.ParseIP(h) == nil })
	if !named && !slices.Contains(slices.Collect(maps.Values(configured)), true) {
		return conf, nil
	}
	// One configuration serves every account, so with an insecure one
	// the verification is done here, per connection, and the other
	// accounts' servers stay verified; so is a named server dialled by
	// address, for its name.
	conf.InsecureSkipVerify = true
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyServer(cs, pool, hosts.snapshot())
	}
	return conf, nil
}

// verifyServer verifies a TLS server for the host it was dialled as, or
// takes it unverified when that host is insecure. A client's connection
// state names the host only when it is a DNS name (it is the SNI); a
// server dialled by IP address is checked against the accounts' IP hosts
// (those DNS gave for an insecure name among them) and their secure names.
func verifyServer(cs tls.ConnectionState, pool *x509.CertPool, tlsHosts map[string]bool) error {
	hosts := []string{cs.ServerName}
	if cs.ServerName == "" {
		hosts = nil
		for h, insecure := range tlsHosts {
			if net.ParseIP(h) != nil || !insecure {
				hosts = append(hosts, h)
			}
		}
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	err := errors.New("no host to verify it for")
	for _, h := range hosts {
		if tlsHosts[h] {
			return nil
		}
		_, err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: h})
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("tls: failed to verify certificate: %w", err)
}

// serverTLS is the configuration of the agent's TLS listener: a
// certificate made at start for host, signed by itself. Registrars and
// proxies that send us requests over TLS do not verify a phone's
// certificate (it has no name of its own to verify).
func serverTLS(host string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "gophone"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else if host != "" {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

package sipua

import (
	"crypto/tls"
	"crypto/x509"
	"maps"
	"testing"
)

// TestVerifyServer checks the per-connection verification used when an
// account is insecure: other servers are still verified, by name or by
// IP address, and a certificate for another name is refused.
func TestVerifyServer(t *testing.T) {
	conf, err := serverTLS("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(conf.Certificates[0].Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	trusted := x509.NewCertPool()
	trusted.AddCert(cert)
	named, err := serverTLS("pbx.example")
	if err != nil {
		t.Fatal(err)
	}
	namedCert, _ := x509.ParseCertificate(named.Certificates[0].Certificate[0])
	trusted.AddCert(namedCert)
	tests := []struct {
		name       string
		cert       *x509.Certificate
		serverName string
		pool       *x509.CertPool
		hosts      map[string]bool
		ok         bool
	}{
		{"IP host, trusted", cert, "", trusted, map[string]bool{"127.0.0.1": false, "other.example": true}, true},
		{"IP host, untrusted CA", cert, "", x509.NewCertPool(), map[string]bool{"127.0.0.1": false, "other.example": true}, false},
		{"IP host, insecure", cert, "", x509.NewCertPool(), map[string]bool{"127.0.0.1": true}, true},
		{"name, trusted", namedCert, "pbx.example", trusted, map[string]bool{"pbx.example": false, "127.0.0.1": true}, true},
		{"name mismatch", namedCert, "other.example", trusted, map[string]bool{"other.example": false, "x.example": true}, false},
		{"name, insecure", namedCert, "other.example", x509.NewCertPool(), map[string]bool{"other.example": true}, true},
		{"IP cert for a name", cert, "pbx.example", trusted, map[string]bool{"pbx.example": false, "127.0.0.2": true}, false},
		// An account's server named pbx.example, dialled at the address DNS gave.
		{"name dialled by address", namedCert, "", trusted, map[string]bool{"pbx.example": false}, true},
		{"name dialled by address, untrusted CA", namedCert, "", x509.NewCertPool(), map[string]bool{"pbx.example": false}, false},
		{"insecure name dialled by its learned address", namedCert, "", x509.NewCertPool(), map[string]bool{"pbx.example": true, "127.0.0.3": true}, true},
		{"insecure name alone does not cover addresses", namedCert, "", x509.NewCertPool(), map[string]bool{"pbx.example": true}, false},
	}
	for _, tt := range tests {
		cs := tls.ConnectionState{ServerName: tt.serverName, PeerCertificates: []*x509.Certificate{tt.cert}}
		err := verifyServer(cs, tt.pool, tt.hosts)
		if (err == nil) != tt.ok {
			t.Errorf("%s: verifyServer = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestTLSHostsLearn: an insecure name's address is learned as insecure;
// a secure name's is not learned at all, so that a connection to it is
// verified for the name only.
func TestTLSHostsLearn(t *testing.T) {
	h := &tlsHosts{hosts: map[string]bool{"secure.example": false, "insecure.example": true}}
	h.learn("secure.example", "127.0.0.2")
	h.learn("insecure.example", "127.0.0.3")
	h.learn("unknown.example", "127.0.0.4")
	want := map[string]bool{"secure.example": false, "insecure.example": true, "127.0.0.3": true}
	if got := h.snapshot(); !maps.Equal(got, want) {
		t.Fatalf("hosts %v; want %v", got, want)
	}
}

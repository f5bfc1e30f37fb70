package testutil

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// StartDNS serves records (zone-file lines, e.g. "pbx.test. 60 IN NAPTR
// 10 10 \"s\" \"SIP+D2U\" \"\" _sip._udp.pbx.test.") over UDP and TCP on a
// loopback port until the test ends, and returns its address. A question
// is answered with the records of its name and type (none: an empty
// answer, NOERROR); the server is authoritative for nothing else.
func StartDNS(t testing.TB, records ...string) string {
	t.Helper()
	zone := map[dns.Question][]dns.RR{}
	for _, line := range records {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("DNS record %q: %v", line, err)
		}
		h := rr.Header()
		q := dns.Question{Name: strings.ToLower(h.Name), Qtype: h.Rrtype, Qclass: h.Class}
		zone[q] = append(zone[q], rr)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		res := new(dns.Msg)
		res.SetReply(req)
		res.Authoritative = true
		for _, q := range req.Question {
			q.Name = strings.ToLower(q.Name)
			res.Answer = append(res.Answer, zone[q]...)
		}
		w.WriteMsg(res)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: ln, Handler: handler}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() {
		udp.Shutdown()
		tcp.Shutdown()
	})
	return addr
}

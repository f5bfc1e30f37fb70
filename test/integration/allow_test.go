package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// Every 405 and 501 carries Allow (RFC 3261 §8.2.1, §21.5.2), listing the
// methods the phone handles: a REGISTER or SUBSCRIBE to a phone without a
// registrar gets 405, an unknown method 501, over UDP and TCP alike.
func TestMethodNotAllowedCarriesAllow(t *testing.T) {
	d := startDaemon(t, "[Settings]\n")
	tests := []struct {
		method string
		status string
	}{
		{"REGISTER", "SIP/2.0 405 Method Not Allowed"},
		{"SUBSCRIBE", "SIP/2.0 405 Method Not Allowed"},
		{"PUBLISH", "SIP/2.0 405 Method Not Allowed"},
		{"FROBNICATE", "SIP/2.0 501 Not Implemented"},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.method, func(t *testing.T) {
				status, hdr := sipRoundTrip(t, network, d.SIPAddr(), tt.method)
				if status != tt.status {
					t.Fatalf("%s answered %q, want %q", tt.method, status, tt.status)
				}
				allow := strings.Split(hdr.Get("Allow"), ",")
				got := map[string]bool{}
				for _, m := range allow {
					got[strings.TrimSpace(m)] = true
				}
				for _, m := range []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REFER", "INFO", "NOTIFY", "UPDATE"} {
					if !got[m] {
						t.Errorf("Allow %q lacks %s", hdr.Get("Allow"), m)
					}
				}
				if got[tt.method] {
					t.Errorf("Allow %q lists %s, which was refused", hdr.Get("Allow"), tt.method)
				}
			})
		}
	}
}

// sipRoundTrip sends one out-of-dialog request of method to addr over
// network and returns the final response's status line and headers.
func sipRoundTrip(t *testing.T, network, addr, method string) (string, textproto.MIMEHeader) {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	me := conn.LocalAddr().String()
	callID := fmt.Sprintf("allow-%s-%s", network, method)
	msg := fmt.Sprintf("%s sip:1001@%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\r\n"+
		"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: %s\r\n"+
		"CSeq: 1 %s\r\nMax-Forwards: 70\r\nContact: <sip:tester@%s;transport=%s>\r\nExpires: 60\r\n"+
		"Event: presence\r\nContent-Length: 0\r\n\r\n",
		method, addr, strings.ToUpper(network), me, callID, callID, method, me, network)
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	r := textproto.NewReader(bufio.NewReader(conn))
	for {
		status, err := r.ReadLine()
		if err != nil {
			t.Fatalf("%s over %s: no response: %v", method, network, err)
		}
		hdr, err := r.ReadMIMEHeader()
		if err != nil {
			t.Fatalf("%s over %s: response headers: %v", method, network, err)
		}
		if strings.HasPrefix(status, "SIP/2.0 1") {
			continue
		}
		return status, hdr
	}
}

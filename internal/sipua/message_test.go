package sipua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/gophone/gophone/internal/testutil"
)

// testMessages is a MessageHandler keeping messages in memory, failing
// while fail is set.
type testMessages struct {
	mu       sync.Mutex
	kept     map[string]*Message
	received []*Message
	fail     error
}

func (h *testMessages) StoreMessage(ctx context.Context, m *Message) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return false, h.fail
	}
	key := fmt.Sprint(m.CallID, m.CSeq, m.FromTag)
	if _, ok := h.kept[key]; ok {
		return false, nil
	}
	h.kept[key] = m
	return true, nil
}

func (h *testMessages) MessageReceived(m *Message) {
	h.mu.Lock()
	h.received = append(h.received, m)
	h.mu.Unlock()
}

func startTestUA(t *testing.T, h MessageHandler) *UA {
	t.Helper()
	cfg := Config{Listen: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), MaxMessageBytes: 100}
	if h != nil {
		cfg.Messages = h
	}
	u, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// exchange sends a raw SIP request over UDP and returns the response.
func exchange(t *testing.T, conn *net.UDPConn, to string, req string) *sip.Response {
	t.Helper()
	dst, _ := net.ResolveUDPAddr("udp", to)
	if _, err := conn.WriteToUDP([]byte(req), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		msg, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if res, ok := msg.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

func messageRequest(conn *net.UDPConn, to, branch, callID string, cseq int, contentType, body string) string {
	lines := []string{
		"MESSAGE sip:gophone@" + to + " SIP/2.0",
		"Via: SIP/2.0/UDP " + conn.LocalAddr().String() + ";branch=z9hG4bK" + branch,
		"From: <sip:alice@" + conn.LocalAddr().String() + ">;tag=ft1",
		"To: <sip:gophone@" + to + ">",
		"Call-ID: " + callID,
		fmt.Sprintf("CSeq: %d MESSAGE", cseq),
		"Max-Forwards: 70",
	}
	if contentType != "" {
		lines = append(lines, "Content-Type: "+contentType)
	}
	lines = append(lines, fmt.Sprintf("Content-Length: %d", len(body)), "", body)
	return strings.Join(lines, "\r\n")
}

func TestIncomingMessage(t *testing.T) {
	h := &testMessages{kept: map[string]*Message{}}
	u := startTestUA(t, h)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := []struct {
		name        string
		callID      string
		contentType string
		body        string
		fail        error
		code        int
		header      string // name: value the response must carry
		stored      int    // messages kept after the request
	}{
		{"text", "c1", "text/plain;charset=UTF-8", "Привет 👋 שלום", nil, 200, "", 1},
		{"retransmission", "c1", "text/plain;charset=UTF-8", "Привет 👋 שלום", nil, 200, "", 1},
		{"no charset", "c2", "text/plain", "hi", nil, 200, "", 2},
		{"html", "c3", "text/html", "<b>hi</b>", nil, 415, "Accept: text/plain", 2},
		{"latin-1", "c4", "text/plain; charset=ISO-8859-1", "hi", nil, 415, "Accept: text/plain", 2},
		{"too large", "c5", "text/plain", strings.Repeat("x", 101), nil, 413, "", 2},
		{"not UTF-8", "c6", "text/plain", "bad \xff", nil, 400, "", 2},
		{"store fails", "c7", "text/plain", "lost?", errors.New("disk full"), 500, "Retry-After: 5", 2},
		{"store back", "c7", "text/plain", "lost?", nil, 200, "", 3},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.mu.Lock()
			h.fail = tt.fail
			h.mu.Unlock()
			// Each a new transaction: a duplicate is found by the store.
			res := exchange(t, conn, u.Addr(), messageRequest(conn, u.Addr(), fmt.Sprint("b", i), tt.callID, 1, tt.contentType, tt.body))
			if res.StatusCode != tt.code {
				t.Fatalf("answered %d %s, want %d", res.StatusCode, res.Reason, tt.code)
			}
			if tag, _ := res.To().Params.Get("tag"); tag == "" {
				t.Errorf("no To tag in %d", res.StatusCode)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				if h := res.GetHeader(name); h == nil || h.Value() != value {
					t.Errorf("response has %s %v, want %q", name, h, value)
				}
			}
			h.mu.Lock()
			n := len(h.kept)
			h.mu.Unlock()
			if n != tt.stored {
				t.Errorf("%d messages kept, want %d", n, tt.stored)
			}
		})
	}
	// MessageReceived runs after the 200 is sent: wait for the last one.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		n := len(h.received)
		h.mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.received) != 3 || h.received[0].Text != "Привет 👋 שלום" || h.received[0].Number != "alice" {
		t.Errorf("received %d: %+v", len(h.received), h.received)
	}
}

func TestMessagingDisabled(t *testing.T) {
	u := startTestUA(t, nil)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res := exchange(t, conn, u.Addr(), messageRequest(conn, u.Addr(), "b1", "d1", 1, "text/plain", "hi"))
	if res.StatusCode != 405 {
		t.Fatalf("answered %d, want 405", res.StatusCode)
	}
	allow := res.GetHeader("Allow")
	if allow == nil || strings.Contains(allow.Value(), "MESSAGE") || !strings.Contains(allow.Value(), "INVITE") {
		t.Fatalf("Allow: %v", allow)
	}
}

func TestSendMessageTooLargeForUDP(t *testing.T) {
	u := startTestUA(t, nil)
	big := strings.Repeat("x", 1300)
	_, err := u.SendMessage(context.Background(), "sip:bob@127.0.0.1:9;transport=udp", big, From{User: "a", Host: "127.0.0.1"}, nil)
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("err %v, want ErrMessageTooLarge", err)
	}
}

// TestSendMessageLargeOverTCP: a message over 1300 bytes to a target that
// names no transport goes over TCP (RFC 3428 §6), from the account's AOR,
// as text/plain UTF-8.
func TestSendMessageLargeOverTCP(t *testing.T) {
	u := startTestUA(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *sip.Request, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		var buf []byte
		chunk := make([]byte, 65535)
		for {
			n, err := conn.Read(chunk)
			if err != nil {
				return
			}
			buf = append(buf, chunk[:n]...)
			msg, err := sip.ParseMessage(buf)
			if err != nil || len(msg.Body()) < 2000 {
				continue // not all of it yet
			}
			req := msg.(*sip.Request)
			got <- req
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			conn.Write([]byte(res.String()))
			return
		}
	}()
	text := strings.Repeat("Ж", 1000) // 2000 bytes
	_, err = u.SendMessage(context.Background(), "sip:bob@"+ln.Addr().String(), text, From{User: "alice", Host: "example.org", DisplayName: "Alice"}, nil)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	req := <-got
	if via := req.Via(); via == nil || via.Transport != "TCP" {
		t.Errorf("Via %v, want TCP", via)
	}
	if f := req.From(); f.Address.User != "alice" || f.Address.Host != "example.org" || f.DisplayName != "Alice" {
		t.Errorf("From %v", f)
	}
	if ct := req.ContentType(); ct == nil || ct.Value() != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type %v", ct)
	}
	if string(req.Body()) != text {
		t.Errorf("body of %d bytes, want the %d sent", len(req.Body()), len(text))
	}
}

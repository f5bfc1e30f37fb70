package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// storedMessage is one entry of `messages --json` (DESIGN §2).
type storedMessage struct {
	ID        int64  `json:"id"`
	Time      string `json:"time"`
	Direction string `json:"direction"`
	Peer      string `json:"peer"`
	Text      string `json:"text"`
	Status    string `json:"status"`
	Account   string `json:"account"`
}

// storedCall is one entry of `history --json` (DESIGN §2).
type storedCall struct {
	ID        int64   `json:"id"`
	Direction string  `json:"direction"`
	Number    string  `json:"number"`
	Name      string  `json:"name"`
	Account   string  `json:"account"`
	SIPCallID string  `json:"sipCallId"`
	Started   string  `json:"started"`
	Answered  *string `json:"answered"`
	Ended     string  `json:"ended"`
	Duration  int     `json:"duration"`
	Code      int     `json:"code"`
	Reason    string  `json:"reason"`
	Recording string  `json:"recording"`
}

func messagesJSON(t *testing.T, d *testutil.Daemon, args ...string) []storedMessage {
	t.Helper()
	out := d.MustRun(t, append([]string{"messages", "--json"}, args...)...)
	var msgs []storedMessage
	if strings.TrimSpace(out) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatalf("messages --json: %v\n%s", err, out)
	}
	return msgs
}

func historyJSON(t *testing.T, d *testutil.Daemon, args ...string) []storedCall {
	t.Helper()
	out := d.MustRun(t, append([]string{"history", "--json"}, args...)...)
	var calls []storedCall
	if strings.TrimSpace(out) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(out), &calls); err != nil {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	return calls
}

// TestDaemonsExchangeMessages: two daemons message each other both ways
// in several scripts, and a call between them; after both restart, each
// one's `messages --json` has the conversation in order with directions
// and its `history --json` the call with its duration and end code.
func TestDaemonsExchangeMessages(t *testing.T) {
	a := testutil.StartDaemon(t, gophoneBin, "[Account1]\nusername=alice\n")
	b := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n[Account1]\nusername=bob\n")
	aev, bev := a.Events(t), b.Events(t)
	toA, toB := "sip:alice@"+a.SIPAddr(), "sip:bob@"+b.SIPAddr()
	conversation := []struct {
		from, to *testutil.Daemon
		uri      string
		text     string
	}{
		{a, b, toB, "Привет, Боб! 👋"},
		{b, a, toA, "שלום עליכם — مرحبا"},
		{a, b, toB, "emoji 🎉🇺🇦👩‍💻 and \"quotes\" and a\nsecond line"},
		{b, a, toA, "ok ✓"},
		// Over RFC 3428's 1300 bytes for UDP: sent over TCP.
		{a, b, toB, strings.Repeat("Ж", 1000)},
	}
	for _, m := range conversation {
		if out := strings.TrimSpace(m.from.MustRun(t, "message", m.uri, m.text)); out != "sent" {
			t.Fatalf("message printed %q, want sent", out)
		}
		ev := bev
		if m.to == a {
			ev = aev
		}
		e := ev.WaitType(t, eventWait, "message.received", "")
		if e.Text != m.text {
			t.Fatalf("message.received text %q, want %q", e.Text, m.text)
		}
	}
	// A call from A to B that lasts a moment.
	call := strings.TrimSpace(a.MustRun(t, "dial", toB))
	aev.WaitType(t, eventWait, "call.established", call)
	time.Sleep(1500 * time.Millisecond) // the call's length, not a wait for a state
	a.MustRun(t, "hangup", call)
	aev.WaitType(t, eventWait, "call.ended", call)
	bev.WaitType(t, eventWait, "call.ended", "")
	// A second call still up when A closes: Close hangs it up, and both
	// ends write it to the history before they close their databases.
	call2 := strings.TrimSpace(a.MustRun(t, "dial", toB))
	aev.WaitType(t, eventWait, "call.established", call2)

	a.Restart(t)
	bev.WaitType(t, eventWait, "call.ended", "")
	b.Restart(t)

	for _, side := range []struct {
		name      string
		d         *testutil.Daemon
		peer      string
		callDir   string
		callPeer  string
		callEnded string
	}{
		{"alice", a, "bob", "outgoing", "bob", "local hangup"},
		{"bob", b, "alice", "incoming", "alice", "remote hangup"},
	} {
		msgs := messagesJSON(t, side.d)
		if len(msgs) != len(conversation) {
			t.Fatalf("%s: %d messages after restart, want %d: %+v", side.name, len(msgs), len(conversation), msgs)
		}
		for i, m := range conversation {
			got := msgs[i]
			want := "in"
			if m.from == side.d {
				want = "out"
			}
			if got.Text != m.text || got.Direction != want || got.Peer != side.peer || got.Account != "1" {
				t.Errorf("%s: message %d = %+v, want %q %s peer %s", side.name, i, got, m.text, want, side.peer)
			}
			if wantStatus := map[string]string{"in": "received", "out": "sent"}[want]; got.Status != wantStatus {
				t.Errorf("%s: message %d status %q, want %q", side.name, i, got.Status, wantStatus)
			}
			if _, err := time.Parse(time.RFC3339, got.Time); err != nil {
				t.Errorf("%s: message %d time %q: %v", side.name, i, got.Time, err)
			}
			if i > 0 && got.ID <= msgs[i-1].ID {
				t.Errorf("%s: messages not oldest first: %+v", side.name, msgs)
			}
		}
		if with := messagesJSON(t, side.d, "--with", side.peer, "--limit", "1"); len(with) != 1 || with[0].Text != conversation[len(conversation)-1].text {
			t.Errorf("%s: messages --with %s --limit 1 = %+v", side.name, side.peer, with)
		}
		if none := messagesJSON(t, side.d, "--with", "nobody"); len(none) != 0 {
			t.Errorf("%s: messages --with nobody = %+v", side.name, none)
		}

		calls := historyJSON(t, side.d)
		if len(calls) != 2 {
			t.Fatalf("%s: history after restart = %+v, want two calls", side.name, calls)
		}
		if last := calls[0]; last.Direction != side.callDir || last.Code != 200 || last.Reason != side.callEnded ||
			last.SIPCallID == calls[1].SIPCallID || last.ID <= calls[1].ID {
			t.Errorf("%s: the call ended by Close, newest first: %+v", side.name, last)
		}
		c := calls[1]
		if c.Direction != side.callDir || c.Number != side.callPeer || c.Code != 200 || c.Reason != side.callEnded || c.SIPCallID == "" || c.Answered == nil {
			t.Errorf("%s: history entry %+v", side.name, c)
			continue
		}
		answered, _ := time.Parse(time.RFC3339, *c.Answered)
		ended, _ := time.Parse(time.RFC3339, c.Ended)
		if c.Duration < 1 || c.Duration != int(ended.Sub(answered).Round(time.Second)/time.Second) {
			t.Errorf("%s: duration %d s, answered %s ended %s", side.name, c.Duration, *c.Answered, c.Ended)
		}
		if h := historyJSON(t, side.d, "--number", side.callPeer, "--limit", "1"); len(h) != 1 || h[0].ID != calls[0].ID {
			t.Errorf("%s: history --number %s --limit 1 = %+v", side.name, side.callPeer, h)
		}
		if h := historyJSON(t, side.d, "--number", "nobody"); len(h) != 0 {
			t.Errorf("%s: history --number nobody = %+v", side.name, h)
		}
	}
	// The plain forms print a line per entry.
	// The third message's own newline is shown on its line.
	if out := a.MustRun(t, "messages"); len(strings.Split(strings.TrimSpace(out), "\n")) != len(conversation) {
		t.Errorf("messages printed:\n%s", out)
	}
	if out := b.MustRun(t, "history"); !strings.Contains(out, "incoming alice") {
		t.Errorf("history printed:\n%s", out)
	}
}

// rawMessage sends one MESSAGE over UDP from a socket of the test and
// returns the final response.
func rawMessage(t *testing.T, to, callID, contentType, body string) string {
	t.Helper()
	return sendRaw(t, to, func(local string) string {
		return strings.Join([]string{
			"MESSAGE sip:gophone@" + to + " SIP/2.0",
			"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID,
			"From: <sip:tester@" + local + ">;tag=t1",
			"To: <sip:gophone@" + to + ">",
			"Call-ID: " + callID,
			"CSeq: 1 MESSAGE",
			"Max-Forwards: 70",
			"Content-Type: " + contentType,
			fmt.Sprintf("Content-Length: %d", len(body)),
			"", body}, "\r\n")
	})
}

// sendRaw sends the request req(local address) over UDP from a socket of
// the test and returns the final response.
func sendRaw(t *testing.T, to string, req func(local string) string) string {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, _ := net.ResolveUDPAddr("udp", to)
	if _, err := conn.WriteToUDP([]byte(req(conn.LocalAddr().String())), dst); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("no final response to MESSAGE: %v", err)
		}
		if res := string(buf[:n]); !strings.HasPrefix(res, "SIP/2.0 1") {
			return res
		}
	}
}

// TestMessageRefused: a MESSAGE gophone does not take is answered with the
// right status and stored nowhere.
func TestMessageRefused(t *testing.T) {
	on := testutil.StartDaemon(t, gophoneBin, "")
	off := testutil.StartDaemon(t, gophoneBin, "[Settings]\ndisableMessaging=1\n")
	tests := []struct {
		name        string
		d           *testutil.Daemon
		contentType string
		body        string
		status      string
		header      string // a header line the response must have
	}{
		{"html", on, "text/html", "<b>hi</b>", "SIP/2.0 415 ", `(?mi)^Accept: text/plain\r$`},
		{"json", on, "application/json", `{"a":1}`, "SIP/2.0 415 ", `(?mi)^Accept: text/plain\r$`},
		{"too large", on, "text/plain", strings.Repeat("x", 17<<10), "SIP/2.0 413 ", ""},
		{"disabled", off, "text/plain", "hi", "SIP/2.0 405 ", `(?mi)^Allow: [^\r]*\bINVITE\b[^\r]*\r$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rawMessage(t, tt.d.SIPAddr(), "refused-"+strings.ReplaceAll(tt.name, " ", "-"), tt.contentType, tt.body)
			if !strings.HasPrefix(res, tt.status) {
				t.Fatalf("answered:\n%s\nwant %s", res, tt.status)
			}
			if tt.header != "" && !regexp.MustCompile(tt.header).MatchString(res) {
				t.Errorf("response lacks %s:\n%s", tt.header, res)
			}
			if regexp.MustCompile(`(?mi)^Allow:.*MESSAGE`).MatchString(res) {
				t.Errorf("a refusal offers MESSAGE in Allow:\n%s", res)
			}
		})
	}
	for _, d := range []*testutil.Daemon{on, off} {
		if msgs := messagesJSON(t, d); len(msgs) != 0 {
			t.Errorf("refused messages were stored: %+v", msgs)
		}
	}
	// A plain text one is taken.
	if res := rawMessage(t, on.SIPAddr(), "taken", "text/plain; charset=utf-8", "fine"); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("text/plain answered:\n%s", res)
	}
	if msgs := messagesJSON(t, on); len(msgs) != 1 || msgs[0].Text != "fine" || msgs[0].Peer != "tester" {
		t.Fatalf("messages = %+v", msgs)
	}
}

// TestMessageTimeout: a MESSAGE to an address that never answers fails
// with 408 once Timer F (64·T1 = 32 s) has run, after sipgo's Timer E
// retransmissions only (RFC 3261 §17.1.2.2: at most 11 over UDP, all of the
// one transaction; gophone adds no retries of its own).
func TestMessageTimeout(t *testing.T) {
	t.Parallel()
	d := testutil.StartDaemon(t, gophoneBin, "")
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	type datagram struct {
		at     time.Time
		branch string
	}
	got := make(chan []datagram, 1)
	go func() {
		var seen []datagram
		buf := make([]byte, 65535)
		branchRE := regexp.MustCompile(`(?mi)^Via:[^\r\n]*branch=([^;\r\n]+)`)
		for {
			n, _, err := sink.ReadFromUDP(buf)
			if err != nil {
				got <- seen
				return
			}
			if strings.HasPrefix(string(buf[:n]), "MESSAGE ") {
				branch := ""
				if m := branchRE.FindSubmatch(buf[:n]); m != nil {
					branch = string(m[1])
				}
				seen = append(seen, datagram{time.Now(), branch})
			}
		}
	}()
	start := time.Now()
	r := d.RunCLI("message", "sip:nobody@"+sink.LocalAddr().String(), "anyone there?")
	elapsed := time.Since(start)
	// Whatever is still on its way after the outcome counts too.
	time.Sleep(2 * time.Second)
	sink.Close()
	seen := <-got

	if r.Exit == 0 || !strings.Contains(r.Stderr, "failed: 408") {
		t.Fatalf("message to a silent address: %s", r)
	}
	if elapsed < 31*time.Second || elapsed > 36*time.Second {
		t.Errorf("outcome after %v, want Timer F's 32 s", elapsed)
	}
	if len(seen) < 2 || len(seen)-1 > 11 {
		t.Fatalf("%d MESSAGE datagrams (%d retransmissions), want the first and 1..11 retransmissions", len(seen), len(seen)-1)
	}
	for _, dg := range seen {
		if dg.branch == "" || dg.branch != seen[0].branch {
			t.Fatalf("MESSAGEs of more than one transaction (branches %q and %q): gophone retried on its own", seen[0].branch, dg.branch)
		}
	}
	if last := seen[len(seen)-1].at.Sub(start); last > elapsed {
		t.Errorf("a retransmission %v after the start, after the outcome at %v", last, elapsed)
	}
	t.Logf("outcome after %v; %d retransmissions", elapsed, len(seen)-1)
	msgs := messagesJSON(t, d)
	if len(msgs) != 1 || msgs[0].Status != "failed" || msgs[0].Direction != "out" {
		t.Fatalf("messages = %+v, want the one failed", msgs)
	}
}

// TestMessageFloodKilled: SIPp sends 2000 MESSAGEs; the daemon is killed
// with SIGKILL in the middle and started again while SIPp retransmits.
// Every MESSAGE SIPp saw answered 2xx is in `messages`, and none twice
// (retransmissions answered after the restart included).
func TestMessageFloodKilled(t *testing.T) {
	const total = 2000
	d := testutil.StartDaemon(t, gophoneBin, "")
	sipp := testutil.NewSIPp(t, "testdata/sipp/uac_message_flood.xml")
	sipp.Start(d.SIPAddr(), 3*time.Minute, "-m", fmt.Sprint(total), "-r", "200", "-l", "400",
		"-max_non_invite_retrans", "10")
	// Kill once part of the flood is stored.
	for deadline := time.Now().Add(time.Minute); ; {
		if msgs := messagesJSON(t, d, "--limit", "1"); len(msgs) == 1 && msgs[0].ID >= total/3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flood did not get a third of the way in a minute")
		}
		time.Sleep(100 * time.Millisecond) // polling interval
	}
	d.KillRestart(t)
	r := sipp.Wait()

	answered := answeredCallIDs(r.Messages)
	// Duplicates across the restart: MESSAGEs answered before the kill
	// sent again as they were (a new transaction now), from a socket of
	// the test; each is answered 2xx and not stored again.
	via := regexp.MustCompile(`(?m)^(Via: SIP/2\.0/UDP )[^;]+;`)
	replayed := 0
	for id, req := range sentRequests(r.Messages) {
		if !answered[id] || replayed == 50 {
			continue
		}
		replayed++
		res := sendRaw(t, d.SIPAddr(), func(local string) string { return via.ReplaceAllString(req, "${1}"+local+";") })
		if !strings.HasPrefix(res, "SIP/2.0 200 ") {
			t.Fatalf("a duplicate of %s after the restart was answered:\n%s", id, res)
		}
	}
	if len(answered) < total/2 {
		t.Fatalf("SIPp saw only %d of %d MESSAGEs answered 2xx\n%s", len(answered), total, r)
	}
	textRE := regexp.MustCompile(`^flood (\d+) (\S+)$`)
	stored := map[string]int{}
	for _, m := range messagesJSON(t, d) {
		if sm := textRE.FindStringSubmatch(strings.TrimSpace(m.Text)); sm != nil {
			stored[sm[2]]++
		} else {
			t.Errorf("unexpected message %+v", m)
		}
	}
	lost, twice := 0, 0
	for id := range answered {
		if stored[id] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("MESSAGE %s was answered 2xx but is not stored", id)
			}
		}
	}
	for id, n := range stored {
		if n > 1 {
			twice++
			if twice <= 5 {
				t.Errorf("MESSAGE %s stored %d times", id, n)
			}
		}
	}
	t.Logf("%d answered 2xx, %d stored, %d lost, %d stored twice; sipp exit %d", len(answered), len(stored), lost, twice, r.ExitCode)
}

// answeredCallIDs returns the Call-IDs of the 2xx responses in a SIPp
// -trace_msg log.
func answeredCallIDs(log string) map[string]bool {
	ids := map[string]bool{}
	callID := regexp.MustCompile(`(?mi)^\s*(?:Call-ID|i)\s*:\s*(\S+)`)
	for _, block := range strings.Split(log, "-----------------------------------------------") {
		if !strings.Contains(block, "message received") {
			continue
		}
		idx := strings.Index(block, "SIP/2.0 2")
		if idx < 0 {
			continue
		}
		if m := callID.FindStringSubmatch(block[idx:]); m != nil {
			ids[m[1]] = true
		}
	}
	return ids
}

// sentRequests returns the first MESSAGE request of each Call-ID in a SIPp
// -trace_msg log, as it was sent.
func sentRequests(log string) map[string]string {
	reqs := map[string]string{}
	callID := regexp.MustCompile(`(?mi)^Call-ID:\s*(\S+)`)
	for _, block := range strings.Split(log, "-----------------------------------------------") {
		_, msg, ok := strings.Cut(block, "message sent")
		if !ok {
			continue
		}
		_, msg, ok = strings.Cut(msg, "\n\n")
		if !ok || !strings.HasPrefix(msg, "MESSAGE ") {
			continue
		}
		msg = strings.TrimSuffix(msg, "\n")
		if m := callID.FindStringSubmatch(msg); m != nil {
			if _, seen := reqs[m[1]]; !seen {
				reqs[m[1]] = msg
			}
		}
	}
	return reqs
}

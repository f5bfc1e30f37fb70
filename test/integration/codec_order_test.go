package integration

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestCodecOrderIsOfferOrder: the codecs of the config, in their order, are
// the INVITE's offer as SIPp receives it: [Settings] audioCodecs (gophone's
// comma list), an account's own codecs, which win over audioCodecs, and the
// default PCMU, PCMA; telephone-event follows the audio codecs. The names
// are written as RFC 3551 and RFC 4733 register them.
func TestCodecOrderIsOfferOrder(t *testing.T) {
	for _, tt := range []struct {
		name, ini string
		want      []string
	}{
		{"default", "", []string{"PCMU", "PCMA", "telephone-event"}},
		{"audioCodecs", "[Settings]\naudioCodecs=PCMA,PCMU\n", []string{"PCMA", "PCMU", "telephone-event"}},
		{"account codecs", "[Account1]\nusername=alice\ncodecs=PCMA,PCMU\n", []string{"PCMA", "PCMU", "telephone-event"}},
		{"account codecs over audioCodecs", "[Settings]\naudioCodecs=PCMA PCMU\n[Account1]\nusername=alice\ncodecs=PCMU\n",
			[]string{"PCMU", "telephone-event"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t, tt.ini)
			ev := d.Events(t)
			uas := oneCallUAS(t, "uas.xml")
			id := dial(t, d, "sip:1001@"+uas.Addr())
			ev.WaitType(t, eventWait, "call.established", id)
			d.MustRun(t, "hangup", id)
			r := uas.Wait()
			wantSIPpOK(t, "uas.xml", r)
			for _, m := range sippMessages(r.Messages) {
				if m.received && strings.HasPrefix(m.firstLine(), "INVITE ") {
					// Encoding names are case-insensitive (RFC 4855 §3),
					// but written as registered, for peers that compare
					// them exactly.
					if got := offeredCodecs(t, m.body()); strings.Join(got, " ") != strings.Join(tt.want, " ") {
						t.Errorf("offer %v, want %v\n%s", got, tt.want, m.body())
					}
					return
				}
			}
			t.Fatalf("SIPp received no INVITE:\n%s", r.Messages)
		})
	}
}

// offeredCodecs returns the encoding names of an SDP's first m=audio line,
// in its order, from the a=rtpmap lines or, for a static payload type
// without one, RFC 3551's table.
func offeredCodecs(t *testing.T, sdp string) []string {
	t.Helper()
	static := map[string]string{"0": "PCMU", "8": "PCMA", "9": "G722"}
	names := map[string]string{}
	var pts []string
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		if rest, ok := strings.CutPrefix(l, "m=audio "); ok && pts == nil {
			if f := strings.Fields(rest); len(f) > 2 {
				pts = f[2:] // after the port and the protocol
			}
		}
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			if pt, enc, ok := strings.Cut(rest, " "); ok {
				name, _, _ := strings.Cut(enc, "/")
				names[pt] = name
			}
		}
	}
	if pts == nil {
		t.Fatalf("no m=audio line in the offer:\n%s", sdp)
	}
	var codecs []string
	for _, pt := range pts {
		name := names[pt]
		if name == "" {
			name = static[pt]
		}
		if name == "" {
			name = "?" + pt
		}
		codecs = append(codecs, name)
	}
	return codecs
}

// TestCodecsPerAccount: each account's own codecs, in its order, are what
// a call for it offers and what a call to it is answered from, not the
// first account's. Calls placed for each account of a daemon reach a SIPp
// UAS; SIPp calls each account of a second daemon (bob has a server, so
// that calls to bob are his) offering PCMU, PCMA and G722.
func TestCodecsPerAccount(t *testing.T) {
	accounts := "[Account1]\nusername=alice\ncodecs=PCMA\n[Account2]\nusername=bob\ncodecs=PCMU,G722\n"
	want := map[string][]string{
		"alice": {"PCMA", "telephone-event"},
		"bob":   {"PCMU", "G722", "telephone-event"},
	}
	t.Run("offer", func(t *testing.T) {
		d := startDaemon(t, accounts)
		ev := d.Events(t)
		for i, user := range []string{"alice", "bob"} {
			uas := oneCallUAS(t, "uas.xml")
			out := d.MustRun(t, "dial", "--account", strconv.Itoa(i+1), "sip:1001@"+uas.Addr())
			id := strings.TrimSpace(out)
			ev.WaitType(t, eventWait, "call.established", id)
			d.MustRun(t, "hangup", id)
			r := uas.Wait()
			wantSIPpOK(t, "uas.xml", r)
			offer, ok := sippBody(r.Messages, true, "INVITE ")
			if !ok {
				t.Fatalf("SIPp received no INVITE:\n%s", r.Messages)
			}
			if got := offeredCodecs(t, offer); !slices.Equal(got, want[user]) {
				t.Errorf("call for %s offered %v, want %v\n%s", user, got, want[user], offer)
			}
		}
	})
	t.Run("answer", func(t *testing.T) {
		server := "127.0.0.1:" + strconv.Itoa(testutil.FreeUDPPort(t)) // nobody: bob stays unregistered
		d := startDaemon(t, "[Settings]\nautoAnswer=all\n"+strings.Replace(accounts, "username=bob\n", "username=bob\nserver="+server+"\n", 1))
		for _, user := range []string{"alice", "bob"} {
			uac := testutil.NewSIPp(t, scenario(t, "uac_offer_g711_g722.xml"))
			r := uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", user)
			wantSIPpOK(t, "uac_offer_g711_g722.xml", r)
			answer, ok := sippBody(r.Messages, true, "SIP/2.0 200 ")
			if !ok {
				t.Fatalf("SIPp received no 200 with SDP:\n%s", r.Messages)
			}
			if got := offeredCodecs(t, answer); !slices.Equal(got, want[user]) {
				t.Errorf("call to %s answered %v, want %v\n%s", user, got, want[user], answer)
			}
		}
	})
}

// sippBody returns the SDP body of the first message SIPp received (or
// sent) whose first line starts with prefix and which has one.
func sippBody(log string, received bool, prefix string) (string, bool) {
	for _, m := range sippMessages(log) {
		if m.received == received && strings.HasPrefix(m.firstLine(), prefix) && strings.Contains(m.body(), "m=audio") {
			return m.body(), true
		}
	}
	return "", false
}

package integration

import (
	"strings"
	"testing"
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

package integration

import (
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestDaemonReceivesInfoDTMF: SIP INFO digits in an established call,
// application/dtmf-relay and application/dtmf, are answered 200 and
// reported as dtmf.received with method info; a malformed body is
// answered 400 and reports nothing (DESIGN §8).
func TestDaemonReceivesInfoDTMF(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_info_dtmf.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	call := ev.WaitType(t, eventWait, "call.established", "").Call
	ev.WaitType(t, eventWait, "call.ended", call)
	wantSIPpOK(t, "uac_info_dtmf.xml", uac.Wait())
	var digits string
	for _, e := range ev.All() {
		if e.Type == "dtmf.received" && e.Call == call {
			digits += e.Digit
			if e.Method != "info" {
				t.Errorf("dtmf.received %s with method %q, want info", e.Digit, e.Method)
			}
		}
	}
	if digits != "57" {
		t.Errorf("dtmf.received digits %q, want 57", digits)
	}
}

// TestDaemonAutoAnswerByHeader: with autoAnswer=header, an INVITE with
// X-AUTOANSWER: true, Call-Info answer-after=0 or Answer-Mode: Auto
// (RFC 5373) is answered (DESIGN §3, §8).
func TestDaemonAutoAnswerByHeader(t *testing.T) {
	for _, tc := range []struct{ name, header string }{
		{"X-AUTOANSWER", "X-AUTOANSWER: true"},
		{"Call-Info", "Call-Info: <sip:x>;answer-after=0"},
		{"Answer-Mode", "Answer-Mode: Auto"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, "[Settings]\nautoAnswer=header\n")
			ev := d.Events(t)
			uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer_header.xml"))
			uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001", "-key", "aa_header", tc.header)
			call := ev.WaitType(t, eventWait, "call.incoming", "").Call
			ev.WaitType(t, eventWait, "call.answered", call)
			ev.WaitType(t, eventWait, "call.ended", call)
			wantSIPpOK(t, "uac_autoanswer_header.xml", uac.Wait())
		})
	}
}

// TestDaemonHeaderAutoAnswerNeedsHeader: with autoAnswer=header, an INVITE
// without an auto-answer header rings until the caller's CANCEL, which the
// daemon answers 200 and 487; the call ends with 487.
func TestDaemonHeaderAutoAnswerNeedsHeader(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=header\n")
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_ringing_cancel.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
	call := ev.WaitType(t, eventWait, "call.incoming", "").Call
	end := ev.WaitFor(t, eventWait, func(e testutil.Event) bool {
		return e.Call == call && (e.Type == "call.ended" || e.Type == "call.answered" || e.Type == "call.established")
	})
	if end.Type != "call.ended" || end.Code != 487 {
		t.Errorf("call %s: got %s code %d %q, want call.ended 487 without an answer", call, end.Type, end.Code, end.Reason)
	}
	wantSIPpOK(t, "uac_ringing_cancel.xml", uac.Wait())
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("calls left after the CANCEL: %+v", st.Calls)
	}
}

// TestDaemonCallerFromPAI: the caller's identity is taken from
// P-Asserted-Identity when present (RFC 3325, DESIGN §8).
func TestDaemonCallerFromPAI(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	ev := d.Events(t)
	uac := testutil.NewSIPp(t, scenario(t, "uac_autoanswer_header.xml"))
	uac.Start(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001",
		"-key", "aa_header", `P-Asserted-Identity: "Alice" <sip:5551234@example.com>`)
	in := ev.WaitType(t, eventWait, "call.incoming", "")
	if in.Number != "5551234" || in.Name != "Alice" {
		t.Errorf("call.incoming number %q name %q, want 5551234 and Alice (from P-Asserted-Identity); event %s",
			in.Number, in.Name, strings.TrimSpace(string(in.Raw)))
	}
	ev.WaitType(t, eventWait, "call.ended", in.Call)
	wantSIPpOK(t, "uac_autoanswer_header.xml", uac.Wait())
}

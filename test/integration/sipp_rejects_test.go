package integration

import (
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestDaemonRejectsWhatItCannotDo: an INVITE requiring an unknown option tag
// gets 420, one with no codec in common 488; neither leaves a call behind.
func TestDaemonRejectsWhatItCannotDo(t *testing.T) {
	d := startDaemon(t, "[Settings]\nautoAnswer=all\n")
	for _, name := range []string{"uac_require_420.xml", "uac_no_codec_488.xml"} {
		uac := testutil.NewSIPp(t, scenario(t, name))
		r := uac.Run(d.SIPAddr(), sippLimit, "-m", "1", "-s", "1001")
		wantSIPpOK(t, name, r)
		if t.Failed() {
			t.Logf("%s messages:\n%s", name, lastLines(r.Messages, 40))
		}
	}
	if st := d.Status(t); len(st.Calls) != 0 {
		t.Errorf("calls left: %+v", st.Calls)
	}
}

package integration

import (
	"strconv"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestSIPpScenarios checks every scenario in testdata/sipp by running it
// against a SIPp peer playing the daemon's part (testdata/sipp/selftest, or
// another of the scenarios): each pair must complete its calls with exit 0
// on both sides and no unexpected messages.
func TestSIPpScenarios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		uas, uac string
		calls    int
	}{
		{"autoanswer", "uas.xml", "uac_autoanswer.xml", 5},
		{"delayed_offer", "uas.xml", "uac_delayed_offer.xml", 1},
		{"media_move", "uas.xml", "uac_media_move.xml", 1},
		{"uas_bye", "uas_bye.xml", "selftest/peer_uac_wait_bye.xml", 1},
		{"glare_491", "uac_glare_491.xml", "selftest/peer_uac_glare.xml", 1},
		{"crossed_cancel", "uac_crossed_cancel.xml", "selftest/peer_uac_cancel.xml", 1},
		{"ood_refer", "selftest/peer_uas_refer403.xml", "ood_refer.xml", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const limit = 30 * time.Second
			n := strconv.Itoa(tc.calls)
			uas := testutil.NewSIPp(t, scenario(t, tc.uas))
			uas.Start("", limit, "-m", n)
			uas.WaitReady(t)

			uac := testutil.NewSIPp(t, scenario(t, tc.uac))
			res := uac.Run(uas.Addr(), limit, "-m", n, "-r", "10", "-s", "1001")
			if !res.OK() || res.ErrLog != "" {
				t.Errorf("%s: %s", tc.uac, res)
			}
			if got := res.Stat("SuccessfulCall(C)"); got != n {
				t.Errorf("%s: %s successful calls, want %s", tc.uac, got, n)
			}
			if res := uas.Wait(); !res.OK() || res.ErrLog != "" {
				t.Errorf("%s: %s", tc.uas, res)
			}
		})
	}
}

package integration

import (
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/testutil"
)

// TestOfferIPv6ToIPv4Daemon: an offer whose media address is IPv6 (c=IN
// IP6), sent to a daemon whose sockets are IPv4 only, is refused with 488
// rather than answered 200 into a one-way call.
func TestOfferIPv6ToIPv4Daemon(t *testing.T) {
	d := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	r := newRawCaller(t, d, "ip6-offer")
	r.inviteSDP(t, "", "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"+
		"m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	status, toTag := r.final(t, eventWait)
	if !strings.HasPrefix(status, "SIP/2.0 488") {
		t.Fatalf("answer to a c=IN IP6 offer: %q; want 488", status)
	}
	r.ack(t, toTag)
}

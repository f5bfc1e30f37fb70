package integration

import (
	"bytes"
	"context"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// TestDaemonHonoursPtime: a far end answering with a=ptime:40 gets 40 ms
// packets (320 bytes of PCMU) every 40 ms, as captured on the wire.
func TestDaemonHonoursPtime(t *testing.T) {
	d := startDaemon(t, "[Settings]\naudioInput=tone:440\n")
	ev := d.Events(t)
	uas := oneCallUAS(t, "uas_ptime40.xml")

	id := dial(t, d, "sip:1001@"+uas.Addr())
	ev.WaitType(t, eventWait, "call.established", id)

	bin := testutil.RequireTool(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// 25 packets toward SIPp's media port, then tshark stops by itself.
	cmd := exec.CommandContext(ctx, bin, "-i", "lo", "-l", "-n", "-c", "25",
		"-f", "udp and dst port "+strconv.Itoa(uas.MediaPort),
		"-T", "fields", "-e", "frame.time_epoch", "-e", "udp.length")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, errb.String())
	}
	var times []float64
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		ts, _ := strconv.ParseFloat(f[0], 64)
		n, _ := strconv.Atoi(f[1])
		// UDP length = 8 (UDP header) + 12 (RTP header) + 320 (40 ms of PCMU).
		if n != 8+12+320 {
			t.Fatalf("RTP packet with UDP length %d, want %d (40 ms of PCMU)", n, 8+12+320)
		}
		times = append(times, ts)
	}
	if len(times) < 20 {
		t.Fatalf("captured %d packets, want 25", len(times))
	}
	var gaps []float64
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, (times[i]-times[i-1])*1000)
	}
	sort.Float64s(gaps)
	if median := gaps[len(gaps)/2]; median < 35 || median > 45 {
		t.Errorf("median packet interval %.1f ms, want 40 ms", median)
	}
	d.MustRun(t, "hangup", id)
	ev.WaitType(t, eventWait, "call.ended", id)
	wantSIPpOK(t, "uas_ptime40.xml", uas.Wait())
}

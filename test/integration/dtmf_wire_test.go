package integration

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gophone/gophone/internal/testutil"
)

// rtpEvent is one RFC 4733 packet seen on the wire.
type rtpEvent struct {
	at       time.Time
	event    int
	end      bool
	duration int // in timestamp units (8 kHz)
}

// captureRTPEvents runs tshark on the loopback interface while f runs and
// returns the RFC 4733 packets it saw sent from the daemon d's RTP ports
// (the machine's other tests send some too); it fails the test if there
// were none.
func captureRTPEvents(t *testing.T, d *testutil.Daemon, f func()) []rtpEvent {
	t.Helper()
	evs, stderr := captureRTPEventsOrNone(t, d, f)
	if len(evs) == 0 {
		t.Fatalf("tshark saw no RFC 4733 packets; stderr:\n%s", stderr)
	}
	return evs
}

// captureRTP is captureRTPEvents for a test that may expect none.
func captureRTP(t *testing.T, d *testutil.Daemon, f func()) []rtpEvent {
	t.Helper()
	evs, _ := captureRTPEventsOrNone(t, d, f)
	return evs
}

// captureRTPEventsOrNone runs tshark on the loopback interface while f
// runs and returns the RFC 4733 packets from d's RTP ports it saw and
// tshark's stderr.
func captureRTPEventsOrNone(t *testing.T, d *testutil.Daemon, f func()) ([]rtpEvent, string) {
	t.Helper()
	rows, stderr := captureFields(t, d, "rtpevent && rtp.p_type == 101", f,
		"frame.time_epoch", "rtpevent.event_id", "rtpevent.end_of_event", "rtpevent.duration", "rtp.p_type", "udp.srcport")
	var evs []rtpEvent
	for _, f := range rows {
		sec, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		id, _ := strconv.Atoi(f[1])
		dur, _ := strconv.Atoi(f[3])
		end := f[2] == "1" || strings.EqualFold(f[2], "true")
		evs = append(evs, rtpEvent{at: time.Unix(0, int64(sec*1e9)), event: id, end: end, duration: dur})
	}
	return evs, stderr
}

// captureFields runs tshark on the loopback interface while f runs and
// returns, for each RTP packet sent from d's RTP ports that matches the
// display filter, the fields asked for (rows with all of them), and
// tshark's stderr.
func captureFields(t *testing.T, d *testutil.Daemon, filter string, f func(), fields ...string) ([][]string, string) {
	t.Helper()
	args := []string{"-f", "udp src portrange " + d.RTPPorts(t),
		"-o", "rtp.heuristic_rtp:TRUE", "-Y", filter, "-T", "fields"}
	for _, field := range fields {
		args = append(args, "-e", field)
	}
	out, stderr := tsharkOnLo(t, f, args...)
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if row := strings.Split(strings.TrimSpace(line), "\t"); len(row) >= len(fields) {
			rows = append(rows, row)
		}
	}
	return rows, stderr
}

// tsharkOnLo runs tshark on the loopback interface with args while f runs
// and returns its output and its stderr.
func tsharkOnLo(t *testing.T, f func(), args ...string) (stdout, stderr string) {
	t.Helper()
	bin := testutil.RequireTool(t, "tshark")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-i", "lo", "-l", "-n"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	// tshark says "Capturing on" when its dumpcap has opened the
	// interface, and (Debian 12's) "Capture started" once packets flow;
	// under load the two were seen far apart, with the digits sent in
	// between and lost. Wait for the second, or 2 s after the first for a
	// tshark that does not say it.
	ready := make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var errText strings.Builder
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			mu.Lock()
			errText.WriteString(sc.Text() + "\n")
			mu.Unlock()
			switch {
			case strings.Contains(sc.Text(), "Capture started"):
				once.Do(func() { close(ready) })
			case strings.Contains(sc.Text(), "Capturing on"):
				time.AfterFunc(2*time.Second, func() { once.Do(func() { close(ready) }) })
			}
		}
		once.Do(func() { close(ready) })
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("tshark did not start capturing")
	}
	f()
	// Let the last packets reach the capture, then stop tshark (our own pid).
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	return out.String(), errText.String()
}

// TestDTMFOnTheWire checks RFC 4733 timing as sent: digits of at least
// 100 ms, three end packets each, and a ',' pause of 500 ms (at least
// 450 ms from the end of one digit to the start of the next).
func TestDTMFOnTheWire(t *testing.T) {
	a := testutil.StartDaemon(t, gophoneBin, "[Settings]\nautoAnswer=all\n")
	b := testutil.StartDaemon(t, gophoneBin, "")
	aev := a.Events(t)
	b.MustRun(t, "dial", "sip:alice@"+a.SIPAddr())
	call := aev.WaitType(t, eventWait, "call.established", "").Call

	evs := captureRTPEvents(t, b, func() {
		b.MustRun(t, "senddtmf", "12#,4")
		for i := 0; i < 4; i++ {
			aev.WaitType(t, eventWait, "dtmf.received", call)
		}
	})

	type digit struct {
		event      int
		start, end time.Time
		ends       int
		duration   int
	}
	var digits []*digit
	for _, e := range evs {
		if len(digits) == 0 || digits[len(digits)-1].event != e.event || digits[len(digits)-1].ends > 0 && !e.end {
			digits = append(digits, &digit{event: e.event, start: e.at})
		}
		d := digits[len(digits)-1]
		if e.end {
			if d.ends == 0 {
				d.end = e.at
			}
			d.ends++
			d.duration = e.duration
		}
	}
	var ids []int
	for _, d := range digits {
		ids = append(ids, d.event)
	}
	if want := []int{1, 2, 11, 4}; !slices.Equal(ids, want) {
		t.Fatalf("events on the wire = %v, want %v", ids, want)
	}
	for _, d := range digits {
		if d.duration < 800 {
			t.Errorf("event %d lasted %d samples, want at least 800 (100 ms)", d.event, d.duration)
		}
		if d.ends != 3 {
			t.Errorf("event %d had %d end packets, want 3", d.event, d.ends)
		}
	}
	for i := 1; i < len(digits); i++ {
		gap := digits[i].start.Sub(digits[i-1].end)
		if gap < 50*time.Millisecond {
			t.Errorf("gap before event %d = %v, want at least 50ms", digits[i].event, gap)
		}
	}
	if gap := digits[3].start.Sub(digits[2].end); gap < 450*time.Millisecond {
		t.Errorf("pause between # and 4 = %v, want at least 450ms", gap)
	}
}

package sipua

import (
	"errors"
	"net"
	"time"

	"github.com/emiago/diago/media"
	"github.com/pion/rtcp"
)

// rtcpPollEvery is how many packet times pass between two reads of a call's
// RTCP socket (2 s at 20 ms): the far end reports every few seconds, and the
// kernel stamps each report with its arrival, so reading late costs no
// precision.
const rtcpPollEvery = 100

// stampedReader is a call's RTCP socket that the media clock reads
// (Linux: rtpsock_linux.go); elsewhere diago reads it. arrival is when the
// kernel received the packet read last.
type stampedReader interface {
	arrival() time.Time
}

// remoteStats is what the far end's RTCP reports say of the stream we send
// (RFC 3550 §6.4.1).
type remoteStats struct {
	rtt      time.Duration // round-trip time; 0 until a report echoes one of our SRs
	lost     int64         // cumulative packets lost
	jitterMs float64       // interarrival jitter
}

// pollRTCP reads the reports waiting on the call's RTCP socket every
// rtcpPollEvery turns: diago takes them for the reports it sends (LSR,
// DLSR), the call for its remote statistics.
func (m *mediaLoop) pollRTCP(sc *scratch) {
	if m.rtcpTurns++; m.rtcpTurns < rtcpPollEvery {
		return
	}
	m.rtcpTurns = 0
	sess, rs := m.med.MediaSession(), m.med.RTPSession()
	if sess == nil || rs == nil {
		return
	}
	r, ok := sess.RTCPConn().(stampedReader)
	if !ok {
		return
	}
	codec, _, _ := m.sessionCodecs()
	var pkts [8]rtcp.Packet
	for range maxDrain {
		n, err := sess.ReadRTCP(sc.rx, pkts[:])
		if err != nil {
			if isNoPacket(err) || errors.Is(err, net.ErrClosed) {
				return
			}
			m.c.u.log.Debug("reading RTCP", "call", m.c.sipCallID, "error", err)
			continue // a bad report: the next may be good
		}
		at, ssrc := r.arrival(), rs.WriteStats().SSRC
		for _, p := range pkts[:n] {
			rs.ReadRTCPPacketAt(p, at)
			m.takeRTCP(p, at, ssrc, codec.SampleRate)
		}
	}
}

// followRTCP has diago hand the call the reports it reads itself, where
// the media clock does not read the RTCP socket (not Linux).
func (m *mediaLoop) followRTCP() {
	rs := m.med.RTPSession()
	if rs == nil {
		return
	}
	if _, ok := rs.Sess.RTCPConn().(stampedReader); ok {
		return
	}
	rs.OnReadRTCP(func(p rtcp.Packet, _ media.RTPReadStats) {
		codec, _ := negotiated(rs.Sess.CommonCodecs())
		m.takeRTCP(p, time.Now(), rs.WriteStats().SSRC, codec.SampleRate)
	})
}

// takeRTCP takes the reception report on our stream (SSRC ssrc, RTP clock
// rate) in a sender or receiver report that arrived at at.
func (m *mediaLoop) takeRTCP(p rtcp.Packet, at time.Time, ssrc, rate uint32) {
	var reports []rtcp.ReceptionReport
	switch p := p.(type) {
	case *rtcp.SenderReport:
		reports = p.Reports
	case *rtcp.ReceiverReport:
		reports = p.Reports
	}
	for _, rr := range reports {
		if rr.SSRC != ssrc || ssrc == 0 {
			continue
		}
		m.mu.Lock()
		m.remote.lost = cumulativeLost(rr.TotalLost)
		if rate != 0 {
			m.remote.jitterMs = float64(rr.Jitter) * 1000 / float64(rate)
		}
		if rtt, ok := roundTrip(at, rr.LastSenderReport, rr.Delay); ok {
			m.remote.rtt = rtt
		}
		m.mu.Unlock()
	}
}

// cumulativeLost reads a report's 24-bit cumulative loss, which is signed:
// duplicates make it negative (RFC 3550 §6.4.1).
func cumulativeLost(v uint32) int64 { return int64(int32(v<<8) >> 8) }

// roundTrip computes the round-trip time from a reception report that
// arrived at arrival: A - LSR - DLSR in the middle 32 bits of NTP time
// (RFC 3550 §6.4.1), LSR being our SR's NTP time as the far end echoes it.
// It reports false when the report echoes no SR (LSR 0) or the result is
// negative (a clock stepped between our SR and its answer).
func roundTrip(arrival time.Time, lsr, dlsr uint32) (time.Duration, bool) {
	if lsr == 0 {
		return 0, false
	}
	a := uint32(media.NTPTimestamp(arrival) >> 16)
	d := a - lsr - dlsr
	if int32(d) < 0 {
		return 0, false
	}
	return time.Duration(uint64(d) * uint64(time.Second) >> 16), true
}

// remoteReport returns what the far end last reported of our stream.
func (m *mediaLoop) remoteReport() remoteStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.remote
}

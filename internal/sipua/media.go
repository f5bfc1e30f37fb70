package sipua

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	gaudio "github.com/gophone/gophone/internal/audio"
	"github.com/gophone/gophone/internal/jitter"
)

const (
	frameSamples = 160 // 20 ms at 8 kHz
	frameBytes   = frameSamples * 2
	framePeriod  = 20 * time.Millisecond
	// maxPtime bounds the packet time a far end may ask for (a=ptime).
	maxPtime = 60 * time.Millisecond
	// dtmfLength is how long a digit lasts, dtmfGap the audio between two.
	dtmfLength = 120 * time.Millisecond
	dtmfGap    = 60 * time.Millisecond
	// dtmfEndCopies is how often the end packet is sent (RFC 4733 §2.5.1.4).
	dtmfEndCopies = 3
	// maxDrain bounds the packets taken from a call's socket per packet
	// time: a flood on one call's port cannot stall the others; the
	// kernel drops what does not fit its socket buffer.
	maxDrain = 64
)

// samplesIn is the number of 8 kHz samples in d.
func samplesIn(d time.Duration) int { return int(d / (time.Second / 8000)) }

// packetsIn is how many packets of period p cover at least d.
func packetsIn(d, p time.Duration) int { return int((d + p - 1) / p) }

// dtmfJob is a string of digits to send on the media clock, as RFC 4733
// events or (inband) as tones in the audio, with its reply channel.
type dtmfJob struct {
	digits string
	pause  time.Duration
	inband bool
	done   chan error
}

// mediaLoop sends and receives a call's RTP.
type mediaLoop struct {
	c    *Call
	med  *diago.DialogMedia
	au   CallAudio
	jobs chan dtmfJob

	// Read at every turn, kept here rather than read from the Call or the
	// jobs channel, whose memory is out of the CPU's cache by then.
	pace       pacer        // on the media clock
	ended      atomic.Bool  // the call ended: leave the clock at the next turn
	remoteHeld atomic.Bool  // the far end holds the call: send no audio
	queued     atomic.Int32 // DTMF jobs put on jobs and not yet taken
	ptime      atomic.Int64 // the far end's packet time (a=ptime), as a time.Duration

	mu     sync.Mutex
	rx     rxStats
	remote remoteStats

	// The jitter buffer's figures for Status, stored after each playout.
	bufferMs, late, concealed atomic.Int64

	// Owned by the media clock's goroutine (turn and what it calls).
	codecs    codecCache
	coders    coders
	dtmf      dtmfSend
	rtcpTurns int // turns since the RTCP socket was last read
	// The receive path while the call's audio is listened to (made when
	// first needed, emptied when no longer listened to).
	jb        *jitter.Buffer
	plc       jitter.Concealer
	jbInUse   bool
	owed      time.Duration // received audio a turn owes the sink (playout)
	rxDur     time.Duration // how long the far end's last decoded packet lasted
	sentAudio bool          // the first audio packet (marker bit) has gone
	det       dtmfDetector
	inband    *gaudio.DTMFDetector // made when first needed: while no telephone-event is negotiated
}

// scratch is a media clock shard's working memory, lent to each sender
// for its turn: the buffers a packet passes through, which nothing keeps
// after the turn. A shard's one set stays in the CPU's cache; a set per
// call would be out of it again at every turn, a packet time and a
// thousand calls later.
type scratch struct {
	pcm   []byte // a packet time of the media source's audio
	enc   []byte // the same, encoded
	rx    []byte // a received packet
	rxPCM []byte // its audio, decoded
}

// maxPayload bounds an encoded packet: a packet time of G.711 or G.722
// (a byte a sample), or an Opus packet (at most 1275 bytes, RFC 6716 §3.4).
const maxPayload = 1500

func newScratch() *scratch {
	return &scratch{pcm: make([]byte, samplesIn(maxPtime)*2), enc: make([]byte, max(samplesIn(maxPtime), maxPayload)),
		rx: make([]byte, media.RTPBufSize), rxPCM: make([]byte, opusMaxSamples*2)}
}

// period is the call's packet time: the far end's a=ptime as the
// negotiated codec can carry it (codecKind.packetTime). It runs on the
// media clock, which owns m.codecs.
func (m *mediaLoop) period() time.Duration {
	return m.codecs.kind.packetTime(time.Duration(m.ptime.Load()))
}

// setPtime follows the far end's a=ptime (RFC 4566), 10-60 ms in 10 ms steps.
func (m *mediaLoop) setPtime(sdp []byte) {
	m.ptime.Store(int64(sdpPtime(sdp)))
}

// rxStats follows received audio packets for loss and jitter (RFC 3550 A.3, A.8).
type rxStats struct {
	started     bool
	firstSeq    uint32
	highestSeq  uint32 // extended
	received    int64
	lastTransit uint32
	jitter      float64 // in timestamp units
}

func (s *rxStats) update(seq uint16, ts uint32, arrival time.Time) {
	// Transit times are compared modulo 2^32, so RTP timestamp wrap is harmless.
	transit := uint32(arrival.UnixNano()/int64(time.Second/8000)) - ts
	if !s.started {
		s.started = true
		s.firstSeq, s.highestSeq = uint32(seq), uint32(seq)
		s.lastTransit = transit
		s.received = 1
		return
	}
	s.received++
	ext := s.highestSeq&^0xffff | uint32(seq)
	if int32(ext-s.highestSeq) < -0x8000 {
		ext += 0x10000
	}
	if ext > s.highestSeq {
		s.highestSeq = ext
	}
	d := int64(int32(transit - s.lastTransit))
	if d < 0 {
		d = -d
	}
	s.lastTransit = transit
	s.jitter += (float64(d) - s.jitter) / 16
}

// counts returns the RTP packets sent (as diago's RTP session counts them
// for RTCP) and received, and the received ones lost. Nothing on the
// media path counts for it.
func (m *mediaLoop) counts() (sent, received, lost int64) {
	lost, _ = m.stats()
	m.mu.Lock()
	received = m.rx.received
	m.mu.Unlock()
	if s := m.med.RTPSession(); s != nil {
		sent = int64(s.WriteStats().PacketsCount)
	}
	return sent, received, lost
}

func (m *mediaLoop) stats() (lost int64, jitterMs float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.rx.started {
		return 0, 0
	}
	expected := int64(m.rx.highestSeq-m.rx.firstSeq) + 1
	if expected > m.rx.received {
		lost = expected - m.rx.received
	}
	return lost, m.rx.jitter / 8
}

func (c *Call) startMedia(med *diago.DialogMedia) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.med = med
	if c.media != nil || c.ended {
		return
	}
	m := &mediaLoop{c: c, med: med, au: c.u.cfg.Media.CallAudio(c.sipCallID), jobs: make(chan dtmfJob, 16)}
	m.pace.s = m
	m.remoteHeld.Store(c.remoteHold)
	m.setPtime(c.remoteSDP())
	m.sessionCodecs() // the first turn's packet time depends on the codec
	m.followRTCP()
	c.media = m
	c.u.clock.add(&m.pace)
}

// stop takes the call's RTP off the media clock.
func (m *mediaLoop) stop() { m.ended.Store(true) }

// sessionCodecs returns the negotiated audio codec and telephone-event
// codec. It runs for every packet, on the media clock: the answer is
// kept until diago's session or its codec list changes (an offer/answer).
func (m *mediaLoop) sessionCodecs() (audioCodec, dtmf media.Codec, ok bool) {
	sess := m.med.MediaSession()
	if sess == nil {
		m.codecs = codecCache{}
		return audioCodec, dtmf, false
	}
	list := sess.CommonCodecs()
	if c := &m.codecs; c.valid && len(list) == len(c.list) && (len(list) == 0 || &list[0] == &c.list[0]) {
		return c.audio, c.dtmf, c.kind != kindNone
	}
	m.codecs = newCodecCache(list)
	return m.codecs.audio, m.codecs.dtmf, m.codecs.kind != kindNone
}

// codecCache is sessionCodecs' answer for one codec list.
type codecCache struct {
	valid       bool
	list        []media.Codec
	audio, dtmf media.Codec
	kind        codecKind // the audio codec's
	// recv maps the payload types the far end may send audio with (every
	// audio codec of the answer, RFC 3264 §5.1) to their kinds.
	recv []ptKind
}

type ptKind struct {
	pt   uint8
	kind codecKind
}

func newCodecCache(list []media.Codec) codecCache {
	c := codecCache{valid: true, list: list}
	c.audio, c.dtmf = negotiated(list)
	c.kind = kindOf(c.audio)
	for _, codec := range list {
		if k := kindOf(codec); k != kindNone {
			c.recv = append(c.recv, ptKind{codec.PayloadTypeRecv(), k}, ptKind{codec.PayloadType, k})
		}
	}
	return c
}

// recvKind returns the kind of a received audio payload type, kindNone
// for one the answer did not carry.
func (c *codecCache) recvKind(pt uint8) codecKind {
	for _, r := range c.recv {
		if r.pt == pt {
			return r.kind
		}
	}
	return kindNone
}

// negotiated picks the audio codec (the first) and the telephone-event
// codec from a session's common codecs: the first at the audio's RTP clock
// rate (RFC 4733 §2.1), else the first.
func negotiated(common []media.Codec) (audioCodec, dtmf media.Codec) {
	for _, c := range common {
		if !isTelephoneEvent(c) {
			audioCodec = c
			break
		}
	}
	for _, c := range common {
		if isTelephoneEvent(c) && (dtmf.SampleRate == 0 || c.SampleRate == audioCodec.SampleRate && dtmf.SampleRate != audioCodec.SampleRate) {
			dtmf = c
		}
	}
	return audioCodec, dtmf
}

// isTelephoneEvent reports whether c is RFC 4733's telephone-event; it runs
// for every packet, so it does not allocate.
func isTelephoneEvent(c media.Codec) bool {
	const name = "telephone-event"
	return len(c.Name) >= len(name) && strings.EqualFold(c.Name[:len(name)], name)
}

// turn is the call's turn on the media clock, once per packet time: it
// takes the RTP that arrived since (drain), then sends one packet, an
// audio frame from the media source or, while digits are being sent, the
// next step of their RFC 4733 events. It runs on the clock's goroutine,
// which owns the sender's state.
func (m *mediaLoop) turn(sc *scratch) bool {
	if m.ended.Load() {
		return false
	}
	// The codec first: the packet time depends on it (an offer/answer
	// may just have changed it).
	m.sessionCodecs()
	period := m.period()
	listening := m.au.Listening()
	m.drain(sc, listening)
	m.playout(sc, listening, period)
	m.pollRTCP(sc)
	if m.dtmf.job == nil && m.queued.Load() > 0 {
		select {
		case job := <-m.jobs:
			m.queued.Add(-1)
			m.dtmf = dtmfSend{job: &job, plan: planDigits(job, period)}
		default:
		}
	}
	if m.dtmf.job != nil {
		m.sendDTMFStep(period, sc)
		return true
	}
	m.sendAudio(period, sc, 0, 0)
	return true
}

// leave ends the sender when it leaves the clock (the call ended).
func (m *mediaLoop) leave() {
	if m.dtmf.job != nil {
		m.dtmf.job.done <- errors.New("call ended")
		m.dtmf = dtmfSend{}
	}
}

// sendAudio sends one frame of the media source in the session's codec
// (m.codecs, which the turn refreshed), unless the far end holds the call.
// With a DTMF key for tone, the frame is that key's tones instead, from
// sample offset of the tone on (the source is read all the same, so that
// it keeps time).
func (m *mediaLoop) sendAudio(period time.Duration, sc *scratch, tone byte, offset int) {
	kind, codec := m.codecs.kind, m.codecs.audio
	if kind == kindNone {
		return
	}
	samples := samplesIn(period)
	pcm := sc.pcm[:samples*2]
	m.au.ReadFrame(pcm)
	if tone != 0 {
		gaudio.DTMFTone(pcm, tone, offset)
	}
	m.au.FrameSent(pcm)
	if m.remoteHeld.Load() {
		return // the far end does not want our audio (recvonly/inactive)
	}
	n, err := m.coders.encode(kind, sc.enc, pcm)
	if err != nil {
		return
	}
	m.med.RTPPacketWriter.WriteSamples(sc.enc[:n], uint32(samples)*kind.ticks(), !m.sentAudio, codec.PayloadType)
	m.sentAudio = true
}

// dtmfSend is a DTMF job being sent: the steps left, one per packet time.
type dtmfSend struct {
	job  *dtmfJob
	plan []dtmfStep
	te   media.Codec // the telephone-event codec of the digit being sent
}

// dtmfStep is what one packet time of a DTMF job sends: an audio frame (a
// gap or a ',' pause), a frame of a digit's tones, or one RFC 4733 packet
// of a digit.
type dtmfStep struct {
	audio   bool
	tone    byte    // in-band: the key whose tones the frame carries
	offset  int     // in-band: the frame's first sample, from the tone's start
	start   bool    // the digit's first packet (marker bit)
	payload [4]byte // event, E|volume, duration
	advance uint32  // how far the RTP clock moves after the packet
}

// planDigits lays out digits as RFC 4733 events for packet time period:
// each digit dtmfLength long (one packet per packet time, the duration
// growing), its end packet sent three times, digits dtmfGap apart, ',' a
// pause (RFC 4733 §2.5). An inband job's digits are audio frames of their
// tones for as long, with the same gaps.
func planDigits(job dtmfJob, period time.Duration) []dtmfStep {
	var plan []dtmfStep
	audio := func(d time.Duration) {
		for range packetsIn(d, period) {
			plan = append(plan, dtmfStep{audio: true})
		}
	}
	step := samplesIn(period)
	packets := packetsIn(dtmfLength, period)
	for i, r := range job.digits {
		if r == ',' {
			audio(job.pause)
			continue
		}
		if i > 0 {
			audio(dtmfGap)
		}
		if job.inband {
			for p := range packets {
				plan = append(plan, dtmfStep{tone: byte(toUpper(r)), offset: p * step})
			}
			continue
		}
		event, _ := dtmfEvent(r) // SendDTMF checked the digits
		for p := 1; p <= packets+dtmfEndCopies; p++ {
			dur := uint16(min(p, packets) * step)
			s := dtmfStep{start: p == 1, payload: [4]byte{event, 10, byte(dur >> 8), byte(dur)}} // volume -10 dBm0
			if p > packets {
				s.payload[1] |= 0x80 // E: the end
			}
			if p == packets+dtmfEndCopies {
				s.advance = uint32(p * step) // the audio clock moves on past the event
			}
			plan = append(plan, s)
		}
	}
	return plan
}

// sendDTMFStep sends the next step of the DTMF job and answers the job
// when it is done or fails.
func (m *mediaLoop) sendDTMFStep(period time.Duration, sc *scratch) {
	d := &m.dtmf
	s := d.plan[0]
	d.plan = d.plan[1:]
	var err error
	switch {
	case s.audio:
		m.sendAudio(period, sc, 0, 0)
	case s.tone != 0:
		m.sendAudio(period, sc, s.tone, s.offset)
	case s.start && !m.checkTelephoneEvent():
		err = ErrNoTelephoneEvent
	default:
		// The plan counts 8 kHz samples: the event's duration is in its
		// own clock's units, the stream's clock moves at the audio's.
		if t := d.te.SampleRate / 8000; t > 1 {
			dur := (uint16(s.payload[2])<<8 | uint16(s.payload[3])) * uint16(t)
			s.payload[2], s.payload[3] = byte(dur>>8), byte(dur)
		}
		s.advance *= m.codecs.kind.ticks()
		if _, werr := m.med.RTPPacketWriter.WriteSamples(s.payload[:], s.advance, s.start, d.te.PayloadType); werr != nil {
			err = fmt.Errorf("sending DTMF: %w", werr)
		}
		pcm := sc.pcm[:samplesIn(period)*2]
		clear(pcm)
		m.au.FrameSent(pcm) // the event is silence in the call's audio
	}
	if err != nil || len(d.plan) == 0 {
		d.job.done <- err
		*d = dtmfSend{}
	}
}

// checkTelephoneEvent looks up the negotiated telephone-event codec for
// the digit about to be sent.
func (m *mediaLoop) checkTelephoneEvent() bool {
	_, te, ok := m.sessionCodecs()
	m.dtmf.te = te
	return ok && te.SampleRate != 0
}

// drain takes every RTP packet waiting on the call's socket (which never
// blocks, see rtpSocket): audio goes to the jitter buffer if the call is
// listened to, RFC 4733 events become DTMF events, each digit once
// (duplicates share the RTP timestamp). The sender runs it once per packet
// time, so receiving costs no goroutine of its own and no wake-up per
// packet.
func (m *mediaLoop) drain(sc *scratch, listening bool) {
	buf, pcm := sc.rx, sc.rxPCM
	r := m.med.RTPPacketReader
	pushed := false
	var jit float64
	for range maxDrain {
		n, err := r.Read(buf)
		if err != nil {
			if !isNoPacket(err) && !errors.Is(err, net.ErrClosed) {
				m.c.u.log.Debug("reading RTP", "call", m.c.sipCallID, "error", err)
				continue // a bad packet: the next may be good
			}
			break
		}
		hdr := r.PacketHeader
		_, te, ok := m.sessionCodecs()
		if !ok {
			continue
		}
		if te.SampleRate != 0 && hdr.PayloadType == te.PayloadTypeRecv() || hdr.PayloadType == te.PayloadType && te.SampleRate != 0 {
			if d, ok := m.det.feed(hdr.Timestamp, buf[:n]); ok {
				m.c.emit(Event{Kind: EventDTMF, Digit: d, Method: DTMFRFC4733})
			}
			if listening {
				m.buffer().Push(hdr.SequenceNumber, hdr.PayloadType, nil) // a packet time without audio, not a loss
			}
			continue
		}
		kind := m.codecs.recvKind(hdr.PayloadType)
		ts := hdr.Timestamp
		if t := kind.ticks(); t != 1 { // the received codec's clock
			// Jitter is kept in 8 kHz units (they wrap 6 times as
			// often: a one-packet blip every 25 hours of a call).
			ts /= t
		}
		m.mu.Lock()
		m.rx.update(hdr.SequenceNumber, ts, time.Now())
		jit = m.rx.jitter
		m.mu.Unlock()
		if kind == kindNone {
			// Comfort noise, or a payload type the answer did not carry.
			if listening {
				m.buffer().Push(hdr.SequenceNumber, hdr.PayloadType, nil)
			}
			continue
		}
		if listening {
			// Decoded at its playout, where in-band digits are listened
			// for too: G.722's and Opus's decoders keep state, so a
			// packet is decoded once.
			m.buffer().Push(hdr.SequenceNumber, hdr.PayloadType, buf[:n])
			pushed = true
			continue
		}
		// Without telephone-event the far end can send digits only as
		// tones: listen for them in its audio, as it arrives.
		if te.SampleRate != 0 {
			continue
		}
		if kind != kindOpus && n > len(pcm)/2 {
			n = len(pcm) / 2 // a byte a sample: what fits
		}
		if got, err := m.coders.decode(kind, pcm, buf[:n]); err == nil {
			m.detectTones(pcm[:got])
		}
	}
	if pushed {
		m.jb.SetJitter(jit / float64(samplesIn(m.rxPacket())))
	}
}

// buffer returns the jitter buffer, made on first use.
func (m *mediaLoop) buffer() *jitter.Buffer {
	if m.jb == nil {
		m.jb = jitter.New()
	}
	m.jbInUse = true
	return m.jb
}

// playout writes one packet time of the far end's audio to the media sink
// from the jitter buffer: the packet due, decoded, or the concealment of a
// missing one. While the call is not listened to the buffer is emptied and
// left alone.
func (m *mediaLoop) playout(sc *scratch, listening bool, period time.Duration) {
	if !m.jbInUse {
		return
	}
	if !listening {
		m.jb.Reset()
		m.jbInUse = false
		m.owed = 0
		m.bufferMs.Store(0)
		return
	}
	// The far end's packets need not last what ours do (its a=ptime asks
	// for ours; Opus may send 60 ms frames): play out as much received
	// audio as a turn lasts, whatever the packets it comes in.
	m.owed += period
	for range maxPlayout {
		if m.owed <= 0 {
			break
		}
		d := m.playOne(sc)
		if d <= 0 {
			m.owed = 0 // nothing to play yet
			break
		}
		m.owed -= d
	}
	late, concealed, _ := m.jb.Stats()
	m.bufferMs.Store(int64(m.jb.Depth()) * m.rxPacket().Milliseconds())
	m.late.Store(late)
	m.concealed.Store(concealed)
}

// maxPlayout bounds the packets one turn plays out (a turn of 60 ms
// against the far end's 10 ms packets takes 6).
const maxPlayout = 8

// rxPacket is how long the far end's packets last: what the last one
// decoded held, else our own packet time.
func (m *mediaLoop) rxPacket() time.Duration {
	if m.rxDur > 0 {
		return m.rxDur
	}
	return m.period()
}

// playOne writes the next packet time from the jitter buffer to the media
// sink (the packet due, decoded, or the concealment of a missing one) and
// returns how long it lasts; 0 before playout has started.
func (m *mediaLoop) playOne(sc *scratch) time.Duration {
	n, pt, kind := m.jb.Pop(sc.rx)
	var out []byte
	switch kind {
	case jitter.None:
		return 0
	case jitter.Packet:
		if n == 0 { // no audio in this packet time (an RFC 4733 event)
			out = sc.rxPCM[:min(m.plc.FrameBytes(), len(sc.rxPCM))]
			clear(out)
			break
		}
		// The packet's payload type says how it decodes.
		kind := m.codecs.recvKind(pt)
		if kind != kindOpus {
			n = min(n, len(sc.rxPCM)/2) // a byte a sample: what fits
		}
		got, err := m.coders.decode(kind, sc.rxPCM, sc.rx[:n])
		if err != nil || got == 0 {
			break
		}
		out = sc.rxPCM[:got]
		m.rxDur = time.Duration(got/2) * time.Second / 8000
		m.plc.Received(out)
		if _, te, _ := m.sessionCodecs(); te.SampleRate == 0 {
			m.detectTones(out) // no telephone-event: digits come as tones
		}
	case jitter.Missing:
		out = sc.rxPCM[:min(m.plc.FrameBytes(), len(sc.rxPCM))]
		if !m.plc.Conceal(out) {
			out = nil
		}
	}
	if len(out) > 0 {
		m.au.WriteFrame(out)
	}
	return m.rxPacket()
}

// dtmfDetector turns RFC 4733 packets into digits, each once: all packets
// of one event (the updates of a long-held digit, the three end packets and
// any retransmission) share its RTP timestamp, and a later event has a
// later timestamp, so a packet not newer than the last event is a repeat.
type dtmfDetector struct {
	seen   bool
	lastTS uint32
}

// feed takes one telephone-event payload and reports a new digit.
func (d *dtmfDetector) feed(ts uint32, payload []byte) (string, bool) {
	if len(payload) < 4 || d.seen && int32(ts-d.lastTS) <= 0 {
		return "", false
	}
	digit := dtmfDigit(payload[0])
	if digit == "" {
		return "", false // not a DTMF event (e.g. a tone or flash)
	}
	d.seen, d.lastTS = true, ts
	return digit, true
}

// canEncode reports whether gophone can send audio with codec.
func canEncode(codec media.Codec) bool { return kindOf(codec) != kindNone }

const dtmfChars = "0123456789*#ABCD"

func dtmfEvent(r rune) (byte, error) {
	i := strings.IndexRune(dtmfChars, toUpper(r))
	if i < 0 {
		return 0, fmt.Errorf("%q is not a DTMF digit (want 0-9 * # A-D or ,)", r)
	}
	return byte(i), nil
}

func dtmfDigit(ev byte) string {
	if int(ev) < len(dtmfChars) {
		return dtmfChars[ev : ev+1]
	}
	return ""
}

func toUpper(r rune) rune {
	if r >= 'a' && r <= 'd' {
		return r - 'a' + 'A'
	}
	return r
}

// ValidDTMF reports whether s holds only DTMF digits and ',' pauses.
func ValidDTMF(s string) error {
	if s == "" {
		return errors.New("no digits")
	}
	for _, r := range s {
		if r == ',' {
			continue
		}
		if _, err := dtmfEvent(r); err != nil {
			return err
		}
	}
	return nil
}

package sipua

import (
	"container/heap"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/emiago/diago/media"

	"github.com/gophone/gophone/internal/codec"
	"github.com/gophone/gophone/internal/jitter"
)

// BenchmarkDTMFDetector feeds one RFC 4733 event as it arrives on the wire:
// a start packet that yields the digit, then two updates and three end
// packets with the same timestamp that are dropped as repeats.
func BenchmarkDTMFDetector(b *testing.B) {
	start := []byte{5, 10, 0, 160}
	update := []byte{5, 10, 1, 64}
	end := []byte{5, 0x8a, 3, 192}
	var d dtmfDetector
	var ts uint32
	b.ReportAllocs()
	for b.Loop() {
		ts += 1600
		if _, ok := d.feed(ts, start); !ok {
			b.Fatal("no digit")
		}
		d.feed(ts, update)
		d.feed(ts, update)
		d.feed(ts, end)
		d.feed(ts, end)
		d.feed(ts, end)
	}
}

// tonePCM returns 20 ms of a 440 Hz tone as 16-bit little-endian PCM.
func tonePCM() []byte {
	pcm := make([]byte, frameBytes)
	for i := range frameSamples {
		v := int16(10000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	return pcm
}

// frameCodecs are the codecs this build sends audio with.
func frameCodecs() []media.Codec {
	cs := []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, codecG722}
	if codec.HaveOpus {
		cs = append(cs, media.CodecAudioOpus)
	}
	return cs
}

// BenchmarkEncodeFrame encodes 20 ms of PCM (160 samples) with each codec,
// as a call's turn on the media clock does.
func BenchmarkEncodeFrame(b *testing.B) {
	pcm := tonePCM()
	for _, c := range frameCodecs() {
		b.Run(c.Name, func(b *testing.B) {
			var cs coders
			dst := make([]byte, maxPayload)
			b.SetBytes(frameBytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.encode(kindOf(c), dst, pcm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeFrame decodes a 20 ms payload of each codec.
func BenchmarkDecodeFrame(b *testing.B) {
	pcm := tonePCM()
	for _, c := range frameCodecs() {
		b.Run(c.Name, func(b *testing.B) {
			var cs coders
			payload := make([]byte, maxPayload)
			n, err := cs.encode(kindOf(c), payload, pcm)
			if err != nil {
				b.Fatal(err)
			}
			payload = payload[:n]
			dst := make([]byte, opusMaxSamples*2)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.decode(kindOf(c), dst, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecvKind looks up the kind of received audio packets, as drain
// does for each, in an answer of G.722, PCMU and PCMA: the first, the last,
// and comfort noise (not carried).
func BenchmarkRecvKind(b *testing.B) {
	c := newCodecCache([]media.Codec{codecG722, media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000})
	b.ReportAllocs()
	for b.Loop() {
		if c.recvKind(9) != kindG722 || c.recvKind(8) != kindPCMA || c.recvKind(13) != kindNone {
			b.Fatal("wrong kind")
		}
	}
}

// BenchmarkRxStatsUpdate follows a paced packet stream with some arrival
// jitter, wrapping sequence numbers as it goes.
func BenchmarkRxStatsUpdate(b *testing.B) {
	var s rxStats
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var seq uint16
	var ts uint32
	var i int64
	b.ReportAllocs()
	for b.Loop() {
		i++
		seq++
		ts += frameSamples
		s.update(seq, ts, base.Add(time.Duration(i)*framePeriod+time.Duration(i%3)*time.Millisecond))
	}
	if s.received != i {
		b.Fatalf("received %d of %d", s.received, i)
	}
}

// BenchmarkSDPIsHold scans a typical SDP offer with a sendonly attribute.
func BenchmarkSDPIsHold(b *testing.B) {
	body := audioOffer("\r\n", "192.0.2.1", "a=ptime:20", "a=sendonly")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if !sdpIsHold(body) {
			b.Fatal("not hold")
		}
	}
}

// BenchmarkClockPerPacket measures the media clock's own work per packet
// (heap order, calling the sender) with 1000 calls of 20 ms
// ptime on one shard; the senders send nothing, so the kernel's share of a
// real packet is left out. Each op advances the clock by the time between
// two packets of 1000 calls (20 µs), so one op is about one packet.
func BenchmarkClockPerPacket(b *testing.B) {
	const calls = 1000
	var now time.Duration
	var s clockShard
	counts := make([]*testSender, 0, calls)
	for i := range calls {
		p, sent := testPacer(framePeriod, 0, now)
		p.due = now + time.Duration(i)*framePeriod/calls // spread, the worst case for the heap
		heap.Push(&s.due, s.key(p))
		counts = append(counts, sent)
	}
	step := framePeriod / calls
	b.ReportAllocs()
	for b.Loop() {
		now += step
		s.sendDue(now)
	}
	packets := 0
	for _, s := range counts {
		packets += s.sent
	}
	b.ReportMetric(float64(packets)/float64(b.N), "packets/op")
}

// BenchmarkPlayoutPerPacket is what a received audio packet costs while the
// call is listened to (drain and playout): into the jitter buffer, out,
// decoded and kept for concealment. Before the jitter buffer it was
// BenchmarkDecodeFrame's decode alone; while the call's audio goes nowhere
// (null output) none of it runs.
func BenchmarkPlayoutPerPacket(b *testing.B) {
	jb := jitter.New()
	var plc jitter.Concealer
	var cs coders
	payload, pcm := make([]byte, frameSamples), make([]byte, frameBytes)
	encodeUlaw(payload, make([]byte, frameBytes))
	sc := newScratch()
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		jb.Push(seq, 0, payload)
		seq++
		n, _, kind := jb.Pop(sc.rx)
		if kind != jitter.Packet {
			continue
		}
		got, err := cs.decode(kindPCMU, pcm, sc.rx[:n])
		if err != nil {
			b.Fatal(err)
		}
		plc.Received(pcm[:got])
	}
}

// BenchmarkPeriod is the packet time the media clock asks a call for,
// twice per packet: the far end's a=ptime as the codec takes it (Opus at
// a=ptime:50, the longest search).
func BenchmarkPeriod(b *testing.B) {
	var m mediaLoop
	m.codecs.kind = kindOpus
	m.ptime.Store(int64(50 * time.Millisecond))
	var d time.Duration
	for b.Loop() {
		d += m.period()
	}
	if d == 0 {
		b.Fatal("no packet time")
	}
}

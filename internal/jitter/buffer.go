// Package jitter is a call's receive buffer: it puts RTP packets back in
// sequence order, holds them an adaptive time (20-200 ms at 20 ms packets)
// against network jitter, and plays out one packet per packet time, saying
// when a packet is missing so that it can be concealed (see Concealer).
package jitter

import "math"

const (
	// ringSlots is how many packets the buffer can hold: more than
	// MaxPackets, so that packets ahead of a late one still fit.
	ringSlots = 32
	// slotBytes is a slot's room: 60 ms of G.711 or G.722 (the longest
	// ptime), or an Opus packet (at most 1275 bytes, RFC 6716 §3.4).
	slotBytes = 1500
	// MinPackets and MaxPackets bound the target depth: 20-200 ms at 20 ms.
	MinPackets = 1
	MaxPackets = 10
	// shrinkAfter is how many playouts in a row the buffer must hold more
	// than it needs before one packet is dropped to cut the delay.
	shrinkAfter = 50
	// lateDecay is how many playouts without a late packet lower the
	// depth that late packets raised by one packet.
	lateDecay = 250
	// maxWait is how many playouts in a row may be concealed waiting for
	// a missing packet while later ones are held: after that it is lost.
	maxWait = 1
	// growEvery is how often at most (in playouts) the buffer waits a
	// packet time, concealing, to reach a depth that grew.
	growEvery = 5
	// gapReset is how many playouts without any packet end playout: when
	// packets come again, the buffer fills to its depth first.
	gapReset = MaxPackets
)

// Kind says what a playout gives.
type Kind uint8

const (
	// None: nothing to play yet (the buffer fills before it plays).
	None Kind = iota
	// Packet: a received packet, in order.
	Packet
	// Missing: the packet due is missing (lost, or not there in time):
	// conceal it.
	Missing
)

type slot struct {
	full bool
	pt   uint8 // the payload type: a stream may change codec
	seq  uint16
	n    int
	data [slotBytes]byte
}

// Buffer reorders and delays one RTP stream. The zero value is not ready:
// use New. It is not safe for concurrent use; the counters it reports are
// read with Stats.
type Buffer struct {
	slots   [ringSlots]slot
	count   int    // packets held, all at or after next
	next    uint16 // the sequence number played next
	started bool   // next is set
	playing bool   // filled to the depth once: playout follows the clock

	jitterTarget int // depth the jitter estimate asks for, in packets
	lateFloor    int // depth late packets asked for
	sinceLate    int // playouts since the last late packet
	over         int // playouts in a row with more held than needed
	empty        int // playouts in a row with nothing held
	missing      int // playouts in a row that played no packet
	sinceGrow    int // playouts since the buffer last waited to deepen
	behind       int // packets in a row from far behind next (the stream restarted)

	late, concealed, dropped int64
}

// restartAfter is how many packets in a row from far behind (more than the
// ring holds) make the buffer follow them as a restarted stream.
const restartAfter = 3

// New returns an empty buffer.
func New() *Buffer { return &Buffer{jitterTarget: MinPackets, lateFloor: MinPackets} }

// Reset empties the buffer and forgets the stream (its counters stay).
func (b *Buffer) Reset() {
	for i := range b.slots {
		b.slots[i].full = false
	}
	b.count, b.started, b.playing, b.over, b.empty, b.missing, b.behind = 0, false, false, 0, 0, 0, 0
}

// Target is the depth the buffer plays at, in packets.
func (b *Buffer) Target() int { return max(b.jitterTarget, b.lateFloor) }

// Depth is how many packets the buffer holds.
func (b *Buffer) Depth() int { return b.count }

// Stats returns the packets that came too late to be played, the playouts
// that had to be concealed, and the packets dropped to cut the delay.
func (b *Buffer) Stats() (late, concealed, dropped int64) { return b.late, b.concealed, b.dropped }

// SetJitter sets the interarrival jitter (RFC 3550 A.8) in packets: the
// depth becomes three times it (nearly every packet in time for normally
// distributed delays) plus one packet, within MinPackets-MaxPackets.
func (b *Buffer) SetJitter(packets float64) {
	t := int(math.Ceil(3*packets)) + 1
	b.jitterTarget = min(max(t, MinPackets), MaxPackets)
}

// Push takes a received packet. A packet whose turn has passed is counted
// late and dropped; one too far ahead (the stream jumped) restarts the
// buffer on it. A packet of the stream that carries no audio (an RFC 4733
// event, which takes its sequence number from the audio's) is pushed with
// an empty payload: it plays as a Packet of length 0, a packet time of
// silence, rather than as a loss.
func (b *Buffer) Push(seq uint16, pt uint8, payload []byte) {
	if !b.started {
		b.started, b.next = true, seq
	}
	d := int16(seq - b.next)
	switch {
	case d < -ringSlots && b.behind < restartAfter-1:
		b.behind++ // far behind: a very late packet, or a restarted stream
		b.late++
		return
	case d < -ringSlots:
		// restartAfter in a row from far behind: the stream restarted
		// (a new source after a re-INVITE or a transfer) at a lower
		// sequence number; follow it rather than drop it all as late.
		b.Reset()
		b.started, b.next = true, seq
	case d < 0:
		b.behind = 0
		b.late++
		b.deepen()
		return
	case int(d) >= ringSlots:
		b.Reset()
		b.started, b.next = true, seq
	default:
		b.behind = 0
	}
	s := &b.slots[seq%ringSlots]
	if s.full {
		return // a duplicate
	}
	s.full, s.seq, s.pt = true, seq, pt
	s.n = copy(s.data[:], payload)
	b.count++
}

// Pop plays out the next packet time: a packet (its payload in dst, whose
// length it returns, and its payload type), Missing, or None before playout
// has started.
func (b *Buffer) Pop(dst []byte) (int, uint8, Kind) {
	if !b.playing {
		if b.count == 0 || b.count < b.Target() {
			if b.started && b.empty > 0 {
				b.empty++ // still in a gap that ended playout
			}
			return 0, 0, None
		}
		b.playing, b.empty = true, 0
	}
	if b.sinceLate++; b.sinceLate >= lateDecay && b.lateFloor > MinPackets {
		b.lateFloor--
		b.sinceLate = 0
	}
	if b.count == 0 {
		// Nothing held: the packet due is late or lost. Wait for it (the
		// delay grows by a packet) rather than pass it.
		if b.empty++; b.empty == 1 {
			b.deepen() // once per gap: a held call's silence is no jitter
		} else if b.empty >= gapReset {
			b.playing = false
		}
		return b.conceal(false)
	}
	b.empty = 0
	s := &b.slots[b.next%ringSlots]
	if !s.full || s.seq != b.next {
		// Packets after it are here. Unless they are the depth's worth,
		// the missing one may still come (reordered): wait for it, but
		// not so long that the concealment fades out.
		return b.conceal(b.count >= b.Target() || b.missing >= maxWait)
	}
	if b.sinceGrow++; b.count < b.Target()-1 && b.missing == 0 && b.sinceGrow >= growEvery {
		// Held less than the depth asks: wait a packet time to deepen,
		// now, rather than when the next late packet would make it.
		b.sinceGrow = 0
		return b.conceal(false)
	}
	b.shrink()
	s = &b.slots[b.next%ringSlots]
	if !s.full || s.seq != b.next {
		return b.conceal(true)
	}
	n := copy(dst, s.data[:s.n])
	s.full = false
	b.count--
	b.next++
	b.missing = 0
	return n, s.pt, Packet
}

// conceal plays out a missing packet, passing it (lost) or not (waited for).
func (b *Buffer) conceal(pass bool) (int, uint8, Kind) {
	if pass {
		b.next++
	}
	b.missing++
	b.concealed++
	return 0, 0, Missing
}

// deepen raises the depth by a packet: one came too late, or was not there
// when due. The depth comes down again by a packet every lateDecay
// playouts without.
func (b *Buffer) deepen() {
	b.sinceLate = 0
	b.lateFloor = min(max(b.lateFloor, b.Target()+1), MaxPackets)
}

// shrink drops the packet due when the buffer has held more than its depth
// needs (by two packets or more) for shrinkAfter playouts in a row: a jitter
// spike passed, and the delay it left goes.
func (b *Buffer) shrink() {
	if b.count <= b.Target()+1 {
		b.over = 0
		return
	}
	if b.over++; b.over < shrinkAfter {
		return
	}
	b.over = 0
	s := &b.slots[b.next%ringSlots]
	s.full = false
	b.count--
	b.next++
	b.dropped++
}

package jitter

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// play pops n playouts and returns what each gave: the packet's first byte
// (its sequence number's low byte in these tests), 0 for an empty packet,
// -1 Missing, -2 None.
func play(b *Buffer, n int) []int {
	var got []int
	buf := make([]byte, slotBytes)
	for range n {
		m, _, k := b.Pop(buf)
		switch k {
		case Packet:
			switch m {
			case 0:
				got = append(got, 0)
			case 1:
				got = append(got, int(buf[0]))
			default:
				panic("payload length")
			}
		case Missing:
			got = append(got, -1)
		default:
			got = append(got, -2)
		}
	}
	return got
}

func push(b *Buffer, seqs ...uint16) {
	for _, s := range seqs {
		b.Push(s, 8, []byte{byte(s)})
	}
}

func TestBufferPlayout(t *testing.T) {
	tests := []struct {
		name      string
		jitter    float64 // in packets
		pushes    [][]uint16
		want      []int
		late      int64
		concealed int64
		empty     map[uint16]bool // sequence numbers pushed without audio
	}{
		{
			name:   "in order, depth 1",
			pushes: [][]uint16{{10}, {11}, {12}},
			want:   []int{10, 11, 12},
		},
		{
			name:   "reordered within the depth",
			jitter: 0.5, // depth 3
			pushes: [][]uint16{{1}, {3}, {2}, {4}, {5}, {6}},
			want:   []int{-2, -2, 1, 2, 3, 4},
		},
		{
			name:      "a loss is concealed once the packets after it fill the depth",
			jitter:    0.3, // depth 2
			pushes:    [][]uint16{{1}, {2}, {4}, {5}, {6}, {7}},
			want:      []int{-2, 1, 2, -1, 4, 5},
			concealed: 1,
		},
		{
			name:      "a packet after its turn is late and dropped",
			pushes:    [][]uint16{{1}, {2}, {4}, {3, 5}},
			want:      []int{1, 2, -1, 4},
			late:      1,
			concealed: 1,
		},
		{
			name:   "duplicates are played once",
			pushes: [][]uint16{{1, 1}, {2, 2}, {3}},
			want:   []int{1, 2, 3},
		},
		{
			name:   "a packet without audio (an RFC 4733 event) is no loss",
			pushes: [][]uint16{{1}, {2}, {3}, {4}},
			empty:  map[uint16]bool{2: true, 3: true},
			want:   []int{1, 0, 0, 4},
		},
		{
			name:   "sequence numbers wrap",
			pushes: [][]uint16{{65534}, {65535}, {0}, {1}},
			want:   []int{254, 255, 0, 1},
		},
		{
			name:   "a jump restarts the buffer on the new stream",
			pushes: [][]uint16{{1}, {2}, {5000}, {5001}},
			want:   []int{1, 2, 136, 137},
		},
		{
			name:      "a restart far behind is followed from its third packet",
			pushes:    [][]uint16{{5000}, {5001}, {100}, {101}, {102}, {103}},
			want:      []int{136, 137, -1, -1, -2, 102}, // refilled to the depth the underruns deepened
			late:      2,
			concealed: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New()
			b.SetJitter(tt.jitter)
			var got []int
			for _, p := range tt.pushes {
				for _, seq := range p {
					if tt.empty[seq] {
						b.Push(seq, 8, nil)
						continue
					}
					push(b, seq)
				}
				got = append(got, play(b, 1)...)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("played %v, want %v", got, tt.want)
			}
			late, concealed, _ := b.Stats()
			if late != tt.late || concealed != tt.concealed {
				t.Fatalf("late %d concealed %d, want %d %d", late, concealed, tt.late, tt.concealed)
			}
		})
	}
}

// TestBufferAdapts checks the depth: it follows the jitter estimate within
// 1-10 packets, grows a packet for a late one or an underrun, and comes down
// again when the late packets stop.
func TestBufferAdapts(t *testing.T) {
	b := New()
	for _, c := range []struct {
		jitter float64
		want   int
	}{{0, 1}, {0.5, 3}, {1, 4}, {2.5, 9}, {100, MaxPackets}, {0, 1}} {
		b.SetJitter(c.jitter)
		if got := b.Target(); got != c.want {
			t.Fatalf("jitter %.1f packets: depth %d, want %d", c.jitter, got, c.want)
		}
	}

	// A late packet raises the depth; the buffer then holds one more.
	push(b, 1, 2)
	play(b, 2)
	push(b, 1)
	if b.Target() != 2 {
		t.Fatalf("after a late packet the depth is %d, want 2", b.Target())
	}
	// An underrun (nothing held when due) raises it again, once per gap.
	play(b, 3)
	if b.Target() != 3 {
		t.Fatalf("after an underrun the depth is %d, want 3", b.Target())
	}
	// Playing on time for lateDecay playouts lowers it a packet at a time,
	// and the delay it built is cut by dropping packets.
	seq := uint16(3)
	for range 3 * lateDecay {
		push(b, seq)
		seq++
		play(b, 1)
	}
	if b.Target() != MinPackets {
		t.Fatalf("after %d playouts on time the depth is %d, want %d", 3*lateDecay, b.Target(), MinPackets)
	}
	if d := b.Depth(); d > b.Target()+1 {
		t.Fatalf("the buffer still holds %d packets for a depth of %d", d, b.Target())
	}
}

// TestBufferGap checks that a far end that stops sending (hold) is not
// concealed for ever: playout stops after a gap and fills to its depth again.
func TestBufferGap(t *testing.T) {
	b := New()
	push(b, 1)
	play(b, 1)
	got := play(b, gapReset+2)
	if got[0] != -1 || got[len(got)-1] != -2 {
		t.Fatalf("a gap played %v, want Missing first and None at the end", got)
	}
	push(b, 2) // the gap made the depth 2 packets
	if got := play(b, 1); got[0] != -2 {
		t.Fatalf("after the gap played %v with one packet held, want None", got)
	}
	push(b, 3)
	if got := play(b, 2); got[0] != 2 || got[1] != 3 {
		t.Fatalf("after the gap played %v, want packets 2 and 3", got)
	}
}

func tone(n int, hz float64, amp float64, phase int) []byte {
	pcm := make([]byte, 2*n)
	for i := range n {
		v := amp * math.Sin(2*math.Pi*hz*float64(i+phase)/8000)
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(v)))
	}
	return pcm
}

func rms(pcm []byte) float64 {
	var sum float64
	for i := 0; i < len(pcm); i += 2 {
		v := float64(int16(binary.LittleEndian.Uint16(pcm[i:])))
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)/2))
}

// TestConceal checks the concealment of lost 20 ms frames of a tone: a
// single loss repeats the last frame at nearly full level (never silence),
// the level then fades, and after 110 ms it is silence.
func TestConceal(t *testing.T) {
	var c Concealer
	if c.Conceal(make([]byte, 320)) {
		t.Fatal("concealed with nothing received")
	}
	frame := tone(160, 1000, 10000, 0)
	c.Received(append([]byte(nil), frame...))
	want := rms(frame)
	for i, lim := range [][2]float64{{0.9, 1.0}, {0.75, 0.85}, {0.55, 0.65}, {0.35, 0.45}, {0.15, 0.25}, {0.01, 0.06}, {0, 0}} {
		out := make([]byte, 320)
		if !c.Conceal(out) {
			t.Fatal("nothing concealed")
		}
		got := rms(out) / want
		if got < lim[0]-1e-9 || got > lim[1]+1e-9 {
			t.Fatalf("concealed frame %d at %.2f of the level, want %.2f-%.2f", i+1, got, lim[0], lim[1])
		}
	}
	// The next frame received is played (after a short crossfade) and ends
	// the concealment.
	next := tone(160, 1000, 10000, 160)
	c.Received(next)
	if r := rms(next[2*blendSamples:]) / want; math.Abs(r-1) > 0.01 {
		t.Fatalf("the frame after the concealment at %.2f of its level", r)
	}
	out := make([]byte, 320)
	c.Conceal(out)
	if r := rms(out) / want; r < 0.85 {
		t.Fatalf("a new loss concealed at %.2f of the level: the fade did not restart", r)
	}
}

package jitter

import "testing"

// BenchmarkPushPop is the buffer's work per packet on a steady stream: one
// 20 ms G.711 payload in, one out.
func BenchmarkPushPop(b *testing.B) {
	buf := New()
	buf.SetJitter(0.5)
	payload, out := make([]byte, 160), make([]byte, slotBytes)
	var seq uint16
	b.ReportAllocs()
	for b.Loop() {
		buf.Push(seq, 0, payload)
		seq++
		buf.Pop(out)
	}
}

// BenchmarkReceivedFrame is the concealer's work per frame played: keeping
// it for a loss to come.
func BenchmarkReceivedFrame(b *testing.B) {
	var c Concealer
	pcm := tone(160, 1000, 10000, 0)
	b.ReportAllocs()
	for b.Loop() {
		c.Received(pcm)
	}
}

// BenchmarkConceal is the concealment of one lost 20 ms frame.
func BenchmarkConceal(b *testing.B) {
	var c Concealer
	c.Received(tone(160, 1000, 10000, 0))
	out := make([]byte, 320)
	b.ReportAllocs()
	for b.Loop() {
		c.run = 0
		c.Conceal(out)
	}
}

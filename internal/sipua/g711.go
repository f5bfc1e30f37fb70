package sipua

import (
	"sync"

	"github.com/zaf/g711"
)

// G.711 encoding by table. μ-law's output depends only on the top 14 bits
// of a sample and A-law's on the top 12, so a 16 KB and a 4 KB table,
// filled once from the g711 library's own encoder, turn the per-sample
// arithmetic into one lookup (a frame is 160 samples, 50 times a second
// per call).
var (
	ulawTable = sync.OnceValue(func() *[1 << 14]byte {
		var t [1 << 14]byte
		for i := range t {
			t[i] = g711.EncodeUlawFrame(int16(uint16(i) << 2))
		}
		return &t
	})
	alawTable = sync.OnceValue(func() *[1 << 12]byte {
		var t [1 << 12]byte
		for i := range t {
			t[i] = g711.EncodeAlawFrame(int16(uint16(i) << 4))
		}
		return &t
	})
)

// encodeUlaw encodes little-endian 16-bit PCM into dst, one byte per sample.
func encodeUlaw(dst, pcm []byte) {
	t := ulawTable()
	for i := range min(len(dst), len(pcm)/2) {
		dst[i] = t[(uint16(pcm[2*i])|uint16(pcm[2*i+1])<<8)>>2]
	}
}

// encodeAlaw encodes little-endian 16-bit PCM into dst, one byte per sample.
func encodeAlaw(dst, pcm []byte) {
	t := alawTable()
	for i := range min(len(dst), len(pcm)/2) {
		dst[i] = t[(uint16(pcm[2*i])|uint16(pcm[2*i+1])<<8)>>4]
	}
}

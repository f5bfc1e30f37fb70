package codec

import (
	"encoding/binary"

	"github.com/gotranspile/g722"
)

// G.722 (64 kbit/s) is a 16 kHz codec made of two ADPCM sub-bands: the
// lower carries 0-4 kHz sampled at 8 kHz, the upper 4-8 kHz, and each
// payload byte holds one sample of each, two 16 kHz samples. gophone's
// audio is 8 kHz, so it has nothing for the upper band: the encoder puts
// the 8 kHz samples straight into the lower band and sends an idle upper
// band, and the decoder returns the lower band, which is what a 16 kHz
// decoder followed by a low-pass to 8 kHz would give, without the
// quadrature mirror filters or a resampler (spandsp's 8 kHz mode, which
// github.com/gotranspile/g722 is a translation of). A wideband peer
// receives a valid stream and hears 0-4 kHz audio.
//
// One payload byte per 8 kHz sample: 160 bytes per 20 ms, and the RTP
// clock runs at 8000 Hz although the codec samples at 16 kHz (RFC 3551
// §4.5.2), so the SDP says G722/8000 and timestamps advance 160 per 20 ms.

// G722Encoder encodes 8 kHz 16-bit little-endian PCM as G.722. It keeps the
// ADPCM state from one frame to the next: one encoder per stream.
type G722Encoder struct {
	enc *g722.Encoder
	buf []int16
}

// NewG722Encoder returns an encoder at the start of a stream.
func NewG722Encoder() *G722Encoder {
	return &G722Encoder{enc: g722.NewEncoder(g722.Rate64000, g722.FlagSampleRate8000)}
}

// Encode encodes the samples of pcm into dst, one byte per sample, and
// returns the number of bytes written (fewer if dst is short).
func (e *G722Encoder) Encode(dst, pcm []byte) int {
	n := min(len(dst), len(pcm)/2)
	if cap(e.buf) < n {
		e.buf = make([]int16, n)
	}
	buf := e.buf[:n]
	for i := range buf {
		buf[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return e.enc.Encode(dst, buf)
}

// G722Decoder decodes G.722 into 8 kHz 16-bit little-endian PCM. It keeps
// the ADPCM state from one packet to the next: one decoder per stream.
type G722Decoder struct {
	dec *g722.Decoder
	buf []int16
}

// NewG722Decoder returns a decoder at the start of a stream.
func NewG722Decoder() *G722Decoder {
	return &G722Decoder{dec: g722.NewDecoder(g722.Rate64000, g722.FlagSampleRate8000)}
}

// Decode decodes payload into dst, one sample (two bytes) per payload
// byte, and returns the number of bytes of PCM written (fewer if dst is
// short).
func (d *G722Decoder) Decode(dst, payload []byte) int {
	n := min(len(payload), len(dst)/2)
	if cap(d.buf) < n {
		d.buf = make([]int16, n)
	}
	buf := d.buf[:n]
	n = d.dec.Decode(buf, payload[:n])
	for i, v := range buf[:n] {
		binary.LittleEndian.PutUint16(dst[2*i:], uint16(v))
	}
	return 2 * n
}

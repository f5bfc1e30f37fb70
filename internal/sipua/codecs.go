package sipua

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"

	"github.com/gophone/gophone/internal/codec"
)

// codecG722 is G.722 at its static payload type; its RTP clock is 8000 Hz
// although it samples at 16 kHz (RFC 3551 §4.5.2), so SDP says G722/8000.
var codecG722 = media.Codec{PayloadType: 9, SampleRate: 8000, SampleDur: 20 * time.Millisecond, NumChannels: 1, Name: codec.G722}

// codecTelephoneEvent48000 is RFC 4733's events at Opus's RTP clock.
var codecTelephoneEvent48000 = media.Codec{PayloadType: 102, SampleRate: 48000, SampleDur: 20 * time.Millisecond, NumChannels: 1, Name: "telephone-event"}

// codecKind is how an audio payload is coded; it is found once per
// negotiated codec list, so that the media clock switches on a number.
type codecKind uint8

const (
	kindNone codecKind = iota // not an audio codec gophone decodes
	kindPCMU
	kindPCMA
	kindG722
	kindOpus
)

// kindOf returns the kind of c, kindNone for a codec this build lacks.
func kindOf(c media.Codec) codecKind {
	switch {
	case c.SampleRate == 0:
		return kindNone
	case strings.EqualFold(c.Name, codec.PCMU):
		return kindPCMU
	case strings.EqualFold(c.Name, codec.PCMA):
		return kindPCMA
	case strings.EqualFold(c.Name, codec.G722) && c.SampleRate == 8000:
		return kindG722
	case strings.EqualFold(c.Name, codec.Opus) && c.SampleRate == 48000 && codec.HaveOpus:
		return kindOpus
	}
	return kindNone
}

// ticks is how far the RTP clock of a codec of kind k moves per 8 kHz
// sample: Opus's clock runs at 48 kHz whatever it codes (RFC 7587 §4.1),
// the others' at 8 kHz.
func (k codecKind) ticks() uint32 {
	if k == kindOpus {
		return 6
	}
	return 1
}

// packetTime is the packet time a codec of kind k sends at when the far
// end asks for ptime (RFC 4566 §6: a preference): Opus codes only frames
// of 2.5, 5, 10, 20, 40 or 60 ms (RFC 6716 §2.1.4), so it takes the
// longest of 10, 20, 40 and 60 ms not over ptime (30 ms: 20, 50 ms: 40);
// the others take ptime.
func (k codecKind) packetTime(ptime time.Duration) time.Duration {
	if k != kindOpus {
		return ptime
	}
	for _, d := range [...]time.Duration{60, 40, 20, 10} {
		if d*time.Millisecond <= ptime {
			return d * time.Millisecond
		}
	}
	return framePeriod
}

// opusMaxSamples is the longest Opus packet (120 ms) in 8 kHz samples.
const opusMaxSamples = 960

// coders is a call's coding state. G.711 has none, but G.722 and Opus
// carry state from one frame to the next, so each call has its own
// encoder and decoder, made when first used. Owned by the media clock's
// goroutine.
type coders struct {
	g722enc *codec.G722Encoder
	g722dec *codec.G722Decoder
	opusEnc *audio.OpusEncoder
	opusDec *audio.OpusDecoder
}

// encode codes the 8 kHz PCM of pcm into dst and returns the payload's
// length.
func (c *coders) encode(k codecKind, dst, pcm []byte) (int, error) {
	n := len(pcm) / 2
	switch k {
	case kindPCMU:
		encodeUlaw(dst, pcm)
	case kindPCMA:
		encodeAlaw(dst, pcm)
	case kindG722:
		if c.g722enc == nil {
			c.g722enc = codec.NewG722Encoder()
		}
		n = c.g722enc.Encode(dst, pcm)
	case kindOpus:
		if c.opusEnc == nil {
			// libopus takes and gives 8 kHz mono itself: the RTP clock
			// stays 48 kHz and a stereo stream is mixed down.
			enc := &audio.OpusEncoder{}
			if err := enc.Init(8000, 1, opusMaxSamples); err != nil {
				return 0, err
			}
			c.opusEnc = enc
		}
		return c.opusEnc.EncodeTo(dst, pcm)
	default:
		return 0, errors.New("no codec to encode with")
	}
	return min(n, len(dst)), nil
}

// decode decodes payload into dst as 8 kHz PCM and returns its length in
// bytes.
func (c *coders) decode(k codecKind, dst, payload []byte) (int, error) {
	switch k {
	case kindPCMU:
		return audio.DecodeUlawTo(dst, payload)
	case kindPCMA:
		return audio.DecodeAlawTo(dst, payload)
	case kindG722:
		if c.g722dec == nil {
			c.g722dec = codec.NewG722Decoder()
		}
		return c.g722dec.Decode(dst, payload), nil
	case kindOpus:
		if c.opusDec == nil {
			dec := &audio.OpusDecoder{}
			if err := dec.Init(8000, 1, opusMaxSamples); err != nil {
				return 0, err
			}
			c.opusDec = dec
		}
		return c.opusDec.DecodeTo(dst, payload)
	}
	return 0, fmt.Errorf("payload of kind %d not decoded", k)
}

package audio

import (
	"encoding/binary"
	"math"
)

// ApplyGain scales 16-bit little-endian PCM in place by level percent of
// linear amplitude: 100 is unity, 0 (or less) is silence. Results are clipped
// to the int16 range. A trailing odd byte is left alone. It does not allocate.
func ApplyGain(pcm []byte, level int) {
	switch {
	case level == 100:
		return
	case level <= 0:
		clear(pcm)
		return
	case level > 100*(math.MaxInt16+1):
		level = 100 * (math.MaxInt16 + 1) // every non-zero sample clips already
	}
	for i := 0; i+1 < len(pcm); i += 2 {
		v := int(int16(binary.LittleEndian.Uint16(pcm[i:]))) * level / 100
		binary.LittleEndian.PutUint16(pcm[i:], uint16(clamp16(v)))
	}
}

// clamp16 clips v to the int16 range.
func clamp16(v int) int16 {
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

package audio

import (
	"encoding/binary"
	"math"
	"strings"
)

// DTMF tones (ITU-T Q.23): each key is the sum of one frequency of the low
// group (the keypad's row) and one of the high group (its column).
var (
	dtmfLow  = [4]float64{697, 770, 852, 941}
	dtmfHigh = [4]float64{1209, 1336, 1477, 1633}
)

// dtmfKeypad lays the keys out by row and column: key = dtmfKeypad[4*row+col].
const dtmfKeypad = "123A456B789C*0#D"

// Levels of the generated tones. 0 dBm0 is a sine of peak 22656 in 16-bit
// PCM (G.711's full-scale sine is +3.17 dBm0). The low group is sent at
// -10 dBm0 and the high group 2 dB above it, the positive twist senders
// use so that the tones arrive level after a line's high-frequency loss;
// receivers accept about -25 to 0 dBm0 per tone (Q.24).
const (
	dBm0Peak     = 22656
	dtmfLowPeak  = dBm0Peak * 0.31622776601683794 // -10 dBm0
	dtmfHighPeak = dBm0Peak * 0.3981071705534972  // -8 dBm0
)

// dtmfFreqs returns the two frequencies of key (0-9 * # A-D, either case).
func dtmfFreqs(key byte) (low, high float64, ok bool) {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	i := strings.IndexByte(dtmfKeypad, key)
	if i < 0 {
		return 0, 0, false
	}
	return dtmfLow[i/4], dtmfHigh[i%4], true
}

// DTMFTone writes key's dual tone into pcm (16-bit little-endian samples at
// SampleRate), starting offset samples into the tone, so that consecutive
// frames of one tone join without a break in phase. It reports false, and
// writes nothing, if key is not a DTMF key.
func DTMFTone(pcm []byte, key byte, offset int) bool {
	low, high, ok := dtmfFreqs(key)
	if !ok {
		return false
	}
	wl, wh := 2*math.Pi*low/SampleRate, 2*math.Pi*high/SampleRate
	for i := 0; i+1 < len(pcm); i += 2 {
		n := float64(offset + i/2)
		v := dtmfLowPeak*math.Sin(wl*n) + dtmfHighPeak*math.Sin(wh*n)
		binary.LittleEndian.PutUint16(pcm[i:], uint16(int16(math.Round(v))))
	}
	return true
}

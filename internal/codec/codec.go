// Package codec holds what gophone knows of audio codecs outside SIP: the
// names this build can use, and G.722 over the 8 kHz 16-bit PCM that the
// rest of gophone carries. (G.711 is internal/sipua's; Opus, cgo through
// diago, is built in only with the with_opus_c tag.)
package codec

// Canonical codec names, as SDP and MicroSIP's audioCodecs spell them.
const (
	PCMU = "PCMU"
	PCMA = "PCMA"
	G722 = "G722"
	Opus = "opus"
)

// Names returns the audio codecs this build can use, in the default
// preference order of none: PCMU, PCMA, G722, and opus when built with the
// with_opus_c tag.
func Names() []string {
	if HaveOpus {
		return []string{PCMU, PCMA, G722, Opus}
	}
	return []string{PCMU, PCMA, G722}
}

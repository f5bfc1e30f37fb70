//go:build !with_opus_c

package codec

// HaveOpus reports whether this build carries Opus (libopus through cgo,
// the with_opus_c tag).
const HaveOpus = false

package sipua

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SRTPMode is how a call's media is protected: SRTP (RFC 3711) keyed by
// SDES (RFC 4568), the keys carried in the SDP's a=crypto lines.
type SRTPMode int

const (
	// SRTPOff: plain RTP; an offer's keys are not taken.
	SRTPOff SRTPMode = iota
	// SRTPOptional: keys offered on RTP/AVP (as pjsip and MicroSIP do),
	// so a far end without SRTP answers plain RTP; both are accepted.
	SRTPOptional
	// SRTPMandatory: keys offered on RTP/SAVP; a call without SRTP fails.
	SRTPMandatory
)

// ParseSRTPMode reads the SRTP key's values: "" (or disabled), optional,
// mandatory.
func ParseSRTPMode(s string) (SRTPMode, error) {
	switch strings.ToLower(s) {
	case "", "disabled":
		return SRTPOff, nil
	case "optional":
		return SRTPOptional, nil
	case "mandatory":
		return SRTPMandatory, nil
	}
	return SRTPOff, fmt.Errorf("SRTP %q is not one of disabled, optional, mandatory", s)
}

func (m SRTPMode) String() string {
	switch m {
	case SRTPOptional:
		return "optional"
	case SRTPMandatory:
		return "mandatory"
	}
	return "disabled"
}

// SRTP is an account's SRTP policy.
type SRTP struct {
	Mode SRTPMode
	// OverUDP lets the keys travel in SIP over UDP or TCP, where anyone on
	// the path reads them; otherwise SRTP is used over TLS only.
	OverUDP bool
}

// ErrSRTPRequired: the account's SRTP is mandatory and the call cannot
// have it (its signalling is not TLS, or the far end offers or answers
// no key gophone can use).
var ErrSRTPRequired = errors.New("SRTP required (SRTP=mandatory)")

// forTransport is the mode a call over a SIP transport (UDP, TCP, TLS …)
// gets: keys are offered or taken only over TLS unless OverUDP. A
// mandatory policy that cannot be met is ErrSRTPRequired.
func (p SRTP) forTransport(transport string) (SRTPMode, error) {
	if p.Mode == SRTPOff || strings.EqualFold(transport, "tls") || p.OverUDP {
		return p.Mode, nil
	}
	if p.Mode == SRTPMandatory {
		return SRTPOff, fmt.Errorf("%w: the keys would travel in clear SIP over %s (TLS needed, or srtpOverUDP=1)",
			ErrSRTPRequired, strings.ToUpper(transport))
	}
	return SRTPOff, nil
}

// sdesSuite is the one crypto suite diago's SDES takes (RFC 4568 §6.2.1).
const sdesSuite = "AES_CM_128_HMAC_SHA1_80"

// audioProto returns the transport protocol of an SDP body's audio
// (RTP/AVP, RTP/SAVP …); "" when it has none.
func audioProto(body []byte) string {
	for _, line := range lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "m=audio "); ok {
			if f := strings.Fields(v); len(f) > 1 {
				return strings.ToUpper(f[1])
			}
		}
	}
	return ""
}

// srtpRefusal says why an incoming offer cannot be answered with mode
// (the account's policy on the call's transport), or "" when it can: a
// mandatory policy wants a usable key, and an RTP/SAVP offer a usable key
// and SRTP on (RFC 3264 §6: its profile cannot be answered plain).
func srtpRefusal(mode SRTPMode, offer []byte) string {
	if len(offer) == 0 {
		return "" // a late offer: ours says what we need
	}
	savp := audioProto(offer) == "RTP/SAVP"
	switch {
	case mode == SRTPOff && savp:
		return "the offer wants SRTP (RTP/SAVP), which this call does not use"
	case (mode == SRTPMandatory || savp) && !offerHasSDES(offer):
		return "the offer has no usable SRTP key (" + sdesSuite + ")"
	}
	return ""
}

// offerHasSDES reports whether an SDP offer's audio carries an a=crypto
// key gophone can use: suite AES_CM_128_HMAC_SHA1_80, a 30-byte inline
// key and salt, no MKI.
func offerHasSDES(body []byte) bool {
	inAudio := false
	for _, line := range lines(body) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "m=") {
			inAudio = strings.HasPrefix(line, "m=audio ")
			continue
		}
		if v, ok := strings.CutPrefix(line, "a=crypto:"); ok && inAudio && usableCrypto(v) {
			return true
		}
	}
	return false
}

// usableCrypto checks an a=crypto value: "TAG SUITE inline:KEY[|LIFETIME][|MKI:LEN] [PARAMS]".
func usableCrypto(v string) bool {
	f := strings.Fields(v)
	if len(f) < 3 || !strings.EqualFold(f[1], sdesSuite) {
		return false
	}
	key, ok := strings.CutPrefix(f[2], "inline:")
	if !ok {
		return false
	}
	key, rest, _ := strings.Cut(key, "|")
	for part := range strings.SplitSeq(rest, "|") {
		if strings.Contains(part, ":") {
			return false // an MKI: diago's SRTP contexts take none
		}
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(raw) == 30
}

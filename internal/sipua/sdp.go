package sipua

import (
	"bytes"
	"iter"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
)

// lines splits a message body into lines without their CR LF or LF, with
// no limit on line length.
func lines(body []byte) iter.Seq2[int, string] {
	return func(yield func(int, string) bool) {
		rest, i := string(body), 0
		for rest != "" {
			line, next, _ := strings.Cut(rest, "\n")
			if !yield(i, strings.TrimSuffix(line, "\r")) {
				return
			}
			rest, i = next, i+1
		}
	}
}

// sdpIsHold reports whether an SDP offer puts us on hold: sendonly or
// inactive, or the RFC 2543 style c=0.0.0.0 whatever the direction says.
func sdpIsHold(body []byte) bool {
	hold, zero := false, false
	for _, line := range lines(body) {
		line = strings.TrimSpace(line)
		switch {
		case line == "a=sendonly", line == "a=inactive":
			hold = true
		case line == "a=sendrecv", line == "a=recvonly":
			hold = false
		case strings.HasPrefix(line, "c=") && strings.HasSuffix(line, " 0.0.0.0"):
			zero = true
		}
	}
	return hold || zero
}

// offerHasCodec reports whether an SDP offer lists an audio codec we have.
func offerHasCodec(body []byte, ours []media.Codec) bool {
	var formats []string
	rtpmap := map[string]string{}
	for _, line := range lines(body) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "m=audio ") {
			f := strings.Fields(line)
			if len(f) > 3 {
				formats = f[3:]
			}
		}
		if v, ok := strings.CutPrefix(line, "a=rtpmap:"); ok {
			pt, name, _ := strings.Cut(v, " ")
			rtpmap[pt] = strings.ToUpper(strings.SplitN(name, "/", 2)[0])
		}
	}
	for _, f := range formats {
		name := rtpmap[f]
		for _, c := range ours {
			if isTelephoneEvent(c) {
				continue
			}
			if name != "" && strings.EqualFold(name, c.Name) {
				return true
			}
			// Without rtpmap only G.711's static types: diago reads no
			// other format without one (G.722's 9 included).
			if name == "" && (f == "0" || f == "8") && f == strconv.Itoa(int(c.PayloadType)) {
				return true
			}
		}
	}
	return false
}

// sdpDirection returns the media direction of an SDP body (sendrecv when
// none is given; c=0.0.0.0 counts as sendonly).
func sdpDirection(body []byte) string {
	dir := "sendrecv"
	for _, line := range lines(body) {
		line = strings.TrimSpace(line)
		switch line {
		case "a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv":
			dir = line[2:]
		}
		if strings.HasPrefix(line, "c=") && strings.HasSuffix(line, " 0.0.0.0") && dir == "sendrecv" {
			dir = "sendonly"
		}
	}
	return dir
}

// setDirection replaces the media direction attribute of an SDP body.
func setDirection(body []byte, dir string) []byte {
	var out bytes.Buffer
	for _, line := range lines(body) {
		switch strings.TrimSpace(line) {
		case "a=sendonly", "a=recvonly", "a=inactive", "a=sendrecv":
			line = "a=" + dir
		}
		out.WriteString(line)
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// holdAnswerTx corrects diago's answer to an in-dialog offer while we hold
// the call: RFC 3264 §8.4 wants inactive, not recvonly, when a held party
// is offered sendonly or inactive.
type holdAnswerTx struct {
	sip.ServerTransaction
	c     *Call
	offer []byte
}

func (t *holdAnswerTx) Respond(res *sip.Response) error {
	if res.StatusCode == sip.StatusOK && len(res.Body()) > 0 && len(t.offer) > 0 {
		local, _ := t.c.Held()
		if local {
			switch sdpDirection(t.offer) {
			case "sendonly", "inactive":
				res.SetBody(setDirection(res.Body(), "inactive"))
			}
		}
	}
	return t.ServerTransaction.Respond(res)
}

// sdpPtime returns the packet time an SDP body asks for (a=ptime), rounded
// to 10 ms and kept within 10-60 ms; 20 ms when it asks for none.
func sdpPtime(body []byte) time.Duration {
	for _, line := range lines(body) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=ptime:")
		if !ok {
			continue
		}
		ms, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || ms <= 0 {
			break
		}
		d := time.Duration(ms+5) / 10 * 10 * time.Millisecond
		return min(max(d, 10*time.Millisecond), maxPtime)
	}
	return framePeriod
}

// offerAddrType returns the address type (IP4, IP6) of the connection
// address an offer's audio is to be sent to: the audio section's c= line,
// else the session's; "" when there is none.
func offerAddrType(body []byte) string {
	addrType, _ := offerConnection(body)
	return addrType
}

// offerConnection returns the address type and the address of the
// connection an offer's audio is to be sent to: the audio section's c=
// line, else the session's.
func offerConnection(body []byte) (addrType, addr string) {
	var session, audio [2]string
	inAudio := false
	for _, line := range lines(body) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "m=") {
			inAudio = strings.HasPrefix(line, "m=audio ")
			continue
		}
		if v, ok := strings.CutPrefix(line, "c="); ok {
			f := strings.Fields(v)
			if len(f) < 2 {
				continue
			}
			c := [2]string{strings.ToUpper(f[1]), ""}
			if len(f) > 2 {
				c[1], _, _ = strings.Cut(f[2], "/") // a multicast TTL
			}
			if inAudio {
				audio = c
			} else if audio[0] == "" {
				session = c
			}
		}
	}
	if audio[0] != "" {
		return audio[0], audio[1]
	}
	return session[0], session[1]
}

// answerMediaIP is the address an answer to offer gives for its media when
// the RTP sockets are dual-stack (bound to ::): the one the host reaches
// the offer's media address from, so of its family, else the one it
// reaches source (the INVITE's sender) from; nil when neither is an IP.
func answerMediaIP(offer []byte, source string) net.IP {
	if _, addr := offerConnection(offer); addr != "" {
		if ip := diago.LocalIPToward(addr); ip != nil {
			return ip
		}
	}
	return diago.LocalIPToward(source)
}

// reachesAddrType reports whether media sockets bound to host (the
// agent's listen host) can send to an address of type addrType.
func reachesAddrType(host, addrType string) bool {
	ip := net.ParseIP(host)
	if ip == nil || addrType == "" {
		return true // a name: the family is not known here
	}
	switch addrType {
	case "IP4":
		return ip.To4() != nil || ip.IsUnspecified()
	case "IP6":
		return ip.To4() == nil
	}
	return false
}

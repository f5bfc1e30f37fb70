package phone

import (
	"strings"
	"time"
)

// splitPostDial splits a dial string the way MicroSIP does (FormatNumber in
// its global.cpp): at the first comma, when that comma is neither the first
// nor the last character, into the number and the digits sent once the
// call is answered. The digits keep that comma, so they start with a pause,
// and every comma is a pause: "100,1,,2" dials 100 and then sends ",1,,2".
func splitPostDial(s string) (number, digits string) {
	i := strings.IndexByte(s, ',')
	if i <= 0 || i == len(s)-1 {
		return s, ""
	}
	return s[:i], s[i:]
}

// postDial sends digits on c once it is established, as SendDTMF does
// (dtmfPause per comma; MicroSIP waits 1 s, plus 200 ms per digit sent
// before). A call that ends first, or a phone that closes, sends nothing.
func (p *Phone) postDial(c *call, digits string) {
	select {
	case <-c.sc.Established():
	case <-c.sc.Done():
		return
	case <-p.ctx.Done():
		return
	}
	c.cmd.Lock()
	defer c.cmd.Unlock()
	pause := p.cfg.DTMFPause
	if pause <= 0 {
		pause = 500 * time.Millisecond
	}
	if err := c.sc.SendDTMF(p.ctx, digits, pause); err != nil {
		p.log.Warn("sending post-dial digits", "call", c.id, "error", err)
	}
}

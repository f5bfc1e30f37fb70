package sipua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"

	gaudio "github.com/gophone/gophone/internal/audio"
)

// DTMFMethod is how digits are sent, and how they arrived.
type DTMFMethod string

// DTMF methods.
const (
	// DTMFAuto sends RFC 4733 events when the far end accepts
	// telephone-event, else SIP INFO.
	DTMFAuto    DTMFMethod = "auto"
	DTMFRFC4733 DTMFMethod = "rfc4733" // RTP events (RFC 4733)
	DTMFInfo    DTMFMethod = "info"    // SIP INFO application/dtmf-relay
	// DTMFInband sends the digits' tones (ITU-T Q.23) in the call's audio.
	// A user agent that sends in-band does not offer telephone-event, so
	// that the far end listens for tones instead of waiting for events.
	DTMFInband DTMFMethod = "inband"
)

// Errors SendDTMF returns, before it sends anything, when the call cannot
// carry the digits by the method asked for.
var (
	ErrNoTelephoneEvent = errors.New("the far end does not accept RFC 4733 telephone-events (no telephone-event in its SDP)")
	ErrNoAudio          = errors.New("the call sends no audio to carry in-band tones")
)

// infoDuration is the Duration= of a SIP INFO digit, in milliseconds, as
// pjsua and MicroSIP send it; the next digit's INFO leaves at least the
// digit and a gap later, so a gateway that plays the digits as tones
// keeps them apart.
const infoDuration = 160 * time.Millisecond

// SendDTMF sends digits by the user agent's DTMF method; ',' pauses for
// pause. It returns when the last digit has been sent (for SIP INFO: when
// the far end answered its INFO 2xx), or with ErrNoTelephoneEvent or
// ErrNoAudio, having sent nothing, when the call cannot carry them.
func (c *Call) SendDTMF(ctx context.Context, digits string, pause time.Duration) error {
	if err := ValidDTMF(digits); err != nil {
		return err
	}
	c.mu.Lock()
	m := c.media
	c.mu.Unlock()
	if m == nil {
		return errors.New("call has no media")
	}
	method, err := m.dtmfMethod(c.u.cfg.DTMFMethod)
	if err != nil {
		return err
	}
	if method == DTMFInfo {
		return c.sendInfo(ctx, digits, pause)
	}
	job := dtmfJob{digits: digits, pause: pause, inband: method == DTMFInband, done: make(chan error, 1)}
	select {
	case m.jobs <- job:
		m.queued.Add(1)
	case <-c.done:
		return errors.New("call ended")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-job.done:
		return err
	case <-c.done:
		return errors.New("call ended")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dtmfMethod resolves method for the call as negotiated now: auto becomes
// rfc4733 or info; a method the call cannot carry is an error.
func (m *mediaLoop) dtmfMethod(method DTMFMethod) (DTMFMethod, error) {
	var audioCodec, te media.Codec
	if sess := m.med.MediaSession(); sess != nil {
		audioCodec, te = negotiated(sess.CommonCodecs())
	}
	switch method {
	case DTMFInfo:
	case DTMFInband:
		if !canEncode(audioCodec) || m.remoteHeld.Load() {
			return "", ErrNoAudio
		}
	case DTMFRFC4733:
		if te.SampleRate == 0 {
			return "", ErrNoTelephoneEvent
		}
	default:
		if te.SampleRate != 0 {
			return DTMFRFC4733, nil
		}
		return DTMFInfo, nil
	}
	return method, nil
}

// sendInfo sends each digit in a SIP INFO application/dtmf-relay request
// and waits for its 2xx before the next; ',' pauses for pause.
func (c *Call) sendInfo(ctx context.Context, digits string, pause time.Duration) error {
	var next time.Time // when the next digit may leave
	for _, r := range digits {
		if r == ',' {
			next = time.Now().Add(pause)
			continue
		}
		if err := sleepUntil(ctx, c.done, next); err != nil {
			return err
		}
		next = time.Now().Add(infoDuration + dtmfGap)
		body := fmt.Sprintf("Signal=%c\r\nDuration=%d\r\n", toUpper(r), infoDuration.Milliseconds())
		if err := c.info(ctx, "application/dtmf-relay", body); err != nil {
			return fmt.Errorf("SIP INFO for digit %c: %w", r, err)
		}
	}
	return sleepUntil(ctx, c.done, next)
}

// info sends an INFO request in the call's dialog and waits for a 2xx.
func (c *Call) info(ctx context.Context, contentType, body string) error {
	c.mu.Lock()
	srv, cli := c.srv, c.cli
	c.mu.Unlock()
	var res *sip.Response
	var err error
	var contact *sip.ContactHeader
	switch {
	case srv != nil:
		contact = srv.RemoteContact()
	case cli != nil:
		contact = cli.RemoteContact()
	default:
		return errors.New("call has no dialog")
	}
	if contact == nil {
		return errors.New("the far end gave no Contact to send the request to")
	}
	req := sip.NewRequest(sip.INFO, contact.Address)
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody([]byte(body))
	if srv != nil {
		res, err = srv.Do(ctx, req)
	} else {
		res, err = cli.Do(ctx, req)
	}
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return &ResponseError{Code: res.StatusCode, Reason: res.Reason}
	}
	return nil
}

// sleepUntil waits until t (a zero t is now), the end of the call (done)
// or of ctx.
func sleepUntil(ctx context.Context, done <-chan struct{}, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-done:
		return errors.New("call ended")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// detectTones listens for DTMF tones in a decoded far-end frame; it runs
// on the media clock, only while no telephone-event is negotiated.
func (m *mediaLoop) detectTones(pcm []byte) {
	if m.inband == nil {
		m.inband = new(gaudio.DTMFDetector)
	}
	var buf [4]byte
	for _, d := range m.inband.Feed(pcm, buf[:0]) {
		i := strings.IndexByte(dtmfChars, d)
		m.c.emit(Event{Kind: EventDTMF, Digit: dtmfChars[i : i+1], Method: DTMFInband})
	}
}

// infoDTMFType returns the DTMF content type of an INFO request
// (application/dtmf-relay or application/dtmf), or "".
func infoDTMFType(req *sip.Request) string {
	ct := req.ContentType()
	if ct == nil {
		return ""
	}
	t, _, _ := strings.Cut(ct.Value(), ";")
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "application/dtmf-relay", "application/dtmf":
		return t
	}
	return ""
}

// parseDTMFInfo reads the digit of a SIP INFO body: application/dtmf-relay
// is "Signal=D" and an optional "Duration=MS" line (in any order, any
// case); application/dtmf is the digit alone (or, as some phones send it,
// dtmf-relay's lines). Signal 10 and 11 are * and # (RFC 4733's event
// codes, which some phones send). Anything else, or a body with a second
// Signal, is malformed.
func parseDTMFInfo(contentType string, body []byte) (string, bool) {
	if contentType == "application/dtmf" && !strings.Contains(string(body), "=") {
		return dtmfSignal(strings.TrimSpace(string(body)))
	}
	digit := ""
	for _, line := range lines(body) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "", false
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "signal":
			d, ok := dtmfSignal(v)
			if !ok || digit != "" {
				return "", false
			}
			digit = d
		case "duration":
			if n, err := strconv.Atoi(v); err != nil || n < 0 {
				return "", false
			}
		}
	}
	return digit, digit != ""
}

// dtmfSignal reads one digit: 0-9 * # A-D, or 10 and 11 for * and #.
func dtmfSignal(v string) (string, bool) {
	switch v {
	case "10":
		return "*", true
	case "11":
		return "#", true
	}
	if len(v) != 1 {
		return "", false
	}
	ev, err := dtmfEvent(rune(v[0]))
	if err != nil {
		return "", false
	}
	return dtmfDigit(ev), true
}

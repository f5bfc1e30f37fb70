package phone

import (
	"math"
	"time"

	"github.com/gophone/gophone/internal/buildinfo"
)

// Status is the result of the Status command (DESIGN §5).
type Status struct {
	// Version is the build answering (see gophone version).
	Version  string          `json:"version"`
	Revision string          `json:"revision"`
	Accounts []AccountStatus `json:"accounts"`
	Calls    []CallStatus    `json:"calls"`
	Audio    AudioStatus     `json:"audio"`
}

// AccountStatus describes one account.
type AccountStatus struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	AOR        string `json:"aor"`
	Registered bool   `json:"registered"`
	// State is local, registering, registered, failed, unregistered, or
	// needs-password when the configuration holds MicroSIP's encrypted
	// password and no other.
	State string `json:"state"`
	// Error is the last registration failure, "401 Unauthorized"; Code
	// its SIP status (0 when no response came).
	Error string `json:"error"`
	Code  int    `json:"code,omitempty"`
	// Expires is the registration lifetime the registrar granted, in
	// seconds (0 unless registered).
	Expires int `json:"expires"`
	// NeedsPassword is State "needs-password".
	NeedsPassword bool `json:"needsPassword"`
}

// CallStatus describes one call.
type CallStatus struct {
	ID         string     `json:"id"`
	SIPCallID  string     `json:"sipCallId"`
	Account    string     `json:"account"`
	Direction  string     `json:"direction"`
	Number     string     `json:"number"`
	Name       string     `json:"name"`
	URI        string     `json:"uri"`
	State      string     `json:"state"`
	Held       bool       `json:"held"`
	RemoteHeld bool       `json:"remoteHeld"`
	Muted      bool       `json:"muted"`
	Started    time.Time  `json:"started"`
	Answered   *time.Time `json:"answered"`
	Duration   int        `json:"duration"`
	Codec      string     `json:"codec"`
	// SRTP: the call's media is SRTP both ways.
	SRTP      bool      `json:"srtp"`
	Recording string    `json:"recording"`
	RTP       RTPStatus `json:"rtp"`
}

// RTPStatus is a call's receive quality, and what the far end's RTCP
// reports say of the audio the call sends.
type RTPStatus struct {
	Lost           int64   `json:"lost"`
	JitterMs       float64 `json:"jitterMs"`
	BufferMs       int64   `json:"bufferMs"`
	Late           int64   `json:"late"`
	Concealed      int64   `json:"concealed"`
	RTTMs          float64 `json:"rttMs"`
	RemoteLost     int64   `json:"remoteLost"`
	RemoteJitterMs float64 `json:"remoteJitterMs"`
}

// Status reports accounts, calls and audio.
func (p *Phone) Status() Status {
	au := p.au.status()
	bi := buildinfo.Read()
	st := Status{Version: bi.Version, Revision: bi.Revision, Calls: []CallStatus{}, Audio: au}
	for _, a := range p.cfg.Accounts {
		st.Accounts = append(st.Accounts, p.accountStatus(a))
	}
	for _, c := range p.sortedCalls() {
		state, held, remoteHeld, answered := c.snapshot()
		cs := CallStatus{
			ID: c.id, SIPCallID: c.sc.SIPCallID(), Account: c.account, Direction: string(c.direction),
			Number: c.number, Name: c.name, URI: c.uri, State: state, Held: held, RemoteHeld: remoteHeld,
			Muted: au.Muted, Started: c.started, Codec: c.sc.Codec(), SRTP: c.sc.SRTP(),
		}
		if !answered.IsZero() {
			a := answered
			cs.Answered = &a
			cs.Duration = int(time.Since(answered) / time.Second)
		}
		c.mu.Lock()
		cs.Recording = c.recording
		c.mu.Unlock()
		cs.RTP.Lost, cs.RTP.JitterMs = c.sc.Stats()
		cs.RTP.BufferMs, cs.RTP.Late, cs.RTP.Concealed = c.sc.BufferStats()
		var rtt time.Duration
		rtt, cs.RTP.RemoteLost, cs.RTP.RemoteJitterMs = c.sc.RemoteStats()
		cs.RTP.RTTMs = math.Round(float64(rtt)/float64(time.Millisecond)*10) / 10
		st.Calls = append(st.Calls, cs)
	}
	return st
}

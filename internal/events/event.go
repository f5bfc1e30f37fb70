// Package events is gophone's event bus: one ordered stream of events that
// feeds the control socket, the HTTP API, the hooks and the history.
package events

import "time"

// Event types.
const (
	CallOutgoing             = "call.outgoing"
	CallIncoming             = "call.incoming"
	CallRinging              = "call.ringing"
	CallEarly                = "call.early"
	CallAnswered             = "call.answered"
	CallEstablished          = "call.established"
	CallHeld                 = "call.held"
	CallResumed              = "call.resumed"
	CallRemoteHeld           = "call.remote_held"
	CallRemoteResumed        = "call.remote_resumed"
	CallTransfer             = "call.transfer"
	CallEnded                = "call.ended"
	DTMFReceived             = "dtmf.received"
	MessageReceived          = "message.received"
	MessageSent              = "message.sent"
	MessageFailed            = "message.failed"
	RegistrationOK           = "registration.ok"
	RegistrationFailed       = "registration.failed"
	RegistrationUnregistered = "registration.unregistered"
	AudioDevice              = "audio.device"
	PlayEnded                = "play.ended"
	RecordingSaved           = "recording.saved"
	HookFailed               = "hook.failed"
	Gap                      = "gap"
)

// Event is one thing that happened. Seq and Time are set by the bus.
type Event struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Type      string    `json:"type"`
	Call      string    `json:"call,omitempty"`
	Account   string    `json:"account,omitempty"`
	Number    string    `json:"number,omitempty"`
	Name      string    `json:"name,omitempty"`
	URI       string    `json:"uri,omitempty"`
	Direction string    `json:"direction,omitempty"`
	Code      int       `json:"code,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Duration  *int      `json:"duration,omitempty"` // seconds, on call.ended
	Digit     string    `json:"digit,omitempty"`
	Method    string    `json:"method,omitempty"`  // dtmf.received: rfc4733, info or inband
	Outcome   string    `json:"outcome,omitempty"` // call.transfer: e.g. "200 OK"
	Target    string    `json:"target,omitempty"`  // call.transfer: where to
	Peer      string    `json:"peer,omitempty"`
	Text      string    `json:"text,omitempty"`
	Path      string    `json:"path,omitempty"`    // play.ended, recording.saved: the file
	Stopped   *bool     `json:"stopped,omitempty"` // play.ended: stopped (play stop, a new play, the call's end) rather than played out
	Device    string    `json:"device,omitempty"`
	Hook      string    `json:"hook,omitempty"`
	Error     string    `json:"error,omitempty"`
	From      uint64    `json:"from,omitempty"` // gap: first missed seq
	To        uint64    `json:"to,omitempty"`   // gap: last missed seq
}

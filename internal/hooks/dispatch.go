package hooks

import (
	"strconv"
	"strings"

	"github.com/gophone/gophone/internal/events"
)

// The hook keys of [Settings] (config.HookNames).
const (
	OutgoingCall    = "cmdOutgoingCall"
	IncomingCall    = "cmdIncomingCall"
	CallRing        = "cmdCallRing"
	CallAnswer      = "cmdCallAnswer"
	CallBusy        = "cmdCallBusy"
	CallStart       = "cmdCallStart"
	CallEnd         = "cmdCallEnd"
	IncomingMessage = "cmdIncomingMessage"
	DTMF            = "cmdDTMF"
	Registration    = "cmdRegistration"
)

// hooksFor returns the hook keys an event fires, in the order MicroSIP
// runs them, with the values they get.
//
//   - call.outgoing: cmdOutgoingCall (the INVITE is sent)
//   - call.incoming: cmdIncomingCall (the INVITE arrived, before any policy)
//   - call.ringing of an incoming call: cmdCallRing (180 sent; MicroSIP
//     runs it when the phone starts ringing, never for outgoing calls)
//   - call.established: cmdCallAnswer for an incoming call, then
//     cmdCallStart for any call (the dialog is confirmed)
//   - call.ended: cmdCallBusy when the code is 486, 600 or 603, else
//     cmdCallEnd
//   - message.received: cmdIncomingMessage; dtmf.received: cmdDTMF;
//     registration.ok|failed|unregistered: cmdRegistration
func hooksFor(e events.Event) ([]string, Values) {
	v := Values{
		Number:    e.Number,
		Name:      e.Name,
		CallID:    e.Call,
		Direction: e.Direction,
		Domain:    uriHost(e.URI),
	}
	switch e.Type {
	case events.CallOutgoing:
		return []string{OutgoingCall}, v
	case events.CallIncoming:
		return []string{IncomingCall}, v
	case events.CallRinging:
		if e.Direction == "incoming" {
			return []string{CallRing}, v
		}
	case events.CallEstablished:
		if e.Direction == "incoming" {
			return []string{CallAnswer, CallStart}, v
		}
		return []string{CallStart}, v
	case events.CallEnded:
		if e.Duration != nil {
			v.Duration = strconv.Itoa(*e.Duration)
		}
		switch e.Code {
		case 486, 600, 603:
			return []string{CallBusy}, v
		}
		return []string{CallEnd}, v
	case events.DTMFReceived:
		v.Text = e.Digit
		return []string{DTMF}, v
	case events.MessageReceived:
		if v.Number == "" {
			v.Number = uriUser(e.Peer)
		}
		if v.Domain == "" {
			v.Domain = uriHost(e.Peer)
		}
		v.Text = e.Text
		return []string{IncomingMessage}, v
	case events.RegistrationOK, events.RegistrationFailed, events.RegistrationUnregistered:
		v.Text = registrationText(e)
		return []string{Registration}, v
	}
	return nil, v
}

// registrationText is {text} of cmdRegistration: "ok", "unregistered", or
// "failed" followed by the SIP code and reason when there are any.
func registrationText(e events.Event) string {
	state := strings.TrimPrefix(e.Type, "registration.")
	if e.Type != events.RegistrationFailed {
		return state
	}
	parts := []string{state}
	if e.Code != 0 {
		parts = append(parts, strconv.Itoa(e.Code))
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	return strings.Join(parts, " ")
}

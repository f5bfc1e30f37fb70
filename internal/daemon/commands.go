package daemon

import (
	"context"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/phone"
)

// Parameters several commands share.
var (
	callParam    = command.Param{Name: "call", Kind: command.String, Positional: true, Help: "call id"}
	numberParam  = command.Param{Name: "number", Kind: command.String, Positional: true, Required: true, Help: "number or URI"}
	timeoutParam = command.Param{Name: "timeout", Kind: command.Duration, Help: "how long to wait for the call to be established (default 30s)"}
	accountParam = command.Param{Name: "account", Kind: command.String, Help: "account id or number"}
	stepsParam   = command.Param{Name: "steps", Kind: command.Int, Positional: true, Min: 1, Max: 10, Help: "1-10 (default 1)"}
	levelParam   = command.Param{Name: "level", Kind: command.Int, Positional: true, Required: true, Min: 0, Max: 100, Help: "0-100"}
	jsonParam    = command.Param{Name: "json", Kind: command.Bool, Help: "print JSON"}
	limitParam   = command.Param{Name: "limit", Kind: command.Int, Min: 1, Max: 1000000, Help: "only the last N"}
)

// handler is the shape of a command's Run.
type handler = func(d *Daemon, ctx context.Context, args command.Args) (any, error)

// commands is gophone's command table: every command with its parameters,
// help, HTTP route and handler, in the order `gophone help` lists them.
// The CLI, the control socket and the HTTP API are all served from it.
func commands() command.Table[*Daemon] {
	return command.Table[*Daemon]{
		{Spec: command.Spec{Name: "Dial", Help: "place a call; if a call is active, put it on hold first",
			Params: []command.Param{numberParam, accountParam,
				{Name: "hold", Kind: command.Bool, Help: "hold the active call first (default true; false is CallTo)"}},
			Route: command.Route{Method: "POST", Path: "/v1/calls"}},
			Run: func(d *Daemon, ctx context.Context, a command.Args) (any, error) {
				return d.phone.Dial(ctx, a, a["hold"] == nil || a.Bool("hold"))
			}},
		{Spec: command.Spec{Name: "CallTo", Help: "place a call without holding the active one",
			Params: []command.Param{numberParam, accountParam},
			Route:  command.Route{Method: "POST", Path: "/v1/callto"}},
			Run: func(d *Daemon, ctx context.Context, a command.Args) (any, error) {
				return d.phone.Dial(ctx, a, false)
			}},
		{Spec: command.Spec{Name: "Hangup", Help: "end the active (or named) call", NeedsDaemon: true,
			Params: []command.Param{callParam, {Name: "all", Kind: command.Bool, Help: "end every call"},
				{Name: "filter", Kind: command.String, Enum: []string{"incoming", "outgoing"},
					Help: "with --all: only ringing incoming calls, or only outgoing calls not yet answered"}},
			Route: command.Route{Method: "POST", Path: "/v1/calls/{call}/hangup"}},
			Run: onPhone((*phone.Phone).Hangup)},
		{Spec: command.Spec{Name: "Answer", Help: "answer the ringing call", NeedsDaemon: true,
			Params: []command.Param{callParam},
			Route:  command.Route{Method: "POST", Path: "/v1/calls/{call}/answer"}},
			Run: onPhone((*phone.Phone).Answer)},
		{Spec: command.Spec{Name: "Reject", Help: "reject the ringing call (486, or 603 with --decline)", NeedsDaemon: true,
			Params: []command.Param{callParam, {Name: "decline", Kind: command.Bool, Help: "send 603 Decline"}},
			Route:  command.Route{Method: "POST", Path: "/v1/calls/{call}/reject"}},
			Run: onPhone((*phone.Phone).Reject)},
		{Spec: command.Spec{Name: "Hold", Help: "toggle hold/resume",
			Params: []command.Param{callParam},
			Route:  command.Route{Method: "POST", Path: "/v1/calls/{call}/hold"}},
			Run: onPhone((*phone.Phone).Hold)},
		{Spec: command.Spec{Name: "Transfer", Help: "blind transfer (REFER); reports the NOTIFY outcome",
			Params: []command.Param{numberParam, callParam, timeoutParam},
			Route:  command.Route{Method: "POST", Path: "/v1/calls/{call}/transfer"}},
			Run: onPhone((*phone.Phone).Transfer)},
		{Spec: command.Spec{Name: "SendDTMF", Help: "send digits by DTMFMethod (auto: RFC 4733 when offered, else SIP INFO); ',' is a pause",
			Params: []command.Param{{Name: "digits", Kind: command.String, Positional: true, Required: true,
				Help: "0-9 * # A-D and ,"}, callParam, timeoutParam},
			Route: command.Route{Method: "POST", Path: "/v1/calls/{call}/dtmf"}},
			Run: onPhone((*phone.Phone).SendDTMF)},
		{Spec: command.Spec{Name: "Play", Help: "play a WAV file into the call in place of the input device (play stop: stop it); waits for the call to be established",
			Params: []command.Param{{Name: "file", Kind: command.String, Positional: true, Required: true, Path: true,
				Keywords: []string{"stop"}, Help: "WAV file (any rate, depth, channels), or stop"},
				callParam, {Name: "loop", Kind: command.Bool, Help: "play the file again and again until play stop"}, timeoutParam},
			Route: command.Route{Method: "POST", Path: "/v1/calls/{call}/play"}},
			Run: onPhone((*phone.Phone).Play)},
		{Spec: command.Spec{Name: "Record", Help: "start or stop recording the call: a stereo WAV in recordingPath (local left, remote right)",
			Params: []command.Param{{Name: "action", Kind: command.String, Positional: true, Required: true,
				Enum: []string{"start", "stop"}, Help: "start or stop"}, callParam},
			Route: command.Route{Method: "POST", Path: "/v1/calls/{call}/record/{action}"}},
			Run: onPhone((*phone.Phone).Record)},
		{Spec: command.Spec{Name: "Mute", Help: "toggle (or set) microphone mute",
			Params: []command.Param{{Name: "state", Kind: command.String, Positional: true,
				Enum: []string{"on", "off"}, Help: "on or off"}},
			Route: command.Route{Method: "POST", Path: "/v1/audio/mute"}},
			Run: onPhone((*phone.Phone).Mute)},
		{Spec: command.Spec{Name: "VolumeUp", Help: "speaker volume + steps x 10",
			Params: []command.Param{stepsParam},
			Route:  command.Route{Method: "POST", Path: "/v1/audio/volume/up"}},
			Run: stepVolume(false, +1)},
		{Spec: command.Spec{Name: "VolumeDown", Help: "speaker volume - steps x 10",
			Params: []command.Param{stepsParam},
			Route:  command.Route{Method: "POST", Path: "/v1/audio/volume/down"}},
			Run: stepVolume(false, -1)},
		{Spec: command.Spec{Name: "MicUp", Help: "microphone level + steps x 10",
			Params: []command.Param{stepsParam},
			Route:  command.Route{Method: "POST", Path: "/v1/audio/mic/up"}},
			Run: stepVolume(true, +1)},
		{Spec: command.Spec{Name: "MicDown", Help: "microphone level - steps x 10",
			Params: []command.Param{stepsParam},
			Route:  command.Route{Method: "POST", Path: "/v1/audio/mic/down"}},
			Run: stepVolume(true, -1)},
		{Spec: command.Spec{Name: "SetVolume", Help: "set speaker volume",
			Params: []command.Param{levelParam},
			Route:  command.Route{Method: "PUT", Path: "/v1/audio/volume"}},
			Run: setVolume(false)},
		{Spec: command.Spec{Name: "SetMicVolume", Help: "set microphone level",
			Params: []command.Param{levelParam},
			Route:  command.Route{Method: "PUT", Path: "/v1/audio/mic"}},
			Run: setVolume(true)},
		{Spec: command.Spec{Name: "SetDevice", Help: "switch audio device, also mid-call",
			Params: []command.Param{
				{Name: "direction", Kind: command.String, Positional: true, Required: true,
					Enum: []string{"input", "output"}, Help: "input or output"},
				{Name: "device", Kind: command.String, Positional: true, Required: true, Help: "device id"}},
			Route: command.Route{Method: "PUT", Path: "/v1/audio/{direction}"}},
			Run: onPhone((*phone.Phone).SetDevice)},
		{Spec: command.Spec{Name: "Devices", Help: "list audio devices with ids",
			Route: command.Route{Method: "GET", Path: "/v1/devices"}},
			Run: onPhone((*phone.Phone).Devices)},
		{Spec: command.Spec{Name: "Status", Help: "state of accounts, calls, audio", NeedsDaemon: true,
			Params: []command.Param{jsonParam},
			Route:  command.Route{Method: "GET", Path: "/v1/status"}},
			Run: func(d *Daemon, _ context.Context, _ command.Args) (any, error) { return d.phone.Status(), nil }},
		{Spec: command.Spec{Name: "Message", Help: "send a SIP MESSAGE; reports delivery status",
			Params: []command.Param{{Name: "to", Kind: command.String, Positional: true, Required: true, Help: "number or URI"},
				{Name: "text", Kind: command.String, Positional: true, Required: true, Help: "message text"}, accountParam},
			Route: command.Route{Method: "POST", Path: "/v1/messages"}},
			Run: onPhone((*phone.Phone).SendMessage)},
		{Spec: command.Spec{Name: "Messages", Help: "list sent and received messages, oldest first",
			Params: []command.Param{jsonParam,
				{Name: "with", Kind: command.String, Help: "only messages with this number or URI"}, limitParam},
			Route: command.Route{Method: "GET", Path: "/v1/messages"}},
			Run: onPhone((*phone.Phone).Messages)},
		{Spec: command.Spec{Name: "History", Help: "list calls, newest first",
			Params: []command.Param{jsonParam,
				{Name: "number", Kind: command.String, Help: "only calls with this number"}, limitParam},
			Route: command.Route{Method: "GET", Path: "/v1/history"}},
			Run: onPhone((*phone.Phone).History)},
		{Spec: command.Spec{Name: "Close", Help: "hang up, unregister, exit the daemon", NeedsDaemon: true,
			Route: command.Route{Method: "POST", Path: "/v1/close"}},
			Run: (*Daemon).close},
		{Spec: command.Spec{Name: "Accounts", Help: "list accounts",
			Route: command.Route{Method: "GET", Path: "/v1/accounts"}},
			Run: func(d *Daemon, _ context.Context, _ command.Args) (any, error) { return d.phone.Status().Accounts, nil }},
		{Spec: command.Spec{Name: "Register", Help: "register an account now",
			Params: []command.Param{{Name: "account", Kind: command.String, Positional: true,
				Help: "account id or number (default: every account with a server)"}},
			Route: command.Route{Method: "POST", Path: "/v1/accounts/{account}/register"}},
			Run: onPhone((*phone.Phone).Register)},
		{Spec: command.Spec{Name: "Unregister", Help: "unregister an account until Register", NeedsDaemon: true,
			Params: []command.Param{{Name: "account", Kind: command.String, Positional: true,
				Help: "account id or number (default: every account with a server)"}},
			Route: command.Route{Method: "POST", Path: "/v1/accounts/{account}/unregister"}},
			Run: onPhone((*phone.Phone).Unregister)},
		{Spec: command.Spec{Name: "Debug", Help: "runtime figures: goroutines, heap in use after GC, RSS",
			Route: command.Route{Method: "GET", Path: "/v1/debug"}},
			Run: func(*Daemon, context.Context, command.Args) (any, error) { return runtimeStats(), nil }},
		{Spec: command.Spec{Name: "Wait", Help: "block until an event of the given type",
			Params: []command.Param{{Name: "event", Kind: command.String, Positional: true, Required: true,
				Help: "event type, e.g. call.established"},
				{Name: "call", Kind: command.String, Help: "only events of this call"}, timeoutParam},
			Route: command.Route{Method: "GET", Path: "/v1/wait/{event}"}},
			Run: (*Daemon).wait},
		{Spec: command.Spec{Name: "Subscribe", Help: "stream events", Stream: true,
			Params: []command.Param{{Name: "since", Kind: command.Int, Help: "resume after this seq"}},
			Route:  command.Route{Method: "GET", Path: "/v1/events"}},
			Run: func(*Daemon, context.Context, command.Args) (any, error) {
				return nil, command.Errorf(command.CodeBadArgs,
					"Subscribe is a stream: send it on the control socket, or GET /v1/events")
			}},
	}
}

// Specs is the command table as clients see it: without the handlers.
func Specs() command.Specs { return commands().Specs() }

// onPhone adapts a phone method to the table's handler shape.
func onPhone(f func(p *phone.Phone, ctx context.Context, args command.Args) (any, error)) handler {
	return func(d *Daemon, ctx context.Context, a command.Args) (any, error) { return f(d.phone, ctx, a) }
}

func stepVolume(mic bool, sign int) handler {
	return func(d *Daemon, _ context.Context, a command.Args) (any, error) {
		return d.phone.StepVolume(a, mic, sign)
	}
}

func setVolume(mic bool) handler {
	return func(d *Daemon, _ context.Context, a command.Args) (any, error) {
		return d.phone.SetVolume(a, mic)
	}
}

// unavailable is the handler of a command not built yet.
func unavailable(why string) handler {
	return func(*Daemon, context.Context, command.Args) (any, error) {
		return nil, command.Errorf(command.CodeUnavailable, "%s", why)
	}
}

package sipua

import "errors"

// Errors of a call's state. Callers map them to stable codes with
// errors.Is: each means the command came at the wrong moment in the call's
// life, not that something broke.
var (
	// ErrNotEstablished: the call is not (or not yet) confirmed.
	ErrNotEstablished = errors.New("call is not established")
	// ErrCallEnded: the call ended, or ended before the request completed.
	ErrCallEnded = errors.New("call has ended")
	// ErrAnswered: the incoming call was answered already.
	ErrAnswered = errors.New("call already answered")
	// ErrNotIncoming: only an incoming call can be answered or rejected.
	ErrNotIncoming = errors.New("not an incoming call")
)

// ErrServerNotFound: DNS has no address for the account's proxy or server
// (RFC 3263), or could not be asked.
var ErrServerNotFound = errors.New("the account's server was not found in DNS")

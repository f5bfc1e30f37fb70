package sipua

import (
	"slices"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// allow is the Allow header of our 405 and 501 answers (RFC 3261 §8.2.1,
// §21.5.2 make it a MUST): the methods the SIP server has handlers for.
// Handlers are registered before the server serves, so the list is fixed by
// the time a request can ask.
func (u *UA) allow() sip.Header {
	methods := u.srv.RegisteredMethods()
	slices.Sort(methods)
	return sip.NewHeader("Allow", strings.Join(methods, ", "))
}

// noRoute answers a request of a known method that no handler takes
// (REGISTER, PUBLISH, SUBSCRIBE … on a phone): 405 Method Not Allowed with
// Allow, where sipgo's default leaves Allow out.
func (u *UA) noRoute(req *sip.Request, tx sip.ServerTransaction) {
	if u.rejectInvalid(req, tx) || tx == nil {
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
	res.AppendHeader(u.allow())
	if err := tx.Respond(res); err != nil {
		u.log.Info("answering 405", "method", string(req.Method), "error", err)
	}
}

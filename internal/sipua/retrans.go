package sipua

import (
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// What an ended call leaves behind.
//
// sipgo keeps a server transaction over UDP for 64·T1 = 32 s after its
// final response: a non-INVITE one (a BYE) in Completed state until Timer
// J, an INVITE answered 2xx in Accepted state until Timer L (RFC 6026),
// each with its parsed request, its parsed response and the callbacks
// registered on it, which reach the whole dialog. At 300 calls/s of 1 s
// that was ~10 KB for each of the 9600 calls that ended in the last 32 s.
// What the RFCs still want in that time is small: a retransmitted BYE is
// answered with the same final response (RFC 3261 §17.2.2), a
// retransmitted INVITE is absorbed (RFC 6026 §7.1; sipgo ends the INVITE
// transaction at the BYE, after which a retransmitted INVITE was taken
// for a new call). So, once the request's handler has returned (for an
// INVITE: the call has ended):
//
//   - a non-INVITE transaction is ended at once and the text of its final
//     response kept for 64·T1 (answered), to be sent again on a
//     retransmission;
//   - an INVITE answered 2xx: its key is kept for 64·T1 (answered, with
//     no text), and a retransmission is absorbed. Its transaction, which
//     Timer L's pending timer keeps reachable for 32 s (a timer gophone
//     cannot stop), is emptied: the callbacks registered through finalTx
//     are dropped, and the request and the 2xx lose their headers and
//     bodies (their Method and status code, all the transaction reads of
//     them from then on, stay).

// maxAnswered bounds how many final responses answered remembers (a
// flood of requests): past it the oldest are forgotten early.
const maxAnswered = 1 << 17

// answered keeps, for 64·T1, the text of the final responses sent to
// non-INVITE requests over UDP whose server transactions were ended early,
// and the keys of the INVITE transactions answered 2xx.
type answered struct {
	mu    sync.Mutex
	m     map[string]answer // server transaction key → its response
	order []keyAt           // what m was given, oldest first
	ttl   time.Duration
}

type answer struct {
	text string
	at   time.Time
}

type keyAt struct {
	key string
	at  time.Time
}

func newAnswered() *answered {
	return &answered{m: make(map[string]answer), ttl: 64 * sip.T1}
}

// keyer is what sipgo's server transactions are: they have their key.
type keyer interface{ Key() string }

// replay answers req on tx when it retransmits a request answered
// earlier (an INVITE: absorbs it), and ends tx. It reports whether it did.
func (a *answered) replay(req *sip.Request, tx sip.ServerTransaction) bool {
	k, ok := tx.(keyer)
	if !ok || req.IsAck() {
		return false
	}
	a.mu.Lock()
	r, ok := a.m[k.Key()]
	a.mu.Unlock()
	if !ok || time.Since(r.at) > a.ttl {
		return false
	}
	if r.text != "" {
		msg, err := sip.ParseMessage([]byte(r.text))
		if res, isRes := msg.(*sip.Response); err == nil && isRes {
			tx.Respond(res)
		}
	}
	tx.Terminate()
	return true
}

// end is called once the handler of req returned: see the top of this
// file. Reliable transports are left to sipgo, which ends their
// transactions at once.
func (a *answered) end(req *sip.Request, tx *finalTx) {
	tx.release()
	res := tx.finalResponse()
	k, ok := tx.ServerTransaction.(keyer)
	if res == nil || !ok || req.IsAck() || sip.IsReliable(req.Transport()) {
		return
	}
	if req.IsInvite() {
		if res.IsSuccess() && tx.newDialog {
			tx.empty(req)
			// sipgo ends the transaction at the BYE, before Timer L: its
			// retransmissions are absorbed here instead.
			a.remember(k.Key(), "")
		}
		return
	}
	// Cloned: the builder's text has room to spare, a third more.
	a.remember(k.Key(), strings.Clone(res.String()))
	tx.ServerTransaction.Terminate()
}

// remember keeps text as the response of the transaction key, and drops
// what expired.
func (a *answered) remember(key, text string) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, old := range a.order {
		if now.Sub(old.at) <= a.ttl && len(a.order)-n < maxAnswered {
			break
		}
		if a.m[old.key].at == old.at {
			delete(a.m, old.key)
		}
		n++
	}
	a.order = append(a.order[n:], keyAt{key, now})
	a.m[key] = answer{text: text, at: now}
}

// finalTx notes the final response sent on a server transaction, and
// holds the callbacks registered on it (sipgo's dialog registers closures
// that reach the whole dialog) so that release can drop them.
type finalTx struct {
	sip.ServerTransaction
	newDialog bool // an INVITE without a To tag

	mu      sync.Mutex // Respond, final, emptied
	final   *sip.Response
	emptied bool

	cbMu        sync.Mutex // the callbacks: they run inside sipgo's Respond
	onTerminate []sip.FnTxTerminate
	onCancel    []sip.FnTxCancel
}

// finalResponse returns the final response sent on t, or nil.
func (t *finalTx) finalResponse() *sip.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.final
}

// Respond sends res, unless the transaction was emptied (the call ended
// while a 2xx was still being retransmitted: nothing is left to send).
func (t *finalTx) Respond(res *sip.Response) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.emptied {
		return sip.ErrTransactionTerminated
	}
	err := t.ServerTransaction.Respond(res)
	if err == nil && res.StatusCode >= 200 {
		t.final = res
	}
	return err
}

// empty drops the headers and bodies of req and of the final response
// sent on t, which the transaction keeps until Timer L but never reads
// again: in Accepted state it reads only the request's Method (to match a
// retransmission) and the response's status code.
func (t *finalTx) empty(req *sip.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.emptied = true
	req.MessageData, req.Recipient = sip.MessageData{}, sip.Uri{}
	t.final.MessageData = sip.MessageData{}
	t.final = nil
}

// OnTerminate registers f with the transaction through t, which release
// can empty.
func (t *finalTx) OnTerminate(f sip.FnTxTerminate) bool {
	t.cbMu.Lock()
	t.onTerminate = append(t.onTerminate, f)
	t.cbMu.Unlock()
	return t.ServerTransaction.OnTerminate(func(key string, err error) {
		t.cbMu.Lock()
		fs := t.onTerminate
		t.cbMu.Unlock()
		for _, f := range fs {
			f(key, err)
		}
	})
}

// OnCancel registers f with the transaction through t, which release can
// empty.
func (t *finalTx) OnCancel(f sip.FnTxCancel) bool {
	t.cbMu.Lock()
	t.onCancel = append(t.onCancel, f)
	t.cbMu.Unlock()
	return t.ServerTransaction.OnCancel(func(r *sip.Request) {
		t.cbMu.Lock()
		fs := t.onCancel
		t.cbMu.Unlock()
		for _, f := range fs {
			f(r)
		}
	})
}

// release drops the callbacks registered through t: once the handler of
// the request returned, the call (dialog) they were for has ended.
func (t *finalTx) release() {
	t.cbMu.Lock()
	t.onTerminate, t.onCancel = nil, nil
	t.cbMu.Unlock()
}

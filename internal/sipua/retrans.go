package sipua

import (
	"hash/maphash"
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
// retransmitted INVITE is absorbed while the dialog retransmits its 2xx
// until the ACK (RFC 6026 §7.1). So:
//
//   - a non-INVITE transaction is ended once its handler returned, and its
//     final response kept for 64·T1 (answered: its status, when the
//     response is the one NewResponseFromRequest makes, as a BYE's 200 is,
//     else its text), to be sent again on a retransmission;
//   - the 2xx of an INVITE that makes a new dialog is sent on the
//     connection directly and its transaction ended at once (finalTx): its
//     key is kept for 64·T1 and a retransmitted INVITE is absorbed (sipgo
//     had ended the transaction at the BYE anyway, after which such an
//     INVITE was taken for a new call).

// maxAnswered bounds how many entries answered keeps (a flood of
// requests): past it the oldest are forgotten early.
const maxAnswered = 1 << 17

// answered keeps, for 64·T1, the text of the final responses sent to
// non-INVITE requests over UDP whose server transactions were ended early,
// and the keys of the INVITE transactions answered 2xx (with no text).
//
// Transaction keys are kept as 64-bit hashes (maphash, with a seed of
// this process): ~12 000 entries at 300 calls/s, where a collision that
// would take a new request for a retransmission has odds of 1 in 10^15.
type answered struct {
	mu    sync.Mutex
	seed  maphash.Seed
	m     map[uint64]answer // hash of a server transaction's key → its answer
	order []keyAt           // what m was given, oldest first
	ttl   time.Duration
}

// answer is what a retransmission gets: text sent as is; else, when code
// is set, the response made from the retransmitted request with code and
// reason (what the first one was: most are, a BYE's 200 always); else
// nothing (an INVITE, absorbed).
type answer struct {
	text   string
	code   int
	reason string
	at     time.Time
}

type keyAt struct {
	key uint64
	at  time.Time
}

func newAnswered() *answered {
	return &answered{seed: maphash.MakeSeed(), m: make(map[uint64]answer), ttl: 64 * sip.T1}
}

// hash is what a transaction key is kept as.
func (a *answered) hash(key string) uint64 { return maphash.String(a.seed, key) }

// keyer is what sipgo's server transactions are: they have their key.
type keyer interface{ Key() string }

// replay answers req on tx when it retransmits a request answered
// earlier (an INVITE: absorbs it), and ends tx. It reports whether it did.
func (a *answered) replay(req *sip.Request, tx sip.ServerTransaction) bool {
	k, ok := tx.(keyer)
	if !ok || req.IsAck() {
		return false
	}
	h := a.hash(k.Key())
	a.mu.Lock()
	r, ok := a.m[h]
	a.mu.Unlock()
	if !ok || time.Since(r.at) > a.ttl {
		return false
	}
	switch {
	case r.text != "":
		msg, err := sip.ParseMessage([]byte(r.text))
		if res, isRes := msg.(*sip.Response); err == nil && isRes {
			tx.Respond(res)
		}
	case r.code != 0:
		tx.Respond(sip.NewResponseFromRequest(req, r.code, r.reason, nil))
	}
	tx.Terminate()
	return true
}

// serverTx wraps tx, the transaction of req, for what answered does.
func (a *answered) serverTx(req *sip.Request, tx sip.ServerTransaction) *finalTx {
	ft := &finalTx{ServerTransaction: tx}
	k, ok := tx.(keyer)
	if !ok || !req.IsInvite() || sip.IsReliable(req.Transport()) {
		return ft
	}
	if to := req.To(); to != nil && !to.Params.Has("tag") {
		ft.accepted = func() { a.remember(k.Key(), answer{}) }
	}
	return ft
}

// end is called once the handler of req returned: a non-INVITE
// transaction over UDP that was answered is ended, its response kept.
// Reliable transports are left to sipgo, which ends their transactions at
// once.
func (a *answered) end(req *sip.Request, tx *finalTx) {
	res := tx.finalResponse()
	k, ok := tx.ServerTransaction.(keyer)
	if res == nil || !ok || req.IsInvite() || req.IsAck() || sip.IsReliable(req.Transport()) {
		return
	}
	text := res.String()
	if len(res.Body()) == 0 && sip.NewResponseFromRequest(req, res.StatusCode, res.Reason, nil).String() == text {
		a.remember(k.Key(), answer{code: res.StatusCode, reason: res.Reason})
	} else {
		// Cloned: the builder's text has room to spare, a third more.
		a.remember(k.Key(), answer{text: strings.Clone(text)})
	}
	tx.ServerTransaction.Terminate()
}

// remember keeps r as the answer of the transaction key, and drops what
// expired.
func (a *answered) remember(key string, r answer) {
	h := a.hash(key)
	now := time.Now()
	r.at = now
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
	a.order = append(a.order[n:], keyAt{h, now})
	a.m[h] = r
}

// finalTx notes the final response sent on a server transaction, and
// sends the 2xx of a new dialog itself (Respond).
type finalTx struct {
	sip.ServerTransaction
	// accepted is set for an INVITE over UDP that makes a new dialog;
	// Respond calls it once the 2xx was sent and the transaction ended.
	accepted func()

	mu     sync.Mutex // Respond, final, direct
	final  *sip.Response
	direct sip.Connection // the 2xx went out on it, not through the transaction
}

// finalResponse returns the final response sent on t, or nil.
func (t *finalTx) finalResponse() *sip.Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.final
}

// Respond sends res on the transaction.
//
// The 2xx of a new dialog over UDP goes to the connection directly and
// the transaction is ended at once: in sipgo it would enter Accepted
// state and stay, with the INVITE, the 2xx and the callbacks that reach
// the dialog, for Timer L's 32 s, for two jobs that need far less:
// absorbing a retransmitted INVITE (answered keeps its key) and passing on
// the 2xx the dialog retransmits until the ACK (those come here and go to
// the connection too). The ACK of a 2xx is a transaction of its own and
// reaches the dialog without this one.
func (t *finalTx) Respond(res *sip.Response) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.direct != nil {
		return t.direct.WriteMsg(res)
	}
	c, ok := t.ServerTransaction.(interface{ Connection() sip.Connection })
	if ok && t.accepted != nil && res.IsSuccess() {
		conn := c.Connection()
		if err := conn.WriteMsg(res); err != nil {
			return err
		}
		t.direct, t.final = conn, res
		t.accepted()
		t.ServerTransaction.Terminate()
		return nil
	}
	err := t.ServerTransaction.Respond(res)
	if err == nil && res.StatusCode >= 200 {
		t.final = res
	}
	return err
}

package sipua

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// forkedAnswer takes a 2xx to one of our INVITEs whose To tag is not that
// of the call's confirmed dialog: another branch of a forked INVITE
// answered too. sipgo's INVITE transaction, which for 64·T1 after the first
// 2xx absorbs its retransmissions (RFC 6026), would take it for one and
// resend the first dialog's ACK; strayResponse ACKs it and ends it with BYE
// instead. It reports whether it took res.
func (u *UA) forkedAnswer(res *sip.Response) bool {
	cseq, to, callID := res.CSeq(), res.To(), res.CallID()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sip.INVITE || to == nil || callID == nil {
		return false
	}
	c := u.lookup(callID.Value())
	if c == nil {
		return false
	}
	tag, ok := c.answerTag()
	if toTag, _ := to.Params.Get("tag"); !ok || toTag == tag {
		return false // not confirmed yet, or a retransmission of its 2xx
	}
	u.strayResponse(res)
	return true
}

// strayResponse handles a response no transaction waits for. A 2xx to an
// INVITE that is not our confirmed dialog — one that crossed our CANCEL, or
// an extra 2xx of a forked INVITE — is ACKed and then ended with BYE (RFC
// 3261 §13.2.2.4). A retransmitted 2xx of our own dialog is ACKed again.
// A 2xx for a Call-ID that is not one of our INVITEs is dropped.
func (u *UA) strayResponse(res *sip.Response) {
	cseq := res.CSeq()
	if cseq == nil || cseq.MethodName != sip.INVITE || !res.IsSuccess() {
		return
	}
	contact, to, from, callID := res.Contact(), res.To(), res.From(), res.CallID()
	if contact == nil || to == nil || from == nil || callID == nil || !u.ours(callID.Value()) {
		return // not an answer to an INVITE of ours
	}
	toTag, _ := to.Params.Get("tag")
	ours := false
	if c := u.lookup(callID.Value()); c != nil {
		tag, ok := c.answerTag()
		ours = ok && tag == toTag
	}
	client, err := sipgo.NewClient(u.ua, sipgo.WithClientHostname(u.host), sipgo.WithClientLogger(u.log))
	if err != nil {
		u.log.Warn("answering a stray 2xx", "error", err)
		return
	}
	newReq := func(method sip.RequestMethod, seq uint32) *sip.Request {
		req := sip.NewRequest(method, contact.Address)
		req.AppendHeader(sip.HeaderClone(from))
		req.AppendHeader(sip.HeaderClone(to))
		req.AppendHeader(sip.HeaderClone(callID))
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
		maxf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&maxf)
		req.SetTransport(res.Transport())
		return req
	}
	ack := newReq(sip.ACK, cseq.SeqNo)
	if err := client.WriteRequest(ack, sipgo.ClientRequestAddVia); err != nil {
		u.log.Warn("ACK for a stray 2xx", "error", err)
		return
	}
	if ours {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(u.ctx, 32*time.Second)
		defer cancel()
		bye := newReq(sip.BYE, cseq.SeqNo+1)
		if _, err := client.Do(ctx, bye, sipgo.ClientRequestAddVia); err != nil {
			u.log.Info("BYE for a stray 2xx", "call-id", callID.Value(), "error", err)
		}
	}()
}

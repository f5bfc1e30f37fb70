package sipua

import (
	"context"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

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
	if c := u.lookup(callID.Value()); c != nil && c.isConfirmed() && c.cli != nil && c.cli.InviteResponse != nil {
		if t := c.cli.InviteResponse.To(); t != nil {
			tag, _ := t.Params.Get("tag")
			ours = tag == toTag
		}
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

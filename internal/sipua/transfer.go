package sipua

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// Transfer sends a blind transfer (REFER) to target and waits for the final
// NOTIFY. It returns the final sipfrag status code.
func (c *Call) Transfer(ctx context.Context, target string) (int, error) {
	if !c.isConfirmed() {
		return 0, ErrNotEstablished
	}
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return 0, fmt.Errorf("transfer target %q: %w", target, err)
	}
	final := make(chan int, 1)
	onNotify := func(code int) {
		if code >= 200 {
			select {
			case final <- code:
			default:
			}
		}
	}
	var err error
	if c.srv != nil {
		err = c.srv.ReferOptions(ctx, uri, diago.ReferServerOptions{OnNotify: onNotify})
	} else {
		err = c.cli.ReferOptions(ctx, uri, diago.ReferClientOptions{OnNotify: onNotify})
	}
	if err != nil {
		return 0, fmt.Errorf("REFER: %w", describe(err))
	}
	select {
	case code := <-final:
		return code, nil
	case <-c.done:
		return 0, fmt.Errorf("%w before the transfer completed", ErrCallEnded)
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for the transfer outcome: %w", ctx.Err())
	}
}

// onRefer runs when the far end transfers us: it calls the target as a new
// outgoing call and stays until that call ends (diago ends the new dialog
// when this returns).
//
// A call of an account places the new call through that account, as Dial
// with it does: diago made the dialog for the agent's default transport,
// so it gets the account's transport and client too.
func (c *Call) onRefer(d *diago.DialogClientSession) error {
	nc := newCall(c.u, Outgoing)
	if acc := c.account; acc != nil {
		routed, err := c.u.route(c.u.ctx, *acc)
		if err != nil {
			return err
		}
		client, err := c.u.accountClientFor(routed)
		if err != nil {
			return err
		}
		d.UA.Client = client
		d.InviteRequest.SetTransport(strings.ToUpper(routed.transport()))
		c.u.useAccount(d, &routed)
		nc.account = acc
	} else if c.u.ports.dualStack {
		if err := c.u.leaveToward(d, d.InviteRequest.Recipient.Host); err != nil {
			return err
		}
	}
	nc.cli = d
	uri := d.InviteRequest.Recipient
	nc.remoteURI = uri.String()
	nc.number = uri.User
	nc.sipCallID = ensureCallID(d.InviteRequest)
	c.u.track(nc)
	// The transfer target is reported like a call of our own.
	if f := c.u.cfg.OnReferred; f != nil {
		nc.SetListener(f(c, nc))
	}
	// The target is called with the transferred call's SRTP policy.
	nc.srtp = c.srtp
	nc.codecs = c.codecs
	if err := nc.setDialogMedia(d); err != nil {
		nc.finish(488, err.Error())
		return err
	}
	err := nc.invite(c.u.ctx, d)
	if err != nil {
		return err
	}
	<-nc.done
	return nil
}

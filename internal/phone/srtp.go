package phone

import (
	"log/slog"

	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/sipua"
)

// srtpPolicy is acc's SRTP setting as the user agent takes it.
func srtpPolicy(acc config.Account) sipua.SRTP {
	mode, _ := sipua.ParseSRTPMode(acc.SRTP) // config checked the value
	return sipua.SRTP{Mode: mode, OverUDP: acc.SRTPOverUDP}
}

// accountSRTP is the SRTP policy of the account an incoming call is for.
func (p *Phone) accountSRTP(id string) sipua.SRTP {
	for _, acc := range p.cfg.Accounts {
		if acc.ID == id {
			return srtpPolicy(acc)
		}
	}
	return sipua.SRTP{}
}

// warnSRTP warns about accounts whose SRTP setting their transport does
// not allow: SDES keys travel in the SIP messages, readable by anyone on
// the path unless the signalling is TLS.
func warnSRTP(cfg *config.Config, log *slog.Logger) {
	for _, a := range cfg.Accounts {
		if a.SRTP == "" || a.Transport == "tls" || a.SRTPOverUDP {
			continue
		}
		over := a.Transport
		if over == "" { // auto: DNS may pick TLS for a server, never for a local account
			over = "udp"
			if a.Server != "" || a.Proxy != "" {
				over = "transport auto"
			}
		}
		outcome := "offer none"
		if a.SRTP == "mandatory" {
			outcome = "fail"
		}
		log.Warn("SRTP="+a.SRTP+" over "+over+": SRTP keys are sent over TLS only, so this account's calls not over TLS "+
			outcome+" (set srtpOverUDP=1 to send them in clear SIP)", "account", a.ID)
	}
}

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
		if a.SRTP == "mandatory" {
			log.Warn("SRTP=mandatory over "+a.Transport+": SRTP keys are sent over TLS only, so this account's calls over "+
				a.Transport+" fail (set srtpOverUDP=1 to send them in clear SIP)", "account", a.ID)
			continue
		}
		log.Warn("SRTP=optional over "+a.Transport+": SRTP keys are sent over TLS only, so this account's calls over "+
			a.Transport+" offer none (set srtpOverUDP=1 to send them in clear SIP)", "account", a.ID)
	}
}

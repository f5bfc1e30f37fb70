package sipua

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

func callerIdentity(req *sip.Request) (number, name, uri string) {
	if pai := req.GetHeader("P-Asserted-Identity"); pai != nil {
		// A PAI may carry several identities (sip: and tel:); the first is taken.
		var u sip.Uri
		params := sip.NewParams()
		if dn, err := sip.ParseAddressValue(firstAddress(pai.Value()), &u, &params); err == nil {
			return uriNumber(u), dn, u.String()
		}
	}
	if from := req.From(); from != nil {
		return uriNumber(from.Address), from.DisplayName, from.Address.String()
	}
	return "", "", ""
}

// uriNumber is the number a URI names: its user part, or a tel: URI's number.
func uriNumber(u sip.Uri) string {
	if u.User == "" && strings.EqualFold(u.Scheme, "tel") {
		number, _, _ := strings.Cut(strings.TrimPrefix(u.String(), u.Scheme+":"), ";")
		return number
	}
	return u.User
}

// firstAddress returns the first of a comma-separated list of name-addr
// values, ignoring commas inside quotes and angle brackets.
func firstAddress(v string) string {
	quoted, angle := false, false
	for i, r := range v {
		switch {
		case r == '"' && (i == 0 || v[i-1] != '\\'):
			quoted = !quoted
		case r == '<' && !quoted:
			angle = true
		case r == '>' && !quoted:
			angle = false
		case r == ',' && !quoted && !angle:
			return strings.TrimSpace(v[:i])
		}
	}
	return strings.TrimSpace(v)
}

// URINumber is the number a SIP or tel URI names (its user part), or "".
func URINumber(uri string) string {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return ""
	}
	return uriNumber(u)
}

package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// mqttFields returns the keys of [MQTT].
func mqttFields() []field[MQTT] {
	return []field[MQTT]{
		{name: "broker", set: func(m *MQTT, v string) error {
			b, err := parseBroker(v)
			m.Broker = b
			return err
		}, get: func(m *MQTT) string { return m.Broker }},
		stringField("caFile", func(m *MQTT) *string { return &m.CAFile }),
		{name: "clientId", set: func(m *MQTT, v string) error {
			if strings.ContainsAny(v, "+#/\x00") {
				return fmt.Errorf("%q may not contain '+', '#', '/' or NUL", v)
			}
			m.ClientID = v
			return nil
		}, get: func(m *MQTT) string { return m.ClientID }},
		{name: "topicPrefix", set: func(m *MQTT, v string) error {
			p, err := parseTopicPrefix(v)
			m.TopicPrefix = p
			return err
		}, get: func(m *MQTT) string { return m.TopicPrefix }},
		stringField("username", func(m *MQTT) *string { return &m.Username }),
		secretField(stringField("password", func(m *MQTT) *string { return &m.Password })),
	}
}

// parseBroker checks a broker URL, mqtt://HOST[:PORT] or mqtts://HOST[:PORT],
// and returns it with the scheme's default port (1883, 8883) filled in.
func parseBroker(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%q is not mqtt://HOST:PORT or mqtts://HOST:PORT", v)
	}
	scheme := strings.ToLower(u.Scheme)
	defPort := map[string]string{"mqtt": "1883", "mqtts": "8883"}[scheme]
	if defPort == "" {
		return "", fmt.Errorf("%q: the scheme must be mqtt:// or mqtts://", v)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = defPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is not a number 1-65535", v, port)
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// parseTopicPrefix checks a topic prefix: topic levels without MQTT's
// wildcards; a trailing '/' is dropped.
func parseTopicPrefix(v string) (string, error) {
	p := strings.TrimRight(v, "/")
	if p == "" || strings.ContainsAny(p, "+#\x00") {
		return "", fmt.Errorf("%q is not a topic prefix (non-empty, without '+', '#' or NUL)", v)
	}
	return p, nil
}

// finishMQTT fills in [MQTT]'s derived defaults once the section is read:
// the client id from the host name, the topic prefix from the client id,
// and caFile's absolute path. keys are the keys given, with their lines.
func finishMQTT(file string, keys map[string]int, m *MQTT, dir, home string) error {
	if m.Broker == "" {
		return nil
	}
	m.CAFile = absPath(m.CAFile, dir, home)
	if m.CAFile != "" && !strings.HasPrefix(m.Broker, "mqtts://") {
		return &Error{file, keys["caFile"], "caFile: needs an mqtts:// broker"}
	}
	if m.Password != "" && m.Username == "" {
		return &Error{file, keys["password"], "password: needs username"}
	}
	if m.ClientID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" || strings.ContainsAny(h, "+#/\x00") {
			h = "gophone"
		}
		m.ClientID = h
	}
	if m.TopicPrefix == "" {
		m.TopicPrefix = "gophone/" + m.ClientID
	}
	return nil
}

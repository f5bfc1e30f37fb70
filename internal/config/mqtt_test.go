package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

func TestMQTT(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ini string
		want      MQTT
	}{
		{"absent", "[Settings]\n", MQTT{}},
		{"no broker: off", "[MQTT]\nusername=u\n", MQTT{Username: "u"}},
		{"defaults", "[MQTT]\nbroker=mqtt://127.0.0.1:1883\n",
			MQTT{Broker: "mqtt://127.0.0.1:1883", ClientID: host, TopicPrefix: "gophone/" + host}},
		{"default port", "[mqtt]\nBroker=MQTT://broker.lan\n",
			MQTT{Broker: "mqtt://broker.lan:1883", ClientID: host, TopicPrefix: "gophone/" + host}},
		{"tls default port", "[MQTT]\nbroker=mqtts://[::1]\ncaFile=ca.pem\n",
			MQTT{Broker: "mqtts://[::1]:8883", CAFile: "/cfg/ca.pem", ClientID: host, TopicPrefix: "gophone/" + host}},
		{"client id names the prefix", "[MQTT]\nbroker=mqtt://b:1\nclientId=kiosk7\nusername=u\npassword=p\n",
			MQTT{Broker: "mqtt://b:1", ClientID: "kiosk7", TopicPrefix: "gophone/kiosk7", Username: "u", Password: "p"}},
		{"own prefix", "[MQTT]\nbroker=mqtt://b:1\nclientId=k\ntopicPrefix=site/a/k/\n",
			MQTT{Broker: "mqtt://b:1", ClientID: "k", TopicPrefix: "site/a/k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w, err := parseTest(tt.ini)
			if err != nil || len(w) > 0 {
				t.Fatalf("err %v, warnings %v", err, w)
			}
			if c.MQTT != tt.want {
				t.Errorf("got  %#v\nwant %#v", c.MQTT, tt.want)
			}
		})
	}
}

func TestMQTTErrors(t *testing.T) {
	tests := []struct{ ini, want string }{
		{"[MQTT]\nbroker=tcp://h:1883\n", `/cfg/t.ini:2: broker: "tcp://h:1883": the scheme must be mqtt:// or mqtts://`},
		{"[MQTT]\nbroker=h:1883\n", `/cfg/t.ini:2: broker: "h:1883" is not mqtt://HOST:PORT or mqtts://HOST:PORT`},
		{"[MQTT]\nbroker=mqtt://u:p@h:1883\n", `/cfg/t.ini:2: broker: "mqtt://u:p@h:1883" is not mqtt://HOST:PORT or mqtts://HOST:PORT`},
		{"[MQTT]\nbroker=mqtt://h:1883/x\n", `/cfg/t.ini:2: broker: "mqtt://h:1883/x" is not mqtt://HOST:PORT or mqtts://HOST:PORT`},
		{"[MQTT]\nbroker=mqtt://h:0\n", `/cfg/t.ini:2: broker: "mqtt://h:0": port "0" is not a number 1-65535`},
		{"[MQTT]\n\nclientId=a/b\n", `/cfg/t.ini:3: clientId: "a/b" may not contain '+', '#', '/' or NUL`},
		{"[MQTT]\ntopicPrefix=a/#\n", `/cfg/t.ini:2: topicPrefix: "a/#" is not a topic prefix (non-empty, without '+', '#' or NUL)`},
		{"[MQTT]\ntopicPrefix=/\n", `/cfg/t.ini:2: topicPrefix: "/" is not a topic prefix (non-empty, without '+', '#' or NUL)`},
		{"[MQTT]\nbroker=mqtt://h\ncaFile=ca.pem\n", "/cfg/t.ini:3: caFile: needs an mqtts:// broker"},
		{"[MQTT]\nbroker=mqtt://h\npassword=p\n", "/cfg/t.ini:3: password: needs username"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, _, err := parseTest(tt.ini)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

func TestMQTTRedaction(t *testing.T) {
	const password = "mqtt-secret-9"
	c, _, err := parseTest("[MQTT]\nbroker=mqtt://h\nusername=fleet\npassword=" + password + "\n")
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("cfg", "config", c, "mqtt", c.MQTT)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("cfg", "config", c, "mqtt", c.MQTT)
	jc, _ := json.Marshal(c)
	jm, _ := json.Marshal(c.MQTT)
	outputs := map[string]string{
		"%v config":  fmt.Sprintf("%v", c),
		"%+v config": fmt.Sprintf("%+v", *c),
		"%#v config": fmt.Sprintf("%#v", c),
		"%v mqtt":    fmt.Sprintf("%v", c.MQTT),
		"%#v mqtt":   fmt.Sprintf("%#v", c.MQTT),
		"slog text":  text.String(),
		"slog json":  js.String(),
		"json cfg":   string(jc),
		"json mqtt":  string(jm),
	}
	for name, out := range outputs {
		if strings.Contains(out, password) {
			t.Errorf("%s leaks the password: %s", name, out)
		}
		if !strings.Contains(out, redacted) || !strings.Contains(out, "fleet") {
			t.Errorf("%s lacks %s or the username: %s", name, redacted, out)
		}
	}
}

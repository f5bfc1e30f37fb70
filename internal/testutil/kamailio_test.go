package testutil

import (
	"testing"
)

// TestKamailio starts the test Kamailio with TLS, stops it and starts it
// again on the same ports: each start returns only once it answers OPTIONS.
func TestKamailio(t *testing.T) {
	k := StartKamailio(t, KamailioOptions{TLS: true, SHA256: true, MinExpires: 30})
	if !k.answersOptions() {
		t.Fatal("no answer to OPTIONS after start")
	}
	k.Stop()
	if k.answersOptions() {
		t.Fatal("OPTIONS answered after Stop")
	}
	k.Start()
	if !k.answersOptions() {
		t.Fatal("no answer to OPTIONS after restart")
	}
}

func TestParseKamailioRecord(t *testing.T) {
	rec, ok := parseKamailioRecord(" 3(12) ALERT: <script>: gophone-test: REGISTER user=1001 expires=20 auth=0 proto=udp")
	if !ok || rec.Method != "REGISTER" || rec.Fields["user"] != "1001" || rec.Fields["expires"] != "20" {
		t.Fatalf("got %+v, %v", rec, ok)
	}
	if _, ok := parseKamailioRecord("INFO: something else"); ok {
		t.Fatal("parsed a line without the marker")
	}
}

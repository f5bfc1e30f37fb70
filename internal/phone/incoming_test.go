package phone

import (
	"strings"
	"testing"
	"time"
)

// headerFunc looks a header up case-insensitively, as the INVITE does.
func headerFunc(headers map[string]string) func(string) string {
	return func(name string) string {
		for k, v := range headers {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}

func TestHeaderAutoAnswer(t *testing.T) {
	const def = 2 * time.Second
	tests := []struct {
		name      string
		headers   map[string]string
		wantDelay time.Duration
		wantOK    bool
	}{
		{"X-AUTOANSWER true", map[string]string{"X-AUTOANSWER": "true"}, def, true},
		{"X-AUTOANSWER TRUE", map[string]string{"X-AUTOANSWER": "TRUE"}, def, true},
		{"X-AUTOANSWER 1", map[string]string{"X-AUTOANSWER": "1"}, def, true},
		{"X-AUTOANSWER padded", map[string]string{"X-AUTOANSWER": " true "}, def, true},
		{"X-AUTOANSWER false", map[string]string{"X-AUTOANSWER": "false"}, 0, false},
		{"X-AUTOANSWER 0", map[string]string{"X-AUTOANSWER": "0"}, 0, false},
		{"X-AUTOANSWER empty", map[string]string{"X-AUTOANSWER": ""}, 0, false},
		{"Call-Info answer-after=3", map[string]string{"Call-Info": "<sip:x>;answer-after=3"}, 3 * time.Second, true},
		{`Call-Info answer-after="0"`, map[string]string{"Call-Info": `<sip:x>;answer-after="0"`}, 0, true},
		{"Call-Info answer-after with other params",
			map[string]string{"Call-Info": "<sip:pbx.example>;purpose=info; Answer-After=5"}, 5 * time.Second, true},
		{"Call-Info without answer-after", map[string]string{"Call-Info": "<http://x/photo.jpg>;purpose=icon"}, 0, false},
		{"Call-Info negative answer-after", map[string]string{"Call-Info": "<sip:x>;answer-after=-1"}, 0, false},
		{"Call-Info non-numeric answer-after", map[string]string{"Call-Info": "<sip:x>;answer-after=soon"}, 0, false},
		{"Answer-Mode Auto", map[string]string{"Answer-Mode": "Auto"}, def, true},
		{"Answer-Mode auto;require", map[string]string{"Answer-Mode": "auto;require"}, def, true},
		{"Answer-Mode Manual", map[string]string{"Answer-Mode": "Manual"}, 0, false},
		{"X-AUTOANSWER false but Answer-Mode Auto",
			map[string]string{"X-AUTOANSWER": "false", "Answer-Mode": "Auto"}, def, true},
		{"no headers", nil, 0, false},
		{"unrelated headers", map[string]string{"Subject": "auto", "Alert-Info": "<http://x>;info=alert-autoanswer"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			delay, ok := headerAutoAnswer(headerFunc(tt.headers), def)
			if ok != tt.wantOK || delay != tt.wantDelay {
				t.Errorf("headerAutoAnswer = %v, %v; want %v, %v", delay, ok, tt.wantDelay, tt.wantOK)
			}
		})
	}
}

func TestInviteExpires(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"60", time.Minute, true},
		{" 1 ", time.Second, true},
		{"0", 0, true},
		{"4294967295", 4294967295 * time.Second, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{"4294967296", 0, false},
	} {
		got, ok := inviteExpires(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("inviteExpires(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestUnanswered(t *testing.T) {
	for _, tc := range []struct {
		expires string
		d       time.Duration
		code    int
	}{
		{"", ringTimeout, 480},
		{"garbage", ringTimeout, 480},
		{"1", time.Second, 487},
		{"180", 3 * time.Minute, 487},
		{"600", ringTimeout, 480},
	} {
		d, code, _ := unanswered(tc.expires)
		if d != tc.d || code != tc.code {
			t.Errorf("unanswered(%q) = %v, %d; want %v, %d", tc.expires, d, code, tc.d, tc.code)
		}
	}
}

func TestSplitPostDial(t *testing.T) {
	tests := []struct{ in, number, digits string }{
		{"100,1,,2", "100", ",1,,2"},
		{"100,1234#", "100", ",1234#"},
		{"100", "100", ""},
		{",100", ",100", ""},
		{"100,", "100,", ""},
		{"sip:100@example.com,5", "sip:100@example.com", ",5"},
	}
	for _, tt := range tests {
		n, d := splitPostDial(tt.in)
		if n != tt.number || d != tt.digits {
			t.Errorf("splitPostDial(%q) = %q, %q; want %q, %q", tt.in, n, d, tt.number, tt.digits)
		}
	}
}

package phone

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/store"
)

// TestMessageCommandsRefuse: bad input to Message, Messages and History
// is a clear error with a stable code, and nothing is stored.
func TestMessageCommandsRefuse(t *testing.T) {
	p := newIdlePhone()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p.store = st
	tests := []struct {
		cmd  string
		args command.Args
		code string
	}{
		{"Message", command.Args{"to": "1001", "text": "hi"}, command.CodeBadArgs}, // no domain to send a bare number to
		{"Message", command.Args{"to": "sip:1001@127.0.0.1", "text": strings.Repeat("x", store.MaxText+1)}, command.CodeBadArgs},
		{"Message", command.Args{"to": "sip:1001@127.0.0.1", "text": "bad \xff"}, command.CodeBadArgs},
		{"Message", command.Args{"to": "sip:1001@127.0.0.1", "text": "hi", "account": "9"}, command.CodeNoSuchAccount},
	}
	for _, tt := range tests {
		_, err := p.SendMessage(context.Background(), tt.args)
		var ce *command.Error
		if !errors.As(err, &ce) || ce.Code != tt.code {
			t.Errorf("%s %v: %v, want %s", tt.cmd, tt.args, err, tt.code)
		}
	}
	for cmd, run := range map[string]func(context.Context, command.Args) (any, error){
		"Messages": p.Messages, "History": p.History} {
		res, err := run(context.Background(), command.Args{"json": true, "limit": 5})
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		switch r := res.(type) {
		case []store.Message:
			if len(r) != 0 {
				t.Errorf("%s stored: %+v", cmd, r)
			}
		case []store.Call:
			if len(r) != 0 {
				t.Errorf("%s stored: %+v", cmd, r)
			}
		default:
			t.Errorf("%s result %T", cmd, res)
		}
	}
	p.store = nil
	if _, err := p.Messages(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "store") {
		t.Errorf("Messages without a store: %v", err)
	}
}

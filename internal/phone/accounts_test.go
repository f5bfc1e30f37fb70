package phone

import (
	"testing"

	"github.com/gophone/gophone/internal/config"
)

func TestRoute(t *testing.T) {
	server := []config.Account{{ID: "1", Username: "1001", Server: "pbx"}, {ID: "2", Username: "1003", Server: "pbx"}}
	withLocal := append([]config.Account{{ID: "1", Username: "alice"}}, config.Account{ID: "2", Username: "1002", Server: "pbx"})
	tests := []struct {
		accounts        []config.Account
		requestUser, to string
		want            string
		wantOK          bool
	}{
		{server, "1001", "1001", "1", true},
		{server, "1003", "1001", "2", true}, // the Request-URI (our Contact) wins over To
		{server, "", "1003", "2", true},
		{server, "9999", "9999", "", false},
		{withLocal, "9999", "", "1", true}, // a local account takes anything
		{withLocal, "1002", "", "2", true},
		{withLocal, "alice", "", "1", true},
	}
	for _, tt := range tests {
		p := &Phone{cfg: &config.Config{Accounts: tt.accounts}}
		got, ok := p.route(tt.requestUser, tt.to)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("route(%q, %q) over %v = %q, %v; want %q, %v", tt.requestUser, tt.to, tt.accounts, got, ok, tt.want, tt.wantOK)
		}
	}
}

package phone

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/sipua"
)

// TestErrCode: SIP-layer errors, however wrapped, get their stable codes;
// an account server that DNS does not know is something the user can fix,
// never internal.
func TestErrCode(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&sipua.ResponseError{Code: 486, Reason: "Busy Here"}, command.CodeSIPError},
		{fmt.Errorf("hold: %w", sipua.ErrNotEstablished), command.CodeWrongState},
		{fmt.Errorf("creating dialog: %w: resolving pbx.test: no such host", sipua.ErrServerNotFound), command.CodeUnavailable},
		{context.DeadlineExceeded, command.CodeTimeout},
		{errors.New("something else"), command.CodeInternal},
	}
	for _, tt := range tests {
		if got := errCode(tt.err); got != tt.want {
			t.Errorf("errCode(%v) = %s; want %s", tt.err, got, tt.want)
		}
	}
}

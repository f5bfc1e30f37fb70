package cli

import (
	"context"
	"errors"

	"github.com/gophone/gophone/internal/control"
)

// dialControl connects to the daemon's control socket.
func dialControl(ctx context.Context, socket string) (conn, error) {
	c, err := control.Dial(ctx, socket)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// isNotRunning reports whether err means no daemon listens on the socket.
func isNotRunning(err error) bool { return errors.Is(err, control.ErrNotRunning) }

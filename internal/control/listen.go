package control

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrNotRunning means no daemon answers on the control socket: the socket
// file does not exist or refuses connections.
var ErrNotRunning = errors.New("gophone is not running")

// ErrAlreadyRunning is returned by Listen when a daemon already answers on
// the socket.
var ErrAlreadyRunning = errors.New("gophone is already running")

// probeTimeout bounds the dial Listen uses to tell a live socket from a
// stale one.
const probeTimeout = 2 * time.Second

// Listen creates the control socket at path: it creates the parent
// directory with mode 0700 if needed, replaces a stale socket file left by
// a daemon that is gone, and makes the socket mode 0600. If a daemon
// answers on path it returns an error wrapping ErrAlreadyRunning. A file
// at path that is not a socket is never removed.
//
// Two daemons that start at the same moment can both find the socket
// stale; callers that must exclude that hold a lock around Listen.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("control: creating socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control: %s exists and is not a socket", path)
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		conn, err := dial(ctx, path)
		cancel()
		if err == nil {
			conn.Close()
			return nil, fmt.Errorf("control: %s: %w", path, ErrAlreadyRunning)
		}
		if !errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("control: checking for a running daemon: %w", err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("control: removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: listening: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: setting socket mode: %w", err)
	}
	return ln, nil
}

// dial connects to the socket at path. If nothing listens there the error
// wraps ErrNotRunning.
func dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w: %w", ErrNotRunning, err)
		}
		return nil, fmt.Errorf("control: connecting to %s: %w", path, err)
	}
	return conn, nil
}

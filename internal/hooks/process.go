package hooks

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// stderrTail is how much of a hook's standard error is kept for the log.
const stderrTail = 1024

// waitDelay bounds how long a run waits, after its process exited or was
// killed, for processes it left behind to close its standard error.
const waitDelay = time.Second

// result is the outcome of one run.
type result struct {
	err    error  // nil when the hook exited 0
	stderr string // the end of its standard error, trimmed
}

// runProcess runs argv with env in a process group of its own, with no
// standard input and output, and kills the whole group when timeout
// passes or kill is cancelled, whichever comes first.
func runProcess(kill context.Context, timeout time.Duration, argv, env []string) result {
	ctx, cancel := context.WithTimeout(kill, timeout)
	defer cancel()
	var tail tailBuffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stderr = &tail
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	err := cmd.Run()
	if err != nil && ctx.Err() != nil {
		// Killed: say why, not "signal: killed".
		err = killedError(timeout, kill.Err() != nil)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // exited 0; something it started keeps stderr open
	}
	return result{err: err, stderr: strings.TrimSpace(tail.String())}
}

// tailBuffer keeps the last stderrTail bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - stderrTail; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

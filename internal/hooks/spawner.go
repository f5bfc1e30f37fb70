package hooks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// SpawnerArg, as the only argument of the program named in
// Options.Spawner, makes it a hook spawner: the gophone binary calls
// ServeSpawner when it sees it.
//
// Why a process of its own: starting a program from a Go process holds
// one of its processors until the child has exec'd (vfork), and on a busy
// machine that is long enough to delay the daemon's SIP and RTP work —
// with one processor (internal/procscale), all of it. A spawner pays that
// wait in its own process.
const SpawnerArg = "__hook-spawner"

// spawnRequest is one line a daemon sends its spawner: a hook to run, or
// Kill to kill every running hook (shutdown).
type spawnRequest struct {
	ID   uint64   `json:"id,omitempty"`
	Argv []string `json:"argv,omitempty"`
	// Env is added to the spawner's own environment, the daemon's.
	Env     []string      `json:"env,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	Kill    bool          `json:"kill,omitempty"`
}

// spawnResult is one line a spawner answers: how request ID ended.
type spawnResult struct {
	ID     uint64 `json:"id"`
	Error  string `json:"error,omitempty"`
	Stderr string `json:"stderr,omitempty"`
}

// ServeSpawner runs the hooks requested on r (one JSON object a line) and
// writes how each ended to w, until r ends; then it waits for the hooks
// still running (each is bounded by its own timeout) and returns the exit
// code of the spawner process.
func ServeSpawner(r io.Reader, w io.Writer) int {
	kill, killAll := context.WithCancel(context.Background())
	defer killAll()
	var (
		mu      sync.Mutex // guards enc
		enc     = json.NewEncoder(w)
		running sync.WaitGroup
	)
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var req spawnRequest
		if err := dec.Decode(&req); err != nil {
			break
		}
		if req.Kill {
			killAll()
			continue
		}
		if len(req.Argv) == 0 {
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			res := runProcess(kill, req.Timeout, req.Argv, append(os.Environ(), req.Env...))
			out := spawnResult{ID: req.ID, Stderr: res.stderr}
			if res.err != nil {
				out.Error = res.err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			enc.Encode(out) // the daemon gone, nobody is left to tell
		}()
	}
	running.Wait()
	return 0
}

// errSpawnerGone is the error of the hooks whose spawner exited.
var errSpawnerGone = errors.New("the hook spawner exited")

// spawner is the daemon's side of a spawner process.
type spawner struct {
	log  *slog.Logger
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan struct{} // closed once the spawner's output ended

	mu      sync.Mutex // guards the fields below and writes to in
	enc     *json.Encoder
	next    uint64
	waiting map[uint64]chan result
}

// startSpawner runs exe as a spawner with the environment hooks inherit,
// in a process group of its own so that a terminal's ^C for the daemon
// leaves it to finish its hooks.
func startSpawner(exe string, env []string, log *slog.Logger) (*spawner, error) {
	cmd := exec.Command(exe, SpawnerArg)
	cmd.Env = env
	ownGroupOnly(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the hook spawner: %w", err)
	}
	s := &spawner{log: log, cmd: cmd, in: in, done: make(chan struct{}), enc: json.NewEncoder(in), waiting: map[uint64]chan result{}}
	go s.read(out)
	return s, nil
}

// read hands each result to the run waiting for it.
func (s *spawner) read(out io.Reader) {
	defer close(s.done)
	defer s.log.Warn("the hook spawner exited: hooks start from the daemon itself")
	dec := json.NewDecoder(bufio.NewReader(out))
	for {
		var res spawnResult
		if err := dec.Decode(&res); err != nil {
			return
		}
		s.mu.Lock()
		ch := s.waiting[res.ID]
		delete(s.waiting, res.ID)
		s.mu.Unlock()
		if ch != nil {
			r := result{stderr: res.Stderr}
			if res.Error != "" {
				r.err = errors.New(res.Error)
			}
			ch <- r
		}
	}
}

// run has the spawner run argv and waits for how it ended.
func (s *spawner) run(timeout time.Duration, argv, env []string) result {
	ch := make(chan result, 1)
	s.mu.Lock()
	s.next++
	id := s.next
	s.waiting[id] = ch
	err := s.enc.Encode(spawnRequest{ID: id, Argv: argv, Env: env, Timeout: timeout})
	s.mu.Unlock()
	if err != nil {
		return result{err: fmt.Errorf("%w: %v", errSpawnerGone, err)}
	}
	select {
	case r := <-ch:
		return r
	case <-s.done:
		select {
		case r := <-ch:
			return r
		default:
			return result{err: errSpawnerGone}
		}
	}
}

// gone reports whether the spawner exited; hooks then start from the
// daemon itself.
func (s *spawner) gone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// killAll has the spawner kill every hook it runs.
func (s *spawner) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enc.Encode(spawnRequest{Kill: true})
}

// close ends the spawner's input and waits for it to exit.
func (s *spawner) close() {
	s.mu.Lock()
	s.in.Close()
	s.mu.Unlock()
	<-s.done
	s.cmd.Wait()
}

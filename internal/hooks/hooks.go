// Package hooks runs MicroSIP-style event hooks: the external commands of
// the cmdIncomingCall, cmdCallStart, … keys, started on the events of the
// bus (DESIGN §4).
//
// A hook's command line is split into words as a shell splits them but is
// never run by a shell: caller-supplied text (numbers, display names,
// message bodies) replaces placeholders inside words and is passed in
// GOPHONE_* variables, and can never become code. Each hook runs in its
// own process group, bounded in time; a slow hook never delays call
// handling: the bus subscriber only enqueues, and at most Max hooks run
// at once while the rest wait, in order, in a bounded queue.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gophone/gophone/internal/events"
)

// Defaults of Options.
const (
	DefaultMax     = 8
	DefaultQueue   = 1024
	DefaultTimeout = 10 * time.Second
	DefaultGrace   = 2 * time.Second
)

// Options tune a Runner; zero fields take the defaults.
type Options struct {
	// Max is how many hooks run at once.
	Max int
	// Queue is how many hooks may wait to run; past it a hook is dropped.
	Queue int
	// Timeout bounds each run; at it the hook's process group is killed.
	Timeout time.Duration
	// Grace is how long Close waits for hooks before killing them.
	Grace time.Duration
	// Env is the environment hooks inherit; nil means os.Environ().
	Env []string
	// Dir is what a relative program path ("hooks/end.sh") is taken
	// relative to: the configuration file's directory. A bare name is
	// looked up in PATH.
	Dir string
	// Log receives a line per run; nil discards.
	Log *slog.Logger
	// Spawner is a program that runs hooks for the Runner when started
	// with SpawnerArg (the gophone binary: see SpawnerArg for why); ""
	// starts hooks from this process.
	Spawner string
	// Ran, when set, is told the outcome of every hook: OutcomeOK,
	// OutcomeFailed or OutcomeDropped (gophone_hook_runs_total).
	Ran func(hook, outcome string)
}

// The outcomes Options.Ran is told.
const (
	OutcomeOK      = "ok"      // exited 0
	OutcomeFailed  = "failed"  // exited non-zero, could not start, or was killed
	OutcomeDropped = "dropped" // never ran: the queue was full, or the runner closing
)

// job is one hook run waiting in the queue.
type job struct {
	cmd command
	v   Values
}

// Runner subscribes to a bus and runs the hooks its events fire.
type Runner struct {
	cmds map[string]command
	opts Options
	bus  *events.Bus
	sub  *events.Subscription
	log  *slog.Logger
	sp   *spawner // nil: hooks start from this process

	queue      chan job
	stopRead   context.CancelFunc // ends the subscriber once it has caught up
	kill       context.Context    // cancelled when Close gives up waiting
	killAll    context.CancelFunc
	reader     sync.WaitGroup
	workers    sync.WaitGroup
	closeOnce  sync.Once
	dropped    atomic.Uint64
	gaps       atomic.Uint64
	inProgress atomic.Int64
}

// Start parses the hook command lines of cmds (hook key → command line;
// empty lines are skipped) and, when any is set, subscribes to bus from
// its newest event and starts running hooks. It returns nil and no error
// when no hook is set.
func Start(bus *events.Bus, cmds map[string]string, opts Options) (*Runner, error) {
	parsed, err := parseAll(cmds, opts.Dir)
	if err != nil || len(parsed) == 0 {
		return nil, err
	}
	opts = opts.withDefaults()
	r := &Runner{
		cmds:  parsed,
		opts:  opts,
		bus:   bus,
		sub:   bus.Subscribe(bus.Last()),
		log:   opts.Log,
		queue: make(chan job, opts.Queue),
	}
	if opts.Spawner != "" {
		if r.sp, err = startSpawner(opts.Spawner, opts.Env, r.log); err != nil {
			r.log.Warn("hooks start from the daemon itself", "error", err)
		}
	}
	var readCtx context.Context
	readCtx, r.stopRead = context.WithCancel(context.Background())
	r.kill, r.killAll = context.WithCancel(context.Background())
	r.reader.Add(1)
	go r.read(readCtx)
	r.workers.Add(opts.Max)
	for range opts.Max {
		go r.work()
	}
	r.log.Info("hooks on", "hooks", slices.Sorted(maps.Keys(parsed)), "max", opts.Max, "spawner", r.sp != nil)
	return r, nil
}

// parseAll parses the command lines of cmds that are set, with relative
// program paths taken relative to dir.
func parseAll(cmds map[string]string, dir string) (map[string]command, error) {
	parsed := map[string]command{}
	for key, line := range cmds {
		if line == "" {
			continue
		}
		c, err := parse(key, line)
		if err != nil {
			return nil, err
		}
		if p := c.argv[0]; dir != "" && strings.ContainsRune(p, '/') && !filepath.IsAbs(p) {
			c.argv[0] = filepath.Join(dir, p)
		}
		parsed[key] = c
	}
	return parsed, nil
}

func (o Options) withDefaults() Options {
	if o.Max <= 0 {
		o.Max = DefaultMax
	}
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Ran == nil {
		o.Ran = func(string, string) {}
	}
	return o
}

// read maps each event of the bus to its hooks and enqueues them. It only
// reads its own cursor, so it never holds up the bus or its other
// clients; it returns when ctx ends and no event is left to read.
func (r *Runner) read(ctx context.Context) {
	defer r.reader.Done()
	for {
		e, err := r.sub.Next(ctx)
		if err != nil {
			return
		}
		r.handle(e)
	}
}

// handle enqueues the hooks of e, or counts the events a gap says were
// missed.
func (r *Runner) handle(e events.Event) {
	if e.Type == events.Gap {
		n := r.gaps.Add(e.To - e.From + 1)
		r.log.Warn("hooks: events missed, their hooks do not run", "from", e.From, "to", e.To, "missedTotal", n)
		return
	}
	keys, v := hooksFor(e)
	for _, k := range keys {
		if c, ok := r.cmds[k]; ok {
			r.enqueue(job{cmd: c, v: v})
		}
	}
}

// enqueue queues j, or drops it when the queue is full.
func (r *Runner) enqueue(j job) {
	select {
	case r.queue <- j:
	default:
		n := r.dropped.Add(1)
		r.opts.Ran(j.cmd.key, OutcomeDropped)
		r.log.Warn("hook dropped: too many hooks waiting", "hook", j.cmd.key, "call", j.v.CallID,
			"queue", cap(r.queue), "droppedTotal", n)
	}
}

// work runs queued hooks, one at a time, until the queue is closed.
func (r *Runner) work() {
	defer r.workers.Done()
	for j := range r.queue {
		if r.kill.Err() != nil {
			n := r.dropped.Add(1)
			r.opts.Ran(j.cmd.key, OutcomeDropped)
			r.log.Warn("hook dropped: shutting down", "hook", j.cmd.key, "call", j.v.CallID, "droppedTotal", n)
			continue
		}
		r.run(j)
	}
}

// run runs one hook to its end, logs it, tells Options.Ran its outcome,
// and publishes hook.failed when it did not exit 0.
func (r *Runner) run(j job) {
	r.inProgress.Add(1)
	defer r.inProgress.Add(-1)
	start := time.Now()
	var res result
	if r.sp != nil && !r.sp.gone() {
		// The spawner has the base environment already.
		res = r.sp.run(r.opts.Timeout, j.cmd.args(j.v), j.cmd.env(nil, j.v))
	} else {
		res = runProcess(r.kill, r.opts.Timeout, j.cmd.args(j.v), j.cmd.env(r.opts.Env, j.v))
	}
	attrs := []any{"hook", j.cmd.key, "call", j.v.CallID, "took", time.Since(start).Round(time.Millisecond)}
	if res.stderr != "" {
		attrs = append(attrs, "stderr", res.stderr)
	}
	if res.err == nil {
		r.opts.Ran(j.cmd.key, OutcomeOK)
		r.log.Info("hook ran", append(attrs, "exit", 0)...)
		return
	}
	r.opts.Ran(j.cmd.key, OutcomeFailed)
	r.log.Warn("hook failed", append(attrs, "error", res.err.Error())...)
	r.bus.Publish(events.Event{Type: events.HookFailed, Hook: j.cmd.key, Call: j.v.CallID, Error: res.err.Error()})
}

// Dropped returns how many hooks were dropped because the queue was full
// (or the runner was closing).
func (r *Runner) Dropped() uint64 { return r.dropped.Load() }

// Missed returns how many events the runner missed (gaps of the bus).
func (r *Runner) Missed() uint64 { return r.gaps.Load() }

// Close stops the runner: the hooks of the events published so far are
// still queued, then Close waits up to Options.Grace for the queued and
// running hooks; after that it kills the process groups still running
// and drops the hooks not started yet. It returns once every worker
// ended.
func (r *Runner) Close() {
	if r == nil {
		return
	}
	r.closeOnce.Do(func() {
		r.stopRead()
		r.reader.Wait()
		r.sub.Close()
		close(r.queue)
		done := make(chan struct{})
		go func() { r.workers.Wait(); close(done) }()
		t := time.NewTimer(r.opts.Grace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			r.log.Warn("hooks still running at shutdown: killed", "running", r.inProgress.Load(), "queued", len(r.queue))
			r.killAll()
			if r.sp != nil {
				r.sp.killAll()
			}
			<-done
		}
		r.killAll()
		if r.sp != nil {
			r.sp.close()
		}
	})
}

// errKilled is the error of a hook killed at its time bound.
var errKilled = errors.New("killed")

// killedError says why a hook was killed.
func killedError(bound time.Duration, shutdown bool) error {
	if shutdown {
		return fmt.Errorf("%w at shutdown", errKilled)
	}
	return fmt.Errorf("%w after %s (time bound)", errKilled, bound)
}

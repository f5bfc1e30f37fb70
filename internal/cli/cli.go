// Package cli is the gophone command line: `gophone serve` runs the daemon,
// and every other invocation is a thin client that sends commands from the
// command table (or MicroSIP's own grammar) to the daemon's control socket,
// starting the daemon first when it is missing.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/gophone/gophone/internal/buildinfo"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/daemon"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/microsip"
)

// Exit codes of Main.
const (
	ExitOK         = 0 // success
	ExitFailure    = 1 // the command failed
	ExitUsage      = 2 // bad command line
	ExitNotRunning = 3 // the daemon is not running and the command needs it
)

// Env is the outside world of one gophone invocation.
type Env struct {
	// Stdin is standard input (unused by today's commands); nil means empty.
	Stdin io.Reader
	// Stdout takes results and events; Stderr the one-line errors. nil
	// means discard.
	Stdout, Stderr io.Writer
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Executable is the path of the running binary, used to start
	// `gophone serve` in the background when the daemon is missing.
	Executable string
	// Serve runs the daemon in the foreground until ctx ends. configPath
	// is the -c flag as given: "" means the default lookup
	// ($GOPHONE_CONFIG, then $XDG_CONFIG_HOME/gophone/gophone.ini).
	Serve func(ctx context.Context, configPath string) error
}

// Main runs gophone with args (without the program name) and returns the
// process exit status: ExitOK, ExitFailure, ExitUsage or ExitNotRunning.
func Main(ctx context.Context, args []string, env Env) int {
	return newRunner(env).main(ctx, args)
}

// conn is a connection to the daemon; *control.Client in production, a
// fake in tests.
type conn interface {
	Do(ctx context.Context, req command.Request) (command.Response, error)
	Subscribe(ctx context.Context, since uint64, fn func(events.Event) error) error
	Close() error
}

// runner holds one invocation's environment and the parts tests replace.
type runner struct {
	env Env
	// dial connects to the control socket.
	dial func(ctx context.Context, socket string) (conn, error)
	// notRunning reports whether a dial error means no daemon listens.
	notRunning func(error) bool
	// findSocket returns the control socket path for the -c flag value.
	findSocket func(configFlag string) (string, error)
	// start starts `gophone serve` in the background; the channel
	// receives the process's exit.
	start func(socket, configFlag string) (exited <-chan error, logPath string, err error)

	startTimeout time.Duration // how long a started daemon has to answer
	pollInterval time.Duration // how often to try its socket meanwhile
}

func newRunner(env Env) *runner {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	r := &runner{
		env:          env,
		dial:         dialControl,
		notRunning:   isNotRunning,
		startTimeout: 10 * time.Second,
		pollInterval: 50 * time.Millisecond,
	}
	r.findSocket = func(configFlag string) (string, error) {
		cfg, _, err := config.Find(configFlag, r.env.Getenv)
		if err != nil {
			return "", fmt.Errorf("config: %w", err)
		}
		return cfg.ControlSocket, nil
	}
	r.start = r.startServe
	return r
}

// usageError is a bad command line, reported with ExitUsage.
type usageError struct{ err *command.Error }

func (e usageError) Error() string { return e.err.Message }

func usagef(format string, a ...any) error {
	return usageError{command.Errorf(command.CodeBadArgs, format, a...)}
}

// errNotRunning reports a missing daemon for a command that needs one.
var errNotRunning = errors.New("gophone is not running")

// opts are the flags that are not command arguments.
type opts struct {
	config  string // -c FILE
	json    bool   // --json: print the raw result
	help    bool   // -h, --help
	version bool   // --version
}

func (r *runner) main(ctx context.Context, args []string) int {
	var o opts
	rest, err := globalFlags(args, &o)
	if err != nil {
		return r.fail(err)
	}
	if o.version {
		fmt.Fprintln(r.env.Stdout, buildinfo.Read())
		return ExitOK
	}
	if len(rest) == 0 {
		if o.help {
			r.usage(r.env.Stdout)
			return ExitOK
		}
		r.usage(r.env.Stderr)
		return ExitUsage
	}
	name, words := rest[0], rest[1:]
	switch strings.ToLower(name) {
	case "help":
		return r.help(words)
	case "serve":
		return r.serve(ctx, words, o)
	case "events":
		return r.events(ctx, words, o)
	case "config":
		return r.config(words, o)
	case "version":
		if len(words) > 0 && words[0] != "--json" {
			return r.fail(usagef("version: unexpected argument %q", words[0]))
		}
		return r.printVersion(len(words) > 0 || o.json)
	}
	if spec, ok := daemon.Specs().Lookup(name); ok {
		words, err := commandFlags(words, &o)
		if err != nil {
			return r.fail(err)
		}
		if o.help {
			r.commandUsage(r.env.Stdout, spec)
			return ExitOK
		}
		if spec.Stream {
			return r.events(ctx, words, o)
		}
		args, cerr := spec.ParseCLI(words)
		if cerr != nil {
			return r.fail(usageError{cerr})
		}
		return r.run(ctx, o, spec.NeedsDaemon, command.Request{Command: spec.Name, Args: args})
	}
	if o.help {
		r.usage(r.env.Stdout)
		return ExitOK
	}
	reqs, ok, err := microsip.Parse(rest)
	if err != nil {
		return r.fail(usageError{command.Errorf(command.CodeBadArgs, "%s", err.Error())})
	}
	if !ok {
		return r.fail(usageError{command.Errorf(command.CodeUnknownCommand,
			"unknown command %q (see gophone help)", name)})
	}
	needs := len(reqs) > 0
	for _, req := range reqs {
		spec, _ := daemon.Specs().Lookup(req.Command)
		needs = needs && spec.NeedsDaemon
	}
	return r.run(ctx, o, needs, reqs...)
}

// globalFlags takes -c FILE, --config FILE, --json and -h from the front of
// args and returns the rest. Before the command the Go-style -config and
// -help are accepted too, and any other flag is an error.
func globalFlags(args []string, o *opts) ([]string, error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args[i+1:], nil
		}
		used, err := optionFlag(args, i, o, true)
		switch {
		case err != nil:
			return nil, err
		case used > 0:
			i += used - 1
		case strings.HasPrefix(a, "-") && len(a) > 1:
			return nil, usagef("unknown flag %s", a)
		default:
			return args[i:], nil
		}
	}
	return nil, nil
}

// commandFlags removes the flags that are not command arguments (-c FILE,
// --config FILE, --json, -h) from a subcommand's words.
func commandFlags(words []string, o *opts) ([]string, error) {
	var rest []string
	for i := 0; i < len(words); i++ {
		used, err := optionFlag(words, i, o, false)
		if err != nil {
			return nil, err
		}
		if used == 0 {
			rest = append(rest, words[i])
			continue
		}
		i += used - 1
	}
	return rest, nil
}

// optionFlag applies the option at words[i] (-c FILE, --config FILE,
// -c=FILE, --config=FILE, --json, -h, --help; with goStyle also -config
// FILE and -help) to o and reports how many words it used: 0 when words[i]
// is no option.
func optionFlag(words []string, i int, o *opts, goStyle bool) (int, error) {
	w := words[i]
	switch {
	case w == "-c" || w == "--config" || goStyle && w == "-config":
		if i+1 >= len(words) {
			return 0, usagef("%s needs a file name", w)
		}
		o.config = words[i+1]
		return 2, nil
	case strings.HasPrefix(w, "-c=") || strings.HasPrefix(w, "--config="):
		_, o.config, _ = strings.Cut(w, "=")
		return 1, nil
	case w == "--json":
		o.json = true
		return 1, nil
	case w == "-h" || w == "--help" || goStyle && w == "-help":
		o.help = true
		return 1, nil
	case w == "--version" && goStyle:
		o.version = true
		return 1, nil
	}
	return 0, nil
}

// fail reports err on stderr as `gophone: MESSAGE (CODE)` and returns the
// exit status it stands for.
func (r *runner) fail(err error) int {
	if errors.Is(err, errNotRunning) {
		fmt.Fprintln(r.env.Stderr, "gophone is not running")
		return ExitNotRunning
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(r.env.Stderr, "gophone: %s (%s)\n", ue.err.Message, ue.err.Code)
		return ExitUsage
	}
	var ce *command.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(r.env.Stderr, "gophone: %s (%s)\n", oneLine(ce.Message), ce.Code)
		if ce.Code == command.CodeBadArgs {
			return ExitUsage // a bad argument is a bad command line, wherever it was found
		}
		return ExitFailure
	}
	fmt.Fprintf(r.env.Stderr, "gophone: %s\n", oneLine(err.Error()))
	return ExitFailure
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// serveUsage and eventsUsage are the help of the two commands that are not
// in the command table, for `gophone help CMD` and `gophone CMD --help`.
const (
	serveUsage = "usage: gophone serve [-c FILE] [--cpuprofile FILE]\n\n" +
		"Run the phone in the foreground. --cpuprofile writes a Go CPU profile of the\n" +
		"whole run to FILE when serve ends (go tool pprof reads it)."
	eventsUsage = "usage: gophone events [--since SEQ]\n\nStream events, one JSON object per line."
)

// printVersion prints the build's version, revision and Go version.
func (r *runner) printVersion(asJSON bool) int {
	info := buildinfo.Read()
	if asJSON {
		if err := writeJSONLine(r.env.Stdout, info); err != nil {
			return r.fail(err)
		}
		return ExitOK
	}
	fmt.Fprintln(r.env.Stdout, info)
	return ExitOK
}

// serve runs the daemon in the foreground.
func (r *runner) serve(ctx context.Context, words []string, o opts) int {
	words, err := commandFlags(words, &o)
	if err != nil {
		return r.fail(err)
	}
	if o.help {
		fmt.Fprintln(r.env.Stdout, serveUsage)
		return ExitOK
	}
	var profile string
	if len(words) == 2 && words[0] == "--cpuprofile" {
		profile, words = words[1], nil
	} else if len(words) == 1 && strings.HasPrefix(words[0], "--cpuprofile=") {
		profile, words = strings.TrimPrefix(words[0], "--cpuprofile="), nil
	}
	if len(words) > 0 {
		return r.fail(usagef("serve: unexpected argument %q", words[0]))
	}
	if r.env.Serve == nil {
		return r.fail(errors.New("serve: not available in this build"))
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return r.fail(fmt.Errorf("serve: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return r.fail(fmt.Errorf("serve: starting the CPU profile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}
	if err := r.env.Serve(ctx, o.config); err != nil {
		return r.fail(err)
	}
	return ExitOK
}

// run sends reqs in order on one connection and prints each result. It
// stops at the first failure.
func (r *runner) run(ctx context.Context, o opts, needsDaemon bool, reqs ...command.Request) int {
	c, err := r.connect(ctx, o.config, needsDaemon)
	if err != nil {
		return r.fail(err)
	}
	defer c.Close()
	for _, req := range reqs {
		resp, err := c.Do(ctx, req)
		if err != nil {
			return r.fail(fmt.Errorf("%s: %w", req.Command, err))
		}
		if !resp.OK {
			if resp.Error == nil {
				resp.Error = command.Errorf(command.CodeInternal, "%s failed", req.Command)
			}
			return r.fail(resp.Error)
		}
		if err := writeResult(r.env.Stdout, req.Command, resp.Result, o.json); err != nil {
			return r.fail(err)
		}
	}
	return ExitOK
}

// events streams events as JSON lines until ctx ends or the daemon goes
// away.
func (r *runner) events(ctx context.Context, words []string, o opts) int {
	words, err := commandFlags(words, &o)
	if err != nil {
		return r.fail(err)
	}
	spec, _ := daemon.Specs().Lookup("Subscribe")
	if o.help {
		fmt.Fprintln(r.env.Stdout, eventsUsage)
		return ExitOK
	}
	args, cerr := spec.ParseCLI(words)
	if cerr != nil {
		return r.fail(usageError{cerr})
	}
	var since uint64
	if n, ok := args.Int("since"); ok {
		if n < 0 {
			return r.fail(usagef("events: --since must not be negative"))
		}
		since = uint64(n)
	}
	c, err := r.connect(ctx, o.config, spec.NeedsDaemon)
	if err != nil {
		return r.fail(err)
	}
	defer c.Close()
	err = c.Subscribe(ctx, since, func(e events.Event) error {
		return writeJSONLine(r.env.Stdout, e)
	})
	if ctx.Err() != nil || err == nil {
		return ExitOK
	}
	return r.fail(err)
}

// connect dials the daemon, starting it when it is missing unless
// needsDaemon.
func (r *runner) connect(ctx context.Context, configFlag string, needsDaemon bool) (conn, error) {
	socket, err := r.findSocket(configFlag)
	if err != nil {
		return nil, err
	}
	c, err := r.dial(ctx, socket)
	if err == nil {
		return c, nil
	}
	if !r.notRunning(err) {
		return nil, err
	}
	if needsDaemon {
		return nil, errNotRunning
	}
	return r.startDaemon(ctx, socket, configFlag)
}

// startDaemon starts `gophone serve` under a lock file next to the socket,
// so that concurrent clients start one daemon between them, and returns a
// connection to it.
func (r *runner) startDaemon(ctx context.Context, socket, configFlag string) (conn, error) {
	if err := os.MkdirAll(filepath.Dir(socket), 0o700); err != nil {
		return nil, fmt.Errorf("starting gophone: %w", err)
	}
	unlock, err := lockFile(ctx, socket+".lock", 2*r.startTimeout+time.Second)
	if err != nil {
		return nil, fmt.Errorf("starting gophone: %w", err)
	}
	defer unlock()

	// Another client may have started it while we waited for the lock.
	c, err := r.dial(ctx, socket)
	if err == nil {
		return c, nil
	}
	if !r.notRunning(err) {
		return nil, err
	}
	exited, logPath, err := r.start(socket, configFlag)
	if err != nil {
		return nil, fmt.Errorf("starting gophone serve: %w", err)
	}
	deadline := time.NewTimer(r.startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(r.pollInterval)
	defer tick.Stop()
	for {
		c, err := r.dial(ctx, socket)
		if err == nil {
			return c, nil
		}
		if !r.notRunning(err) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return nil, fmt.Errorf("gophone serve exited before its control socket answered (%v); see %s", err, logPath)
		case <-deadline.C:
			return nil, fmt.Errorf("gophone serve did not answer on %s within %v; see %s", socket, r.startTimeout, logPath)
		case <-tick.C:
		}
	}
}

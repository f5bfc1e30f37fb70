// Package daemon runs `gophone serve`: it wires the configuration, the
// phone, the event bus, the audit log and the control socket together, and
// executes the command table for every front end.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gophone/gophone/internal/audit"
	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/config"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/events"
	"github.com/gophone/gophone/internal/hooks"
	"github.com/gophone/gophone/internal/httpapi"
	"github.com/gophone/gophone/internal/metrics"
	"github.com/gophone/gophone/internal/mqttbridge"
	"github.com/gophone/gophone/internal/phone"
	"github.com/gophone/gophone/internal/procscale"
	"github.com/gophone/gophone/internal/store"
	"github.com/gophone/gophone/internal/web"
)

// busCapacity is how many events a client can fall behind and still resume.
const busCapacity = 10000

// Daemon is a running gophone.
type Daemon struct {
	cfg   *config.Config
	log   *slog.Logger
	bus   *events.Bus
	audit *audit.Log
	phone *phone.Phone
	stop  context.CancelFunc
	// commands is the command table the daemon executes.
	commands command.Table[*Daemon]
	metrics  *metrics.Metrics
}

// Run loads the configuration (flagPath as `-c` gave it) and serves until
// ctx ends or a Close command arrives.
func Run(ctx context.Context, flagPath string, stderr io.Writer) error {
	cfg, warnings, err := config.Find(flagPath, os.Getenv)
	if err != nil {
		return err
	}
	log, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer closeLog()
	for _, w := range warnings {
		log.Warn("config: " + w.String())
	}
	if procscale.Enabled(os.Getenv) {
		// GOMAXPROCS is the whole process's: set here, not in Serve, which
		// tests run several times in one process.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go new(procscale.Scaler).Run(ctx)
	}
	exe, err := os.Executable()
	if err != nil {
		log.Warn("hooks will start from the daemon itself", "error", err)
	}
	return serve(ctx, cfg, log, exe)
}

func newLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, func(), error) {
	w, closeFn := stderr, func() {}
	if cfg.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.LogFile), 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating log directory: %w", err)
		}
		f, err := os.OpenFile(cfg.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("opening log file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	level := slog.LevelInfo
	if cfg.EnableLog {
		level = slog.LevelDebug // MicroSIP's enableLog: the detailed log
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closeFn, nil
}

// Serve runs the daemon on cfg until ctx ends or Close is executed. Its
// hooks start from this process (Run has them started by a spawner).
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	return serve(ctx, cfg, log, "")
}

// serve is Serve with spawner, the gophone binary that starts the hooks
// (hooks.SpawnerArg), or "".
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, spawner string) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	ln, err := control.Listen(cfg.ControlSocket)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	defer ln.Close() // the control server closes it; this is for early returns
	api, err := listenHTTP(cfg)
	if err != nil {
		return err
	}
	if api != nil {
		defer api.ln.Close()
	}
	al, err := audit.Open(filepath.Join(cfg.DataDir, "audit.log"))
	if err != nil {
		return err
	}
	defer al.Close()
	bus := events.NewBus(busCapacity)
	defer bus.Close()
	var ph *phone.Phone // set before anything reads the metrics
	m := metrics.New(metrics.Sources{Bus: bus,
		ActiveCalls: func() int { return ph.ActiveCalls() },
		RTP: func() (int64, int64, int64) {
			t := ph.RTPTotals()
			return t.Sent, t.Received, t.Lost
		}})
	// Hooks subscribe before the phone starts, so they see its first event,
	// and close after it, so the hooks of the calls its Close ends still
	// run, briefly (hooks.Close).
	hk, err := hooks.Start(bus, cfg.Hooks, hooks.Options{
		Max: cfg.MaxHooks, Log: log, Dir: configDir(cfg), Spawner: spawner, Ran: m.HookRun,
	})
	if err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	defer hk.Close()
	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	// Closed after the phone: the calls its Close hangs up are still
	// written to the history.
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the database", "error", err)
		}
	}()
	ph, err = phone.New(ctx, cfg, bus, st, log, phone.WithSIPObserver(m))
	if err != nil {
		return fmt.Errorf("starting the phone: %w", err)
	}
	go m.Run(ctx)
	d := &Daemon{cfg: cfg, log: log, bus: bus, audit: al, phone: ph, stop: stop, commands: commands(), metrics: m}
	mqttDone, err := d.startMQTT(ctx)
	if err != nil {
		ph.Close()
		return err
	}
	log.Info("gophone serving", "sip", cfg.Listen, "socket", cfg.ControlSocket, "http", cfg.HTTPListen)
	srv := &control.Server{Exec: d, Commands: d.commands.Specs(), Bus: bus, Logger: log, Audit: al, Replied: d.replied}
	errc := make(chan error, 2)
	running := 1
	go func() { errc <- srv.Serve(ctx, ln) }()
	if api != nil {
		running++
		hs := d.httpServer(api.token, cfg.HTTPListen)
		go func() { errc <- hs.Serve(ctx, api.ln) }()
	}
	// The MQTT bridge's offline status is out before the phone stops, and
	// the phone ends its calls before the front ends' connections are
	// waited for: a command waiting on a call ends with the call.
	select {
	case <-ctx.Done():
	case err = <-errc:
		running--
	}
	stop()
	<-mqttDone
	ph.Close()
	for ; running > 0; running-- {
		if e := <-errc; err == nil {
			err = e
		}
	}
	return err
}

// configDir is the directory of the configuration file, "" without one.
func configDir(cfg *config.Config) string {
	if cfg.Path == "" {
		return ""
	}
	dir, err := filepath.Abs(filepath.Dir(cfg.Path))
	if err != nil {
		return ""
	}
	return dir
}

// startMQTT runs the MQTT bridge when [MQTT] names a broker; the returned
// channel is closed once it has stopped.
func (d *Daemon) startMQTT(ctx context.Context) (<-chan struct{}, error) {
	done := make(chan struct{})
	if d.cfg.MQTT.Broker == "" {
		close(done)
		return done, nil
	}
	b := &mqttbridge.Bridge{Config: d.cfg.MQTT, Exec: d, Bus: d.bus, Logger: d.log, Replied: d.replied}
	if err := b.Check(); err != nil {
		return nil, err
	}
	go func() {
		defer close(done)
		if err := b.Run(ctx); err != nil {
			d.log.Error("mqtt bridge stopped", "err", err)
		}
	}()
	return done, nil

}

// httpListener is the HTTP API's listener and token, ready before the
// phone starts so that a port in use is a start-up error.
type httpListener struct {
	ln    net.Listener
	token string
}

// listenHTTP binds cfg.HTTPListen and loads the API token; it returns nil
// when the HTTP API is turned off (httpListen empty).
func listenHTTP(cfg *config.Config) (*httpListener, error) {
	if cfg.HTTPListen == "" {
		return nil, nil
	}
	token, err := httpapi.LoadToken(cfg.APIToken, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return nil, fmt.Errorf("HTTP API: %w (httpListen=%s; set httpListen= to turn the HTTP API off)", err, cfg.HTTPListen)
	}
	return &httpListener{ln: ln, token: token}, nil
}

// httpServer is the HTTP API over the daemon's command table, for
// httpListen listen.
func (d *Daemon) httpServer(token, listen string) *httpapi.Server {
	return &httpapi.Server{Exec: d, Commands: d.commands.Specs(), Bus: d.bus, Token: token,
		Listen: listen, Logger: d.log, Audit: d.audit, Replied: d.replied, UI: web.Handler(),
		Metrics: d.metrics.Handler()}
}

// Exec runs one command from channel and records it in the audit log.
func (d *Daemon) Exec(ctx context.Context, channel string, req command.Request) command.Response {
	resp := d.exec(ctx, req)
	resp.ID = req.ID
	d.audit.Record(channel, req, resp)
	return resp
}

func (d *Daemon) exec(ctx context.Context, req command.Request) command.Response {
	c, ok := d.commands.Lookup(req.Command)
	if !ok {
		return fail(command.Errorf(command.CodeUnknownCommand, "unknown command %q", req.Command))
	}
	if err := c.Validate(req.Args); err != nil {
		return fail(err)
	}
	args := req.Args
	if args == nil {
		args = command.Args{}
	}
	c.Normalize(args)
	result, err := c.Run(d, ctx, args)
	if err != nil {
		var ce *command.Error
		if !errors.As(err, &ce) {
			ce = command.Errorf(command.CodeInternal, "%v", err)
		}
		return fail(ce)
	}
	return command.Response{OK: true, Result: result}
}

// close answers Close; the daemon stops once the reply is out (replied).
func (d *Daemon) close(context.Context, command.Args) (any, error) {
	d.log.Info("closing on request")
	return map[string]bool{"closing": true}, nil
}

// replied runs after a reply was sent: a successful Close stops the daemon.
func (d *Daemon) replied(req command.Request, resp command.Response) {
	if c, ok := d.commands.Lookup(req.Command); ok && c.Name == "Close" && resp.OK {
		d.stop()
	}
}

func fail(err *command.Error) command.Response { return command.Response{Error: err} }

// wait blocks until an event of the given type (and call) is published
// after the request arrived.
func (d *Daemon) wait(ctx context.Context, args command.Args) (any, error) {
	typ, callID := args.String("event"), args.String("call")
	timeout, cerr := args.Duration("timeout", 30*time.Second)
	if cerr != nil {
		return nil, cerr
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sub := d.bus.Subscribe(d.bus.Last())
	defer sub.Close()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, command.Errorf(command.CodeTimeout, "no %s event within %s", typ, timeout)
			}
			return nil, command.Errorf(command.CodeUnavailable, "waiting for %s: %v", typ, err)
		}
		if !strings.EqualFold(e.Type, typ) || callID != "" && e.Call != callID {
			continue
		}
		return e, nil
	}
}

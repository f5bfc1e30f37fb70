// Command gophone is a headless SIP softphone: `gophone serve` runs the
// phone, every other invocation is a client of the running daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gophone/gophone/internal/cli"
	"github.com/gophone/gophone/internal/daemon"
	"github.com/gophone/gophone/internal/hooks"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == hooks.SpawnerArg {
		os.Exit(hooks.ServeSpawner(os.Stdin, os.Stdout)) // started by the daemon
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, _ := os.Executable()
	os.Exit(cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Executable: exe,
		Serve: func(ctx context.Context, configPath string) error {
			return daemon.Run(ctx, configPath, os.Stderr)
		},
	}))
}

package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// logName is the file, next to the control socket, that takes the output
// of a daemon started in the background.
const logName = "gophone-serve.log"

// startServe starts `Executable [-c CONFIG] serve` detached from this
// process: in its own session, stdin from /dev/null, stdout and stderr to a
// log file next to the socket. The configuration file is passed only when
// it was named with -c, so the daemon resolves the default exactly as the
// client did (from the same environment).
func (r *runner) startServe(socket, configFlag string) (<-chan error, string, error) {
	if r.env.Executable == "" {
		return nil, "", errors.New("the gophone executable is unknown")
	}
	var args []string
	if configFlag != "" {
		abs, err := filepath.Abs(configFlag)
		if err != nil {
			return nil, "", fmt.Errorf("config path: %w", err)
		}
		args = append(args, "-c", abs)
	}
	args = append(args, "serve")
	logPath := filepath.Join(filepath.Dir(socket), logName)
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("opening daemon log: %w", err)
	}
	defer log.Close() // the child has its own copy
	cmd := exec.Command(r.env.Executable, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited, logPath, nil
}

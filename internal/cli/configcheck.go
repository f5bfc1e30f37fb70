package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/tabwriter"

	"github.com/gophone/gophone/internal/config"
)

const configUsage = "usage: gophone config check [FILE]\n\n" +
	"Read FILE (default: -c FILE, $GOPHONE_CONFIG, then $XDG_CONFIG_HOME/gophone/gophone.ini)\n" +
	"as `gophone serve` would, and print how each line was understood: used (with\n" +
	"the value as read), alias (gophone's name of a MicroSIP key), ignored (a MicroSIP\n" +
	"GUI key or section), unsupported (a MicroSIP feature gophone lacks) or unknown.\n" +
	"Exit status 0 when the file would start gophone, 1 with FILE:LINE errors otherwise."

// config runs `gophone config check [FILE]`, which needs no daemon.
func (r *runner) config(words []string, o opts) int {
	words, err := commandFlags(words, &o)
	if err != nil {
		return r.fail(err)
	}
	if o.help || len(words) == 0 {
		if !o.help {
			fmt.Fprintln(r.env.Stderr, configUsage)
			return ExitUsage
		}
		fmt.Fprintln(r.env.Stdout, configUsage)
		return ExitOK
	}
	if !strings.EqualFold(words[0], "check") {
		return r.fail(usagef("config: unknown subcommand %q (want check)", words[0]))
	}
	if len(words) > 2 {
		return r.fail(usagef("config check: unexpected argument %q", words[2]))
	}
	path := config.Resolve(o.config, r.env.Getenv)
	if len(words) == 2 {
		path = words[1]
	}
	_, rep, err := config.Check(path, r.env.Getenv)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(r.env.Stderr, ce.Error())
			return ExitFailure
		}
		if errors.Is(err, fs.ErrNotExist) && len(words) == 1 && o.config == "" && r.env.Getenv("GOPHONE_CONFIG") == "" {
			fmt.Fprintf(r.env.Stdout, "%s does not exist: gophone starts with its defaults\n", path)
			return ExitOK
		}
		return r.fail(err)
	}
	if o.json {
		if err := writeJSONLine(r.env.Stdout, rep); err != nil {
			return r.fail(err)
		}
		return ExitOK
	}
	tw := tabwriter.NewWriter(r.env.Stdout, 0, 4, 2, ' ', 0)
	for _, k := range rep.Keys {
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\n", rep.File, k.Line, keyName(k), describe(k), k.Value)
	}
	tw.Flush()
	for _, w := range rep.Warnings {
		fmt.Fprintln(r.env.Stdout, "warning: "+w.String())
	}
	fmt.Fprintf(r.env.Stdout, "%s: OK, gophone starts with it\n", rep.File)
	return ExitOK
}

// keyName is "[Section]" for a section header, else "[Section] key".
func keyName(k config.Key) string {
	if k.Name == "" {
		return "[" + k.Section + "]"
	}
	return "[" + k.Section + "] " + k.Name
}

// describe says what gophone made of k.
func describe(k config.Key) string {
	switch k.Class {
	case config.ClassAlias:
		return "alias of " + k.Canonical
	case config.ClassIgnored:
		if k.Canonical == "" {
			return "ignored (MicroSIP section)"
		}
		return "ignored (MicroSIP GUI)"
	case config.ClassUnsupported:
		return "unsupported (MicroSIP feature gophone lacks)"
	}
	return string(k.Class)
}

package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// HookRecorder is a hook script written by a test: each run records its
// arguments, its process id and its GOPHONE_* environment in a file of
// its own, named after GOPHONE_EVENT. The script is sh (the daemon runs it
// as a program, never through a shell of its own).
type HookRecorder struct {
	// Script is the executable to name in a cmd… key.
	Script string
	// Dir holds the records.
	Dir string
}

// HookRecord is one recorded run.
type HookRecord struct {
	Event string            // GOPHONE_EVENT
	PID   int               // the script's process id (its process group)
	Args  []string          // argv[1:]
	Env   map[string]string // GOPHONE_* variables; "<unset>" when unset
	File  string
}

// hookVars are the variables a recorder records.
var hookVars = []string{"EVENT", "NUMBER", "NAME", "CALLID", "DIRECTION", "DURATION", "DOMAIN", "TEXT"}

// NewHookRecorder writes the recorder script into a new temporary
// directory of t.
func NewHookRecorder(t testing.TB) *HookRecorder {
	t.Helper()
	dir := t.TempDir()
	r := &HookRecorder{Script: filepath.Join(dir, "record-hook"), Dir: filepath.Join(dir, "records")}
	if err := os.Mkdir(r.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# Records one hook run (see testutil.HookRecorder).\n")
	fmt.Fprintf(&b, "dir=%s\ntmp=\"$dir/.$$.tmp\"\n{\n\tprintf 'pid=%%s\\0' \"$$\"\n", shQuote(r.Dir))
	b.WriteString("\tfor a in \"$@\"; do printf 'arg=%s\\0' \"$a\"; done\n")
	for _, v := range hookVars {
		fmt.Fprintf(&b, "\tprintf 'GOPHONE_%s=%%s\\0' \"${GOPHONE_%s-<unset>}\"\n", v, v)
	}
	b.WriteString("} >\"$tmp\"\nmv \"$tmp\" \"$dir/${GOPHONE_EVENT:-none}.$$\"\n")
	if err := os.WriteFile(r.Script, []byte(b.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	return r
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Records returns the runs recorded so far, oldest file first.
func (r *HookRecorder) Records(t testing.TB) []HookRecord {
	t.Helper()
	ents, err := os.ReadDir(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	type stamped struct {
		rec HookRecord
		mod time.Time
	}
	var out []stamped
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue // still being written
		}
		p := filepath.Join(r.Dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rec := HookRecord{Env: map[string]string{}, File: p}
		for _, f := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case k == "pid":
				rec.PID, _ = strconv.Atoi(v)
			case k == "arg":
				rec.Args = append(rec.Args, v)
			case strings.HasPrefix(k, "GOPHONE_"):
				rec.Env[k] = v
			}
		}
		rec.Event = rec.Env["GOPHONE_EVENT"]
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stamped{rec, info.ModTime()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].mod.Before(out[j].mod) })
	recs := make([]HookRecord, len(out))
	for i, s := range out {
		recs[i] = s.rec
	}
	return recs
}

// Events returns the GOPHONE_EVENT of every run so far, sorted.
func (r *HookRecorder) Events(t testing.TB) []string {
	t.Helper()
	var evs []string
	for _, rec := range r.Records(t) {
		evs = append(evs, rec.Event)
	}
	sort.Strings(evs)
	return evs
}

// Wait waits up to timeout until runs of every hook key in keys are
// recorded and returns the first run of each, by key.
func (r *HookRecorder) Wait(t testing.TB, timeout time.Duration, keys ...string) map[string]HookRecord {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := map[string]HookRecord{}
		for _, rec := range r.Records(t) {
			if _, ok := got[rec.Event]; !ok {
				got[rec.Event] = rec
			}
		}
		missing := []string{}
		for _, k := range keys {
			if _, ok := got[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("hooks %v did not run within %s; ran: %v", missing, timeout, r.Events(t))
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

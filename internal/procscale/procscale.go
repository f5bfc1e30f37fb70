// Package procscale runs the process's Go code on one processor while it
// is lightly loaded and on all of them once its load calls for more.
//
// With several processors, each goroutine a lightly loaded daemon readies
// wakes a second thread that finds nothing to do and goes back to sleep.
// Those thread switches are pure overhead, and a dear one on a virtual
// machine: at 50 calls a second, the switches and the scheduler's search
// for work were a third of gophone's CPU on two processors, and on one it
// used about a fifth less CPU (bench/README.md). Under load the extra
// processors are worth their switches, so the Scaler gives them back as
// soon as the process keeps Up of a CPU busy.
package procscale

import (
	"context"
	"runtime"
	"time"
)

// Defaults for the Scaler's zero fields.
const (
	DefaultInterval = 200 * time.Millisecond
	DefaultUp       = 0.4
	DefaultDown     = 0.2
	DefaultHold     = 20
)

// Scaler sets GOMAXPROCS from the process's CPU load: 1 while the load
// stays under Down, Max once it reaches Up. The zero value is ready to
// use.
type Scaler struct {
	// Max is the processor count under load; 0 means the runtime's default
	// GOMAXPROCS when Run starts.
	Max int
	// Interval is how often the load is sampled.
	Interval time.Duration
	// Up is the load, in CPUs kept busy, at which Max processors are used.
	Up float64
	// Down is the load under which one processor is used again, once Hold
	// samples in a row have been under it.
	Down float64
	Hold int
	// CPUTime reports the CPU time the process has used so far; nil means
	// the operating system's figure (getrusage).
	CPUTime func() (time.Duration, error)
	// Set applies a processor count; nil means runtime.GOMAXPROCS.
	Set func(n int)
}

// Enabled reports whether the Scaler should run in this process: not when
// the user fixed GOMAXPROCS in the environment, and not on one CPU.
func Enabled(getenv func(string) string) bool {
	return getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) > 1
}

// Run starts on one processor and adjusts the count every Interval until
// ctx ends; then it restores Max.
func (s *Scaler) Run(ctx context.Context) {
	s.defaults()
	if s.Max <= 1 {
		return
	}
	last, err := s.CPUTime()
	if err != nil {
		return
	}
	lastAt := time.Now()
	procs := 1
	s.Set(procs)
	defer s.Set(s.Max)
	tick := time.NewTicker(s.Interval)
	defer tick.Stop()
	low := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			used, err := s.CPUTime()
			if err != nil {
				return
			}
			load := float64(used-last) / float64(now.Sub(lastAt))
			last, lastAt = used, now
			var next int
			next, low = s.next(procs, load, low)
			if next != procs {
				procs = next
				s.Set(procs)
			}
		}
	}
}

// next returns the processor count after a sample of load (CPUs busy
// since the last sample) taken while procs were in use, and how many
// samples in a row have now been under Down.
func (s *Scaler) next(procs int, load float64, low int) (int, int) {
	if load >= s.Up {
		return s.Max, 0
	}
	if procs == 1 || load >= s.Down {
		return procs, 0
	}
	if low++; low >= s.Hold {
		return 1, 0
	}
	return procs, low
}

func (s *Scaler) defaults() {
	if s.Max == 0 {
		s.Max = runtime.GOMAXPROCS(0)
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Up == 0 {
		s.Up = DefaultUp
	}
	if s.Down == 0 {
		s.Down = DefaultDown
	}
	if s.Hold == 0 {
		s.Hold = DefaultHold
	}
	if s.CPUTime == nil {
		s.CPUTime = processCPUTime
	}
	if s.Set == nil {
		s.Set = func(n int) { runtime.GOMAXPROCS(n) }
	}
}

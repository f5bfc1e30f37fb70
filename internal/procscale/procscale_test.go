package procscale

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	s := &Scaler{Max: 4, Hold: 8}
	s.defaults()
	tests := []struct {
		name               string
		procs              int
		load               float64
		low                int
		wantProcs, wantLow int
	}{
		{"idle on one stays", 1, 0.05, 0, 1, 0},
		{"busy on one goes up", 1, 0.4, 0, 4, 0},
		{"saturated on one goes up", 1, 1.0, 0, 4, 0},
		{"busy on max stays", 4, 1.5, 0, 4, 0},
		{"between marks on max stays and resets", 4, 0.3, 5, 4, 0},
		{"light on max counts", 4, 0.1, 0, 4, 1},
		{"light on max keeps counting", 4, 0.1, 6, 4, 7},
		{"light for Hold samples goes down", 4, 0.1, 7, 1, 0},
		{"a busy sample resets the count", 4, 0.5, 7, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			procs, low := s.next(tt.procs, tt.load, tt.low)
			if procs != tt.wantProcs || low != tt.wantLow {
				t.Errorf("next(%d, %.2f, %d) = %d, %d; want %d, %d", tt.procs, tt.load, tt.low, procs, low, tt.wantProcs, tt.wantLow)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return v
			}
			return ""
		}
	}
	if Enabled(env("2")) {
		t.Error("Enabled with GOMAXPROCS set in the environment")
	}
	if got, want := Enabled(env("")), runtime.GOMAXPROCS(0) > 1; got != want {
		t.Errorf("Enabled = %v with %d processors", got, runtime.GOMAXPROCS(0))
	}
}

// fakeCPU is a process whose load (CPUs busy) the test sets.
type fakeCPU struct {
	mu   sync.Mutex
	load float64
	used time.Duration
	at   time.Time
}

func (f *fakeCPU) setLoad(l float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	f.load = l
}

func (f *fakeCPU) advance() {
	now := time.Now()
	if !f.at.IsZero() {
		f.used += time.Duration(f.load * float64(now.Sub(f.at)))
	}
	f.at = now
}

func (f *fakeCPU) cpuTime() (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advance()
	return f.used, nil
}

func TestRunFollowsLoad(t *testing.T) {
	cpu := &fakeCPU{}
	set := make(chan int, 16)
	s := &Scaler{Max: 3, Interval: 10 * time.Millisecond, Hold: 3, CPUTime: cpu.cpuTime, Set: func(n int) { set <- n }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	want := func(n int) {
		t.Helper()
		select {
		case got := <-set:
			if got != n {
				t.Fatalf("GOMAXPROCS set to %d, want %d", got, n)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("GOMAXPROCS not set to %d", n)
		}
	}
	want(1) // starts light
	cpu.setLoad(0.9)
	want(3)
	cpu.setLoad(0.05)
	want(1)
	cpu.setLoad(2)
	want(3)
	cancel()
	<-done
	want(3) // Max restored on the way out
	select {
	case n := <-set:
		t.Fatalf("unexpected GOMAXPROCS %d after Run returned", n)
	default:
	}
}

// TestRunRealLoad runs the Scaler on this process: spinning goroutines
// must bring all processors in, and idleness must take them away again.
func TestRunRealLoad(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	if max < 2 {
		t.Skipf("the Scaler does nothing on %d processor", max)
	}
	defer runtime.GOMAXPROCS(max)
	set := make(chan int, 64)
	s := &Scaler{Interval: 50 * time.Millisecond, Hold: 2, Set: func(n int) {
		runtime.GOMAXPROCS(n)
		set <- n
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	await := func(n int) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case got := <-set:
				if got == n {
					return
				}
			case <-deadline:
				t.Fatalf("GOMAXPROCS never became %d (now %d)", n, runtime.GOMAXPROCS(0))
			}
		}
	}
	await(1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range max {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
			}
		}()
	}
	await(max)
	stop.Store(true)
	wg.Wait()
	await(1)
}

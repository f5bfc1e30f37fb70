package daemon

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// RuntimeStats is the result of the Debug command: what a soak test
// compares before and after load.
type RuntimeStats struct {
	Goroutines  int    `json:"goroutines"`
	HeapInUse   uint64 `json:"heapInUse"`   // bytes in use after a forced GC
	HeapObjects uint64 `json:"heapObjects"` // live objects after that GC
	RSS         uint64 `json:"rss"`         // resident set size in bytes after that GC (Linux), else 0
	NumGC       uint32 `json:"numGC"`
	Procs       int    `json:"procs"` // GOMAXPROCS now (internal/procscale)
}

// runtimeStats forces a garbage collection that also hands free memory
// back to the operating system, and reports what is left: what the daemon
// holds, not what the runtime has yet to return after a peak.
func runtimeStats() RuntimeStats {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return RuntimeStats{
		Goroutines:  runtime.NumGoroutine(),
		HeapInUse:   ms.HeapInuse,
		HeapObjects: ms.HeapObjects,
		RSS:         rss(),
		NumGC:       ms.NumGC,
		Procs:       runtime.GOMAXPROCS(0),
	}
}

// rss reads the resident set size from /proc/self/statm.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

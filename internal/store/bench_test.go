package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// The database lives in the test's temporary directory: run with TMPDIR on
// the disk the data directory is on to measure that disk.

// BenchmarkSQLiteCommit is SQLite's own synchronous-commit rate, the
// physical limit of one durable write at a time: one INSERT per
// transaction, WAL, synchronous FULL (fsync per commit), no store code.
func BenchmarkSQLiteCommit(b *testing.B) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "raw.db")+
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(migrations[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := db.Exec(`INSERT INTO messages (time, direction, peer, peer_uri, text, status, account, call_id, cseq, from_tag)
			VALUES (1, 'in', 'p', 'sip:p@h', 'benchmark text', 'received', '1', ?, 1, 't')`, fmt.Sprint(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkAddIncoming stores received messages one writer at a time: each
// waits for its own commit (no grouping possible).
func BenchmarkAddIncoming(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.AddIncoming(context.Background(), in(fmt.Sprint(i), 1, "t", "benchmark text")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkAddIncomingConcurrent stores received messages from many
// goroutines at once, as concurrent MESSAGE transactions do: the writer
// groups them, and each still returns only after its commit.
func BenchmarkAddIncomingConcurrent(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.AddIncoming(context.Background(), in(fmt.Sprint(n.Add(1)), 1, "t", "benchmark text")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

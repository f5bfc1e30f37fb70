// Package store keeps gophone's messages and call history in SQLite
// (modernc.org/sqlite, WAL) in the data directory. One writer goroutine
// groups concurrent writes into one transaction; a write returns only once
// its transaction is committed, so a caller may acknowledge what it wrote.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// FileName is the database's name inside the data directory; LockName is
// the lock file a running daemon holds there.
const (
	FileName = "gophone.db"
	LockName = "gophone.lock"
)

// maxBatch bounds how many writes one transaction groups.
const maxBatch = 512

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("store closed")

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	path string
	db   *sql.DB   // readers
	w    *sql.Conn // the writer goroutine's connection
	// synced is w's synchronous mode: FULL (true, the mode w opens in)
	// or NORMAL. Only the writer goroutine reads or sets it.
	synced bool
	unlock func()

	ops     chan *op
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// op is one write: fn runs inside the batch's transaction and done gets
// its outcome after the commit. A durable write's commit is on disk when
// done gets it (synchronous FULL: the WAL is fsynced); the others' commit
// survives a crash of the daemon, and reaches the disk with the next
// durable commit or checkpoint (synchronous NORMAL in WAL mode).
type op struct {
	fn      func(tx *sql.Tx) error
	durable bool
	done    chan error
}

// Open opens (creating or migrating) the database in dir and takes the
// directory's lock file, which it holds until Close: a second daemon on
// the same directory is refused. Errors name the file.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	unlock, err := lockDir(filepath.Join(dir, LockName))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	s, err := open(ctx, path)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	s.unlock = unlock
	go s.writer()
	return s, nil
}

func open(ctx context.Context, path string) (*Store, error) {
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(2000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	w, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{path: path, db: db, w: w, synced: true, ops: make(chan *op, maxBatch),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.check(ctx); err != nil {
		w.Close()
		db.Close()
		return nil, err
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkWritable refuses a database file or directory gophone cannot write:
// SQLite would open it read-only and fail only at the first write.
func checkWritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open for writing: %w", err)
	}
	f.Close()
	probe := filepath.Join(filepath.Dir(path), ".gophone-write-probe")
	f, err = os.OpenFile(probe, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("directory is not writable (SQLite needs its -wal and -shm files there): %w", err)
	}
	f.Close()
	return os.Remove(probe)
}

// check verifies that the file is a sound SQLite database and that the
// write lock can be taken (another program may hold it).
func (s *Store) check(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal (is another program holding the database?)", mode)
	}
	if err := quickCheck(ctx, s.w); err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("cannot lock for writing: %w", err)
	}
	_, err := s.w.ExecContext(ctx, "COMMIT")
	return err
}

// quickCheck runs SQLite's quick_check and returns its first findings.
func quickCheck(ctx context.Context, c *sql.Conn) error {
	rows, err := c.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			found = append(found, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(found) > 0 {
		return fmt.Errorf("integrity check failed (the file is damaged; move it aside to start afresh): %s", strings.Join(found, "; "))
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close finishes the writes already queued, closes the database and
// releases the lock file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.stopped
		// Fold the WAL back into the database so the file is complete.
		_, _ = s.w.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
		err = errors.Join(s.w.Close(), s.db.Close())
		s.unlock()
	})
	return err
}

// write runs fn in the writer's next transaction and returns after the
// commit (or ctx's end; the write may then still be committed); durable
// says whether the commit must be on disk by then (see op).
func (s *Store) write(ctx context.Context, durable bool, fn func(tx *sql.Tx) error) error {
	o := &op{fn: fn, durable: durable, done: make(chan error, 1)}
	select {
	case <-s.stop:
		return ErrClosed
	default:
	}
	select {
	case s.ops <- o:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.done:
		return err
	case <-s.stopped:
		// Queued as Close began, after the writer's last look.
		select {
		case err := <-o.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer commits queued writes, as many at once as are waiting.
func (s *Store) writer() {
	defer close(s.stopped)
	for {
		var batch []*op
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.stop:
			// Writes that made it into the queue are still done.
			for {
				select {
				case o := <-s.ops:
					batch = append(batch, o)
				default:
					if len(batch) > 0 {
						s.commit(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		if !anyDurable(batch) {
			batch = s.linger(batch)
		}
		s.commit(batch)
	}
}

// historyLinger is how long a batch of history rows waits for more before
// it is committed: at 50 calls/s one transaction then takes a few calls'
// rows instead of one each. A durable write (a message) ends the wait.
const historyLinger = 100 * time.Millisecond

// linger adds to batch what arrives within historyLinger, until a durable
// write arrives, the batch is full or the store stops.
func (s *Store) linger(batch []*op) []*op {
	t := time.NewTimer(historyLinger)
	defer t.Stop()
	for len(batch) < maxBatch {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
			if o.durable {
				return batch
			}
		case <-t.C:
			return batch
		case <-s.stop:
			return batch
		}
	}
	return batch
}

func anyDurable(ops []*op) bool {
	for _, o := range ops {
		if o.durable {
			return true
		}
	}
	return false
}

// commit runs batch in one transaction. If that fails, each write is tried
// in a transaction of its own, so one bad write fails alone.
func (s *Store) commit(batch []*op) {
	if len(batch) > 1 {
		if err := s.run(batch); err == nil {
			for _, o := range batch {
				o.done <- nil
			}
			return
		}
	}
	for _, o := range batch {
		o.done <- s.run([]*op{o})
	}
}

// run executes ops in one transaction and commits it, with an fsync when
// one of them is durable. A call's history row costs no fsync of its own:
// at 50 calls/s those were half of the daemon's CPU (bench/README.md).
func (s *Store) run(ops []*op) error {
	durable := anyDurable(ops)
	if durable != s.synced {
		mode := map[bool]string{true: "FULL", false: "NORMAL"}[durable]
		if _, err := s.w.ExecContext(context.Background(), "PRAGMA synchronous = "+mode); err != nil {
			return err
		}
		s.synced = durable
	}
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	for _, o := range ops {
		if err := o.fn(tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return err
	}
	return nil
}

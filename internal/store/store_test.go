package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func in(callID string, cseq uint32, tag, text string) *Message {
	return &Message{Peer: "1001", PeerURI: "sip:1001@host", Text: text, Account: "1", CallID: callID, CSeq: cseq, FromTag: tag}
}

// TestMigrations opens a database left at every earlier schema version
// (with a row written at that version, when it has the table) and checks
// that it is brought to the current one with its rows kept.
func TestMigrations(t *testing.T) {
	for v := 0; v <= SchemaVersion(); v++ {
		t.Run(fmt.Sprintf("from%d", v), func(t *testing.T) {
			dir := t.TempDir()
			raw, err := sql.Open("sqlite", filepath.Join(dir, FileName))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < v; i++ {
				if _, err := raw.Exec(migrations[i]); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
				t.Fatal(err)
			}
			if v >= 1 {
				if _, err := raw.Exec(`INSERT INTO messages (time, direction, peer, peer_uri, text, status, account, call_id, cseq, from_tag)
					VALUES (1, 'in', 'old', 'sip:old@h', 'kept', 'received', '1', 'c', 1, 't')`); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()

			s := openT(t, dir)
			c, err := s.db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := userVersion(context.Background(), c)
			c.Close()
			if err != nil || got != SchemaVersion() {
				t.Fatalf("user_version = %d, %v; want %d", got, err, SchemaVersion())
			}
			ctx := context.Background()
			if _, err := s.AddIncoming(ctx, in("x", 1, "t", "new")); err != nil {
				t.Fatal(err)
			}
			if err := s.AddCall(ctx, &Call{Direction: "incoming", Number: "1001", Started: time.Now(), Ended: time.Now()}); err != nil {
				t.Fatal(err)
			}
			msgs, err := s.Messages(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if v >= 1 {
				want = 2
				if msgs[0].Text != "kept" {
					t.Errorf("old row: %+v", msgs[0])
				}
			}
			if len(msgs) != want {
				t.Fatalf("%d messages, want %d", len(msgs), want)
			}
		})
	}
}

// TestOpenRefuses checks the start-up errors: each names the file and
// leaves the data as it was.
func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) // makes dir unusable
		want  string                         // in the error
	}{
		{"newer schema", func(t *testing.T, dir string) {
			raw, _ := sql.Open("sqlite", filepath.Join(dir, FileName))
			defer raw.Close()
			if _, err := raw.Exec("PRAGMA user_version = 99"); err != nil {
				t.Fatal(err)
			}
		}, "newer than this gophone"},
		{"corrupt", func(t *testing.T, dir string) {
			junk := []byte(strings.Repeat("this is not a database ", 400))
			if err := os.WriteFile(filepath.Join(dir, FileName), junk, 0o600); err != nil {
				t.Fatal(err)
			}
		}, FileName},
		{"corrupt page", func(t *testing.T, dir string) {
			s := openT(t, dir)
			for i := 0; i < 50; i++ {
				s.AddIncoming(context.Background(), in(fmt.Sprint(i), 1, "t", strings.Repeat("x", 2000)))
			}
			s.Close()
			f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Overwrite pages after the header and schema.
			f.WriteAt([]byte(strings.Repeat("\xff", 8192)), 8192)
			f.Close()
		}, FileName},
		{"locked by another program", func(t *testing.T, dir string) {
			raw, _ := sql.Open("sqlite", filepath.Join(dir, FileName)+"?_pragma=journal_mode(WAL)")
			raw.SetMaxOpenConns(1)
			if _, err := raw.Exec("CREATE TABLE x (a); BEGIN EXCLUSIVE; INSERT INTO x VALUES (1)"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Exec("ROLLBACK"); raw.Close() })
		}, "lock"},
		{"read-only", func(t *testing.T, dir string) {
			openT(t, dir).Close()
			readOnly(t, filepath.Join(dir, FileName))
		}, FileName},
		{"another daemon", func(t *testing.T, dir string) {
			openT(t, dir) // held until the test ends
		}, "another gophone is running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			s, err := Open(context.Background(), dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not say %q and name the file", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// readOnly makes path unwritable, also for root (an immutable file).
func readOnly(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", path).Run() })
	}
}

func TestIncomingStoredOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openT(t, dir)
	steps := []struct {
		msg   *Message
		fresh bool
	}{
		{in("a", 1, "t1", "hello 👋"), true},
		{in("a", 1, "t1", "hello 👋"), false}, // retransmission
		{in("a", 2, "t1", "next"), true},     // new CSeq
		{in("a", 1, "t2", "other tag"), true},
		{in("b", 1, "t1", "other call"), true},
	}
	for i, st := range steps {
		fresh, err := s.AddIncoming(ctx, st.msg)
		if err != nil || fresh != st.fresh {
			t.Fatalf("step %d: fresh %v, %v; want %v", i, fresh, err, st.fresh)
		}
	}
	s.Close()
	s = openT(t, dir)
	fresh, err := s.AddIncoming(ctx, in("a", 1, "t1", "hello 👋"))
	if err != nil || fresh {
		t.Fatalf("after reopening: fresh %v, %v", fresh, err)
	}
	msgs, err := s.Messages(ctx, "", 0)
	if err != nil || len(msgs) != 4 {
		t.Fatalf("%d messages, %v; want 4", len(msgs), err)
	}
	if msgs[0].Text != "hello 👋" || msgs[0].Direction != In || msgs[0].Status != StatusReceived {
		t.Fatalf("first message %+v", msgs[0])
	}
}

func TestBadText(t *testing.T) {
	s := openT(t, t.TempDir())
	for _, text := range []string{strings.Repeat("x", MaxText+1), "bad \xff utf-8"} {
		if _, err := s.AddIncoming(context.Background(), in("a", 1, "t", text)); err == nil {
			t.Errorf("%.20q stored", text)
		}
	}
	if _, err := s.AddIncoming(context.Background(), in("a", 1, "t", strings.Repeat("x", MaxText))); err != nil {
		t.Errorf("text of MaxText bytes: %v", err)
	}
}

// TestConcurrentWrites has many writers at once (grouped into few
// transactions); each returns only after its row is committed.
func TestConcurrentWrites(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := in(fmt.Sprint("call", i), 1, "t", fmt.Sprint(i))
			fresh, err := s.AddIncoming(ctx, m)
			if err == nil && !fresh {
				err = errors.New("not fresh")
			}
			if err == nil {
				// Committed: a reader sees it now.
				var text string
				err = s.db.QueryRow("SELECT text FROM messages WHERE id = ?", m.ID).Scan(&text)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs, _ := s.Messages(ctx, "", 0)
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
}

// TestDiskFull fills the database (SQLite's page limit gives the same
// SQLITE_FULL as a full disk): writes fail, and succeed again once there is
// room, without reopening.
func TestDiskFull(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	var pages int
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = s.AddIncoming(ctx, in(fmt.Sprint(i), 1, "t", strings.Repeat("x", 3000)))
	}
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("no full error: %v", err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.AddIncoming(ctx, in("after", 1, "t", "room again")); err != nil || !fresh {
		t.Fatalf("after room: %v %v", fresh, err)
	}
}

func TestMessagesQuery(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	for i, peer := range []string{"a", "b", "a", "a", "b"} {
		m := &Message{Peer: peer, PeerURI: "sip:" + peer + "@h", Text: fmt.Sprint(i), Account: "1"}
		if i%2 == 0 {
			if err := s.AddOutgoing(ctx, m); err != nil {
				t.Fatal(err)
			}
			if err := s.SetOutcome(ctx, m.ID, StatusSent, 200, "OK"); err != nil {
				t.Fatal(err)
			}
		} else {
			m.CallID = fmt.Sprint(i)
			if _, err := s.AddIncoming(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		with  string
		limit int
		want  string // texts in order
	}{
		{"", 0, "01234"},
		{"", 2, "34"},
		{"a", 0, "023"},
		{"sip:b@h", 0, "14"},
		{"a", 1, "3"},
		{"nobody", 0, ""},
	}
	for _, tt := range tests {
		msgs, err := s.Messages(ctx, tt.with, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, m := range msgs {
			got += m.Text
		}
		if got != tt.want {
			t.Errorf("Messages(%q, %d) = %q, want %q", tt.with, tt.limit, got, tt.want)
		}
	}
	msgs, _ := s.Messages(ctx, "", 1)
	if msgs[0].Direction != Out || msgs[0].Status != StatusSent || msgs[0].Code != 200 {
		t.Errorf("outgoing message %+v", msgs[0])
	}
}

func TestCallsQuery(t *testing.T) {
	s := openT(t, t.TempDir())
	ctx := context.Background()
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for i, num := range []string{"1001", "1002", "1001"} {
		c := &Call{Direction: "outgoing", Number: num, Account: "1", SIPCallID: fmt.Sprint("c", i),
			Started: t0, Ended: t0.Add(10 * time.Second), Code: 200, Reason: "OK"}
		if i != 1 {
			a := t0.Add(2 * time.Second)
			c.Answered, c.Duration = &a, 8
		}
		if err := s.AddCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		number string
		limit  int
		want   string // call ids, newest first
	}{
		{"", 0, "c2c1c0"},
		{"", 1, "c2"},
		{"1001", 0, "c2c0"},
		{"1003", 0, ""},
	}
	for _, tt := range tests {
		calls, err := s.Calls(ctx, tt.number, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, c := range calls {
			got += c.SIPCallID
		}
		if got != tt.want {
			t.Errorf("Calls(%q, %d) = %q, want %q", tt.number, tt.limit, got, tt.want)
		}
	}
	calls, _ := s.Calls(ctx, "", 0)
	if calls[1].Answered != nil || calls[0].Answered == nil || !calls[0].Answered.Equal(t0.Add(2*time.Second)) || calls[0].Duration != 8 {
		t.Errorf("answered times: %+v", calls)
	}
}

// TestCloseWhileWriting: Close during a stream of writes; every write
// returns (committed, or ErrClosed), and every one that returned nil is in
// the database when it is opened again.
func TestCloseWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var ok []string
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprint(g, "-", i)
				if _, err := s.AddIncoming(context.Background(), in(id, 1, "t", id)); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				ok = append(ok, id)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let writes flow
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writers still blocked 10 s after Close")
	}
	s = openT(t, dir)
	msgs, err := s.Messages(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range msgs {
		have[m.Text] = true
	}
	for _, id := range ok {
		if !have[id] {
			t.Fatalf("write %s returned nil but is not stored", id)
		}
	}
	t.Logf("%d writes committed before Close", len(ok))
}

// A message's commit is synchronous FULL (the WAL fsynced before its 2xx),
// a call's history row NORMAL (no fsync of its own), whatever came before.
func TestSynchronousPerWrite(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	mode := func() int {
		t.Helper()
		var m int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	const normal, full = 1, 2
	call := func() { s.AddCall(ctx, &Call{Direction: "incoming", Started: time.Now(), Ended: time.Now()}) }
	steps := []struct {
		name  string
		write func()
		want  int
	}{
		{"a call", call, normal},
		{"a received message", func() { s.AddIncoming(ctx, in("x", 1, "t", "hi")) }, full},
		{"a call again", call, normal},
		{"a sent message", func() { s.AddOutgoing(ctx, &Message{Peer: "1", PeerURI: "sip:1@h", Text: "yo", Account: "1"}) }, full},
	}
	for _, st := range steps {
		st.write()
		if got := mode(); got != st.want {
			t.Errorf("after %s: synchronous %d, want %d", st.name, got, st.want)
		}
	}
}

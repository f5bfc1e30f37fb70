package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to i+1; the version is the
// database's PRAGMA user_version. Append only: never edit a released step.
var migrations = []string{
	// 1: messages. An incoming MESSAGE is identified by (Call-ID, CSeq,
	// From tag) (RFC 3428, DESIGN §8), so a retransmission is stored once.
	`CREATE TABLE messages (
		id        INTEGER PRIMARY KEY,
		time      INTEGER NOT NULL, -- Unix microseconds
		direction TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
		peer      TEXT    NOT NULL, -- number (user part), else the URI
		peer_uri  TEXT    NOT NULL,
		text      TEXT    NOT NULL,
		status    TEXT    NOT NULL, -- received | sending | sent | failed
		code      INTEGER NOT NULL DEFAULT 0,
		reason    TEXT    NOT NULL DEFAULT '',
		account   TEXT    NOT NULL,
		call_id   TEXT    NOT NULL,
		cseq      INTEGER NOT NULL,
		from_tag  TEXT    NOT NULL
	);
	CREATE UNIQUE INDEX messages_in_key ON messages (call_id, cseq, from_tag) WHERE direction = 'in';
	CREATE INDEX messages_peer ON messages (peer, id);`,
	// 2: call history.
	`CREATE TABLE calls (
		id          INTEGER PRIMARY KEY,
		direction   TEXT    NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
		account     TEXT    NOT NULL,
		number      TEXT    NOT NULL,
		name        TEXT    NOT NULL,
		sip_call_id TEXT    NOT NULL,
		started     INTEGER NOT NULL, -- Unix microseconds
		answered    INTEGER,          -- NULL: never answered
		ended       INTEGER NOT NULL,
		duration    INTEGER NOT NULL, -- seconds, answer to end
		code        INTEGER NOT NULL,
		reason      TEXT    NOT NULL,
		recording   TEXT    NOT NULL DEFAULT ''
	);
	CREATE INDEX calls_number ON calls (number, id);`,
}

// SchemaVersion is the schema version this gophone writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings the database to SchemaVersion, one transaction per step.
// A database newer than this gophone is refused, never touched.
func migrate(ctx context.Context, c *sql.Conn) error {
	v, err := userVersion(ctx, c)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this gophone knows (%d): use a newer gophone", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		if err := step(ctx, c, v); err != nil {
			return fmt.Errorf("migrating schema %d to %d: %w", v, v+1, err)
		}
	}
	return nil
}

func step(ctx context.Context, c *sql.Conn, from int) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return err
	}
	return tx.Commit()
}

func userVersion(ctx context.Context, c *sql.Conn) (int, error) {
	var v int
	err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

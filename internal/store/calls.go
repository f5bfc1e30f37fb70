package store

import (
	"context"
	"database/sql"
	"time"
)

// Call is one finished call; its JSON is DESIGN §2's `history --json`
// plus the SIP Call-ID.
type Call struct {
	ID        int64      `json:"id"`
	Direction string     `json:"direction"` // incoming or outgoing
	Number    string     `json:"number"`
	Name      string     `json:"name"`
	Account   string     `json:"account"`
	SIPCallID string     `json:"sipCallId"`
	Started   time.Time  `json:"started"`
	Answered  *time.Time `json:"answered"` // nil: never answered
	Ended     time.Time  `json:"ended"`
	Duration  int        `json:"duration"` // seconds from answer to end
	Code      int        `json:"code"`
	Reason    string     `json:"reason"`
	Recording string     `json:"recording"`
}

// AddCall stores a finished call and returns once it is committed: safe
// from a crash of the daemon, on disk with the next message's commit or
// checkpoint (a history row promises no one anything, a 2xx'd message
// does).
func (s *Store) AddCall(ctx context.Context, c *Call) error {
	var answered sql.NullInt64
	if c.Answered != nil {
		answered = sql.NullInt64{Int64: c.Answered.UnixMicro(), Valid: true}
	}
	return s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO calls
			(direction, account, number, name, sip_call_id, started, answered, ended, duration, code, reason, recording)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.Direction, c.Account, c.Number, c.Name, c.SIPCallID, c.Started.UnixMicro(), answered,
			c.Ended.UnixMicro(), c.Duration, c.Code, c.Reason, c.Recording)
		if err != nil {
			return err
		}
		c.ID, err = res.LastInsertId()
		return err
	})
}

// Calls returns the last limit calls (all when limit <= 0), newest first;
// number, when set, keeps the calls with that number.
func (s *Store) Calls(ctx context.Context, number string, limit int) ([]Call, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, direction, account, number, name, sip_call_id,
		started, answered, ended, duration, code, reason, recording
		FROM calls WHERE ? = '' OR number = ? ORDER BY id DESC LIMIT ?`, number, number, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Call{}
	for rows.Next() {
		var c Call
		var started, ended int64
		var answered sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Direction, &c.Account, &c.Number, &c.Name, &c.SIPCallID,
			&started, &answered, &ended, &c.Duration, &c.Code, &c.Reason, &c.Recording); err != nil {
			return nil, err
		}
		c.Started, c.Ended = time.UnixMicro(started).UTC(), time.UnixMicro(ended).UTC()
		if answered.Valid {
			t := time.UnixMicro(answered.Int64).UTC()
			c.Answered = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

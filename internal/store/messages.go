package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxText is the largest message text the store takes, in bytes; a larger
// incoming MESSAGE is answered 413.
const MaxText = 16 << 10

// Message directions and statuses.
const (
	In  = "in"
	Out = "out"

	StatusReceived = "received"
	StatusSending  = "sending"
	StatusSent     = "sent"
	StatusFailed   = "failed"
)

// ErrTooLarge is returned for a text over MaxText bytes.
var ErrTooLarge = fmt.Errorf("message text over %d bytes", MaxText)

// Message is one stored message; its JSON is DESIGN §2's `messages --json`.
type Message struct {
	ID        int64     `json:"id"`
	Time      time.Time `json:"time"`
	Direction string    `json:"direction"` // In or Out
	Peer      string    `json:"peer"`
	Text      string    `json:"text"`
	Status    string    `json:"status"`
	Account   string    `json:"account"`

	PeerURI string `json:"-"`
	Code    int    `json:"-"` // the final SIP status of an outgoing message
	Reason  string `json:"-"`
	// CallID, CSeq and FromTag identify an incoming MESSAGE.
	CallID  string `json:"-"`
	CSeq    uint32 `json:"-"`
	FromTag string `json:"-"`
}

func (m *Message) check() error {
	if len(m.Text) > MaxText {
		return ErrTooLarge
	}
	if !utf8.ValidString(m.Text) {
		return errors.New("message text is not valid UTF-8")
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	return nil
}

// AddIncoming stores a received message and returns once it is committed.
// fresh is false when a message with the same (CallID, CSeq, FromTag) was
// stored before: a retransmission or duplicate, stored once.
func (s *Store) AddIncoming(ctx context.Context, m *Message) (fresh bool, err error) {
	m.Direction, m.Status = In, StatusReceived
	if err := m.check(); err != nil {
		return false, err
	}
	err = s.write(ctx, true, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO messages
			(time, direction, peer, peer_uri, text, status, account, call_id, cseq, from_tag)
			VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (call_id, cseq, from_tag) WHERE direction = 'in' DO NOTHING`,
			m.Time.UnixMicro(), m.Peer, m.PeerURI, m.Text, m.Status, m.Account, m.CallID, m.CSeq, m.FromTag)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		fresh = n == 1
		if fresh {
			m.ID, err = res.LastInsertId()
		}
		return err
	})
	return fresh, err
}

// AddOutgoing stores a message about to be sent, with status sending.
func (s *Store) AddOutgoing(ctx context.Context, m *Message) error {
	m.Direction, m.Status = Out, StatusSending
	if err := m.check(); err != nil {
		return err
	}
	return s.write(ctx, true, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO messages
			(time, direction, peer, peer_uri, text, status, account, call_id, cseq, from_tag)
			VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Time.UnixMicro(), m.Peer, m.PeerURI, m.Text, m.Status, m.Account, m.CallID, m.CSeq, m.FromTag)
		if err != nil {
			return err
		}
		m.ID, err = res.LastInsertId()
		return err
	})
}

// SetOutcome records an outgoing message's delivery: status sent or
// failed, with the final SIP code and reason.
func (s *Store) SetOutcome(ctx context.Context, id int64, status string, code int, reason string) error {
	return s.write(ctx, true, func(tx *sql.Tx) error {
		_, err := tx.Exec(`UPDATE messages SET status = ?, code = ?, reason = ? WHERE id = ?`, status, code, reason, id)
		return err
	})
}

// Messages returns the last limit messages (all when limit <= 0), oldest
// first; with, when set, keeps those whose peer (number or URI) it is.
func (s *Store) Messages(ctx context.Context, with string, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT * FROM (
		SELECT id, time, direction, peer, peer_uri, text, status, code, reason, account, call_id, cseq, from_tag
		FROM messages WHERE ? = '' OR peer = ? OR peer_uri = ?
		ORDER BY id DESC LIMIT ?) ORDER BY id`, with, with, with, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		var m Message
		var t int64
		if err := rows.Scan(&m.ID, &t, &m.Direction, &m.Peer, &m.PeerURI, &m.Text, &m.Status,
			&m.Code, &m.Reason, &m.Account, &m.CallID, &m.CSeq, &m.FromTag); err != nil {
			return nil, err
		}
		m.Time = time.UnixMicro(t).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

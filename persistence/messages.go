package persistence

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

type messageRow struct {
	Seq                int64  `db:"seq"`
	ID                 []byte `db:"id"`
	Group              []byte `db:"group_id"`
	SenderAccount      string `db:"sender_account"`
	SenderInstallation []byte `db:"sender_installation"`
	Clock              int64  `db:"clock"`
	Timestamp          int64  `db:"timestamp"`
	ReceivedAt         int64  `db:"received_at"`
	Outgoing           bool   `db:"outgoing"`
	Status             int    `db:"status"`
	Type               int    `db:"type"`
	Body               []byte `db:"body"`
}

const messageCols = `seq, id, group_id, sender_account, sender_installation, clock, timestamp, received_at, outgoing, status, type, body`

func (r *messageRow) rec() storage.MessageRecord {
	m := storage.MessageRecord{Seq: r.Seq, SenderAccount: r.SenderAccount, Clock: uint64(r.Clock), Timestamp: i2t(r.Timestamp),
		ReceivedAt: i2t(r.ReceivedAt), Outgoing: r.Outgoing, Status: storage.DeliveryStatus(r.Status), Type: uint8(r.Type), Body: r.Body}
	copy(m.ID[:], r.ID)
	copy(m.Group[:], r.Group)
	copy(m.SenderInstallation[:], r.SenderInstallation)
	return m
}

func (t *tx) PutMessage(m *storage.MessageRecord) (bool, error) {
	res, err := t.exec(`INSERT OR IGNORE INTO messages (id, group_id, sender_account, sender_installation, clock, timestamp, received_at, outgoing, status, type, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID[:], m.Group[:], m.SenderAccount, m.SenderInstallation[:], int64(m.Clock), t2i(m.Timestamp),
		t2i(m.ReceivedAt), b2i(m.Outgoing), int(m.Status), int(m.Type), m.Body)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, err
	}
	m.Seq, err = res.LastInsertId()
	return true, err
}

func (t *tx) Message(id storage.MessageID) (*storage.MessageRecord, error) {
	var r messageRow
	if err := t.get(&r, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id[:]); err != nil {
		return nil, notFound(err)
	}
	m := r.rec()
	return &m, nil
}

func (t *tx) Messages(group storage.GroupID, q storage.MessageFilter) ([]storage.MessageRecord, error) {
	where := []string{"group_id = ?"}
	args := []any{group[:]}
	if q.Before > 0 {
		where = append(where, "seq < ?")
		args = append(args, q.Before)
	}
	if q.HasStatus {
		where = append(where, "status = ?")
		args = append(args, int(q.Status))
	}
	query := `SELECT ` + messageCols + ` FROM messages WHERE ` + strings.Join(where, " AND ") + ` ORDER BY seq DESC`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	var rows []messageRow
	if err := t.sel(&rows, query, args...); err != nil {
		return nil, err
	}
	out := make([]storage.MessageRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) SetMessageStatus(id storage.MessageID, s storage.DeliveryStatus) error {
	_, err := t.exec(`UPDATE messages SET status = ? WHERE id = ?`, int(s), id[:])
	return err
}

// hasHistoryEntryQuery finds the messages of a group, from an installation, whose id
// starts with a 16-byte prefix: a range of the unique index of ids (messages keep no
// index by history entry; the unary + keeps the planner from scanning the group's
// messages through messages_group instead).
const hasHistoryEntryQuery = `SELECT COUNT(*) FROM messages WHERE id >= ? AND id <= ? AND +group_id = ? AND +sender_installation = ?`

// HasHistoryEntry reports whether group holds a message with causal-history entry entry
// (installation ‖ id[:16], historyEntry).
func (t *tx) HasHistoryEntry(group storage.GroupID, entry [32]byte) (bool, error) {
	// Every id is 32 bytes: those starting with the prefix lie between prefix ‖ 0x00…
	// and prefix ‖ 0xff….
	var lo, hi [32]byte
	copy(lo[:16], entry[16:])
	copy(hi[:16], entry[16:])
	for i := 16; i < 32; i++ {
		hi[i] = 0xff
	}
	var n int
	err := t.get(&n, hasHistoryEntryQuery, lo[:], hi[:], group[:], entry[:16])
	return n > 0, err
}

// --- outbox

type outboxRow struct {
	ID          int64  `db:"id"`
	MessageID   []byte `db:"message_id"`
	Topic       string `db:"topic"`
	Payload     []byte `db:"payload"`
	Status      int    `db:"status"`
	Attempts    int    `db:"attempts"`
	NextAttempt int64  `db:"next_attempt"`
	CreatedAt   int64  `db:"created_at"`
	Sole        bool   `db:"sole"`
}

const outboxCols = `id, message_id, topic, payload, status, attempts, next_attempt, created_at, sole`

func (r *outboxRow) rec() storage.OutboxRecord {
	o := storage.OutboxRecord{ID: r.ID, Topic: r.Topic, Payload: r.Payload, Status: storage.DeliveryStatus(r.Status),
		Attempts: r.Attempts, NextAttempt: i2t(r.NextAttempt), CreatedAt: i2t(r.CreatedAt), Sole: r.Sole}
	if len(r.MessageID) == 32 {
		o.HasMessage = true
		copy(o.Message[:], r.MessageID)
	}
	return o
}

// outboxNewID is the id a new outbox record gets (schema 15; the outbox has no
// AUTOINCREMENT, whose sqlite_sequence row was a page written per send): above every id
// the store assigned since it opened (its argument, Store.outboxNext) and above every id
// stored. An id is thus never reused while the process may refer to it (a claim, a
// deferred publish mark: PublishedSole deletes by id), however the records holding the
// highest ids were deleted; ids stay in the order records were stored. Only an id deleted
// before the store opened may be given again: nothing stored refers to outbox ids.
const outboxNewID = `MAX(?, COALESCE((SELECT MAX(id) FROM outbox), 0) + 1)`

func (t *tx) PutOutbox(o *storage.OutboxRecord) error {
	var msg []byte
	if o.HasMessage {
		msg = o.Message[:]
	}
	if o.ID == 0 {
		var res sql.Result
		var err error
		switch {
		case o.Status == storage.StatusUnpublished && o.Attempts == 0 && o.Sole:
			// A new record (every send's): its status, attempts and soleness in the
			// statement, three arguments fewer to bind.
			res, err = t.exec(`INSERT INTO outbox (id, message_id, topic, payload, status, attempts, next_attempt, created_at, sole) VALUES (`+outboxNewID+`, ?, ?, ?, 0, 0, ?, ?, 1)`,
				t.s.outboxNext, msg, o.Topic, o.Payload, t2i(o.NextAttempt), t2i(o.CreatedAt))
		case o.Status == storage.StatusUnpublished && o.Attempts == 0:
			res, err = t.exec(`INSERT INTO outbox (id, message_id, topic, payload, status, attempts, next_attempt, created_at) VALUES (`+outboxNewID+`, ?, ?, ?, 0, 0, ?, ?)`,
				t.s.outboxNext, msg, o.Topic, o.Payload, t2i(o.NextAttempt), t2i(o.CreatedAt))
		default:
			res, err = t.exec(`INSERT INTO outbox (id, message_id, topic, payload, status, attempts, next_attempt, created_at, sole) VALUES (`+outboxNewID+`, ?, ?, ?, ?, ?, ?, ?, ?)`,
				t.s.outboxNext, msg, o.Topic, o.Payload, int(o.Status), o.Attempts, t2i(o.NextAttempt), t2i(o.CreatedAt), b2i(o.Sole))
		}
		if err != nil {
			return err
		}
		if o.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		t.s.outboxNext = o.ID + 1
		return nil
	}
	_, err := t.exec(`UPDATE outbox SET message_id = ?, topic = ?, payload = ?, status = ?, attempts = ?, next_attempt = ?, created_at = ? WHERE id = ?`,
		msg, o.Topic, o.Payload, int(o.Status), o.Attempts, t2i(o.NextAttempt), t2i(o.CreatedAt), o.ID)
	return err
}

func (t *tx) Outbox(id int64) (*storage.OutboxRecord, error) {
	var r outboxRow
	if err := t.get(&r, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id); err != nil {
		return nil, notFound(err)
	}
	o := r.rec()
	return &o, nil
}

func (t *tx) DueOutbox(now time.Time, limit int) ([]storage.OutboxRecord, error) {
	var rows []outboxRow
	if err := t.sel(&rows, `SELECT `+outboxCols+` FROM outbox WHERE status = ? AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?`,
		int(storage.StatusUnpublished), t2i(now), limit); err != nil {
		return nil, err
	}
	out := make([]storage.OutboxRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

func (t *tx) OutboxOf(msg storage.MessageID) ([]storage.OutboxRecord, error) {
	var rows []outboxRow
	// sole = 0: the records of outbox_message (a partial index: a sole record is not
	// looked up by its message).
	if err := t.sel(&rows, `SELECT `+outboxCols+` FROM outbox WHERE message_id = ? AND sole = 0 ORDER BY id`, msg[:]); err != nil {
		return nil, err
	}
	out := make([]storage.OutboxRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].rec()
	}
	return out, nil
}

// DeleteOutbox deletes a record. The pages of deleted payloads are given back to the
// file system once they add up to releaseAfter bytes (a burst of Welcomes does not keep
// the file at its peak size).
func (t *tx) DeleteOutbox(id int64) error {
	var n int64
	if err := t.get(&n, `DELETE FROM outbox WHERE id = ? RETURNING LENGTH(payload)`, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	}
	if t.s.freed += n; t.s.freed >= releaseAfter {
		return t.s.releaseFreePages(t)
	}
	return nil
}

// statusConstants: the statements of PutOutbox and PublishedSole write
// storage.StatusUnpublished as 0 and StatusPublished as 1 (this fails to compile if
// either changes).
var _ = [...]int{[1]int{}[storage.StatusUnpublished], [1]int{}[storage.StatusPublished-1]}

func (t *tx) PublishedSole(rec *storage.OutboxRecord) (bool, error) {
	// The statuses are constants in the statements (statusConstants): one argument
	// each to bind.
	res, err := t.exec(`DELETE FROM outbox WHERE id = ? AND status = 0`, rec.ID)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	n := int64(len(rec.Payload))
	res, err = t.exec(`UPDATE messages SET status = 1 WHERE id = ? AND status != 1`, rec.Message[:])
	if err != nil {
		return false, err
	}
	changed, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if t.s.freed += n; t.s.freed >= releaseAfter {
		if err := t.s.releaseFreePages(t); err != nil {
			return false, err
		}
	}
	return changed > 0, nil
}

// PruneOutbox deletes published and failed records created before before, then the
// newest-last remainder of them beyond maxBytes of payload (oldest first). Unpublished
// records are never pruned. Pages freed are returned to the file system when the
// database was created with auto_vacuum=incremental (every database since this store
// opened new files so).
func (t *tx) PruneOutbox(before time.Time, maxBytes int64) error {
	if _, err := t.exec(`DELETE FROM outbox WHERE status != ? AND created_at < ?`, int(storage.StatusUnpublished), t2i(before)); err != nil {
		return err
	}
	if _, err := t.exec(`DELETE FROM outbox WHERE id IN (SELECT id FROM (SELECT id, SUM(LENGTH(payload)) OVER (ORDER BY id DESC) AS kept
		FROM outbox WHERE status != ?) WHERE kept > ?)`, int(storage.StatusUnpublished), maxBytes); err != nil {
		return err
	}
	return t.s.releaseFreePages(t)
}

func (t *tx) OutboxUsage() (storage.OutboxUsage, error) {
	var u storage.OutboxUsage
	var rows []struct {
		Status int   `db:"status"`
		Count  int   `db:"n"`
		Bytes  int64 `db:"bytes"`
	}
	if err := t.sel(&rows, `SELECT status, COUNT(*) AS n, COALESCE(SUM(LENGTH(payload)), 0) AS bytes FROM outbox GROUP BY status`); err != nil {
		return u, err
	}
	for _, r := range rows {
		if storage.DeliveryStatus(r.Status) == storage.StatusUnpublished {
			u.Unpublished, u.UnpublishedBytes = r.Count, r.Bytes
		} else {
			u.Kept, u.KeptBytes = u.Kept+r.Count, u.KeptBytes+r.Bytes
		}
	}
	return u, nil
}

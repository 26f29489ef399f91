package persistence

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestHistoryEntryByID: a message's causal-history entry (installation ‖ id[:16]) is
// looked up through the unique index of message ids (issue 16: messages keep no index of
// their own by entry, one b-tree fewer written per message), never by scanning a group's
// messages; the lookup matches installation, group and id prefix exactly.
func TestHistoryEntryByID(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g1, g2 := storage.GroupID{1}, storage.GroupID{2}
	inst, other := storage.InstallationID{9}, storage.InstallationID{8}
	var ids []storage.MessageID
	inTx(t, s, func(tx storage.StoreTx) error {
		for _, g := range []storage.GroupID{g1, g2} {
			if err := tx.PutGroup(&storage.GroupRecord{ID: g}); err != nil {
				return err
			}
		}
		for i := range 200 {
			id := storage.MessageID(sha256.Sum256([]byte{byte(i)}))
			ids = append(ids, id)
			if _, err := tx.PutMessage(&storage.MessageRecord{ID: id, Group: g1, SenderInstallation: inst, Body: []byte{}}); err != nil {
				return err
			}
		}
		// An id sharing the first message's 16-byte prefix, from another installation in
		// another group.
		twin := ids[0]
		twin[31] ^= 1
		_, err := tx.PutMessage(&storage.MessageRecord{ID: twin, Group: g2, SenderInstallation: other, Body: []byte{}})
		return err
	})
	entry := func(in storage.InstallationID, id storage.MessageID) (e [32]byte) {
		copy(e[:16], in[:])
		copy(e[16:], id[:16])
		return e
	}
	absent := storage.MessageID(sha256.Sum256([]byte("absent")))
	for _, c := range []struct {
		name  string
		group storage.GroupID
		entry [32]byte
		want  bool
	}{
		{"first", g1, entry(inst, ids[0]), true},
		{"last", g1, entry(inst, ids[len(ids)-1]), true},
		{"twin in its group", g2, entry(other, ids[0]), true},
		{"other installation", g1, entry(other, ids[1]), false},
		{"other group", g2, entry(inst, ids[1]), false},
		{"absent id", g1, entry(inst, absent), false},
	} {
		inTx(t, s, func(tx storage.StoreTx) error {
			ok, err := tx.HasHistoryEntry(c.group, c.entry)
			if err != nil || ok != c.want {
				t.Errorf("%s: HasHistoryEntry = %v, %v; want %v", c.name, ok, err, c.want)
			}
			return nil
		})
	}

	ctx := context.Background()
	var n int
	if err := s.conn.GetContext(ctx, &n, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND name = 'messages_history'`); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("messages still has the messages_history index")
	}
	rows, err := s.conn.QueryxContext(ctx, `EXPLAIN QUERY PLAN `+hasHistoryEntryQuery, make([]byte, 32), make([]byte, 32), g1[:], inst[:])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if p := strings.Join(plan, "; "); !strings.Contains(p, "USING INDEX sqlite_autoindex_messages_1 (id>") {
		t.Errorf("HasHistoryEntry's plan: %s; want a search of the id index by range", p)
	}
}

package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// TestMigrationSkippedKeys: a database written by schema 11 (a receiver chain's skipped
// keys inside its epoch_receivers state) opens at the newest schema with the keys in
// epoch_skipped, the state without them (a valid chain of the same next and no keys) and
// their count in skipped; a chain without keys is unchanged.
func TestMigrationSkippedKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v11.db")
	db := dbAtSchema(t, path, 11)
	g := storage.GroupID{4}
	if _, err := db.Exec(`INSERT INTO chat_groups (`+groupRowCols+`) VALUES (?, 'chat', ?, 1, '/t', 'n', '', '', NULL, NULL, NULL, 0, 0, 3, NULL, 0, 0, 0, NULL, 0, 0)`,
		g[:], make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	// A chain at next 0x01020304 with keys at iterations 5, 0x00ABCDEF, 0x01020303
	// (bytes above 0x7f included), and one of no keys.
	eid, inst := [32]byte{9}, storage.InstallationID{7}
	head := []byte{0x43, 1}
	head = append(head, eid[:]...)
	head = append(head, inst[:]...)
	head = binary.BigEndian.AppendUint32(head, 0x01020304)
	head = append(head, bytes.Repeat([]byte{0xc3}, 32)...)
	its := []uint32{5, 0x00abcdef, 0x01020303}
	state := binary.BigEndian.AppendUint16(bytes.Clone(head), uint16(len(its)))
	for i, it := range its {
		state = binary.BigEndian.AppendUint32(state, it)
		state = append(state, bytes.Repeat([]byte{byte(0xf0 + i)}, 32)...)
	}
	var rc epoch.ReceiverChain
	if err := rc.UnmarshalBinary(state); err != nil || len(rc.Gaps()) != 3 {
		t.Fatalf("test chain: %v", err)
	}
	empty := binary.BigEndian.AppendUint16(bytes.Clone(head), 0)
	inst2 := storage.InstallationID{8}
	for _, r := range []struct {
		inst  storage.InstallationID
		state []byte
	}{{inst, state}, {inst2, empty}} {
		if _, err := db.Exec(`INSERT INTO epoch_receivers (group_id, epoch, installation, state) VALUES (?, ?, ?, ?)`,
			g[:], eid[:], r.inst[:], r.state); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A migrated state stays a BLOB (|| in SQL makes TEXT, whose length() stops at a NUL).
	var texts int
	if err := s.conn.GetContext(context.Background(), &texts, `SELECT count(*) FROM epoch_receivers WHERE typeof(state) != 'blob'`); err != nil || texts != 0 {
		t.Fatalf("%d migrated chain states are not blobs (%v)", texts, err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		for _, in := range []storage.InstallationID{inst, inst2} {
			rec, err := tx.ReceiverChain(g, eid, in)
			if err != nil || !bytes.Equal(rec.State, empty) {
				t.Fatalf("migrated chain %x: %x %v", in[:1], rec, err)
			}
			if want := map[storage.InstallationID]int{inst: 3}[in]; rec.Skipped != want {
				t.Fatalf("chain %x: %d skipped keys, want %d", in[:1], rec.Skipped, want)
			}
		}
		got, err := tx.SkippedIterations(g)
		if err != nil || len(got) != len(its) {
			t.Fatalf("skipped iterations %v %v", got, err)
		}
		for i, it := range its {
			if got[i] != (storage.SkippedIteration{Epoch: eid, Installation: inst, Iteration: it}) {
				t.Fatalf("skipped %d: %+v", i, got[i])
			}
			k, err := tx.SkippedKey(g, eid, inst, it)
			if err != nil || k != [32]byte(bytes.Repeat([]byte{byte(0xf0 + i)}, 32)) {
				t.Fatalf("skipped key %d: %x %v", it, k, err)
			}
		}
		// Deleting the chains deletes their keys.
		if err := tx.DeleteEpochChains(g, nil); err != nil {
			return err
		}
		if got, err := tx.SkippedIterations(g); err != nil || len(got) != 0 {
			t.Fatalf("after delete: %v %v", got, err)
		}
		return nil
	})
}

// TestSkippedKeysUpdate: UpdateSkippedKeys deletes the used key, inserts the added ones,
// then evicts the lowest iterations; a chain's keys go with it (DeleteReceiverChains,
// DeleteEpochChains of another epoch keeps them).
func TestSkippedKeysUpdate(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "skipped.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, eid, inst := storage.GroupID{1}, [32]byte{2}, storage.InstallationID{3}
	iterations := func(tx storage.StoreTx) []uint32 {
		got, err := tx.SkippedIterations(g)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint32
		for _, it := range got {
			out = append(out, it.Iteration)
		}
		return out
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "c", Topic: "/t", JoinedAt: t0}); err != nil {
			return err
		}
		if err := tx.PutReceiverChain(&storage.EpochChainRecord{Group: g, Epoch: eid, Installation: inst, State: []byte{1}, Skipped: 3}); err != nil {
			return err
		}
		c := storage.SkippedKeysChange{Group: g, Epoch: eid, Installation: inst}
		for _, it := range []uint32{2, 4, 6, 8, 10} {
			c.Add = append(c.Add, storage.SkippedKey{Iteration: it, Key: [32]byte{byte(it)}})
		}
		if err := tx.UpdateSkippedKeys(&c); err != nil {
			return err
		}
		if err := tx.UpdateSkippedKeys(&storage.SkippedKeysChange{Group: g, Epoch: eid, Installation: inst,
			UsedSet: true, Used: 6, Add: []storage.SkippedKey{{Iteration: 12}}, Evict: 2}); err != nil {
			return err
		}
		if got := iterations(tx); !slices.Equal(got, []uint32{8, 10, 12}) {
			t.Fatalf("iterations %v", got)
		}
		if k, err := tx.SkippedKey(g, eid, inst, 8); err != nil || k != ([32]byte{8}) {
			t.Fatalf("key 8: %x %v", k, err)
		}
		if _, err := tx.SkippedKey(g, eid, inst, 6); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("used key: %v", err)
		}
		if rec, err := tx.ReceiverChain(g, eid, inst); err != nil || rec.Skipped != 3 {
			t.Fatalf("chain: %+v %v", rec, err)
		}
		if err := tx.DeleteEpochChains(g, [][32]byte{eid}); err != nil {
			return err
		}
		if got := iterations(tx); len(got) != 3 {
			t.Fatalf("kept epoch: iterations %v", got)
		}
		if err := tx.DeleteReceiverChains(g, inst); err != nil {
			return err
		}
		if got := iterations(tx); len(got) != 0 {
			t.Fatalf("deleted chain: iterations %v", got)
		}
		return nil
	})
}

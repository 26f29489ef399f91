package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
)

// suite runs the store test suite against a fresh store from open.
func suite(t *testing.T, open func(t *testing.T) *Store) {
	tests := map[string]func(t *testing.T, s *Store){
		"Account":     testAccount,
		"Prekeys":     testPrekeys,
		"Contacts":    testContacts,
		"Sessions":    testSessions,
		"Groups":      testGroups,
		"Messages":    testMessages,
		"Outbox":      testOutbox,
		"OutboxPrune": testOutboxPrune,
		"Inbound":     testInbound,
		"Rollback":    testRollback,
		"Receivers":   testReceivers,
		"Announce":    testAnnounceFields,
		"Epochs":      testEpochs,
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			fn(t, s)
		})
	}
}

func TestStoreMemory(t *testing.T) {
	suite(t, func(t *testing.T) *Store {
		s, err := Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestStoreFile(t *testing.T) {
	suite(t, func(t *testing.T) *Store {
		s, err := Open(filepath.Join(t.TempDir(), "chorus.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func inTx(t *testing.T, s *Store, fn func(tx storage.StoreTx) error) {
	t.Helper()
	if err := s.WithTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func testAccount(t *testing.T, s *Store) {
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Account(); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
		return tx.PutAccount(&storage.AccountRecord{PrivateKey: []byte{1}, Identity: []byte{2}, DeviceListClock: 3, NextPrekeyID: 4, CreatedAt: t0})
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		a, err := tx.Account()
		if err != nil || a.DeviceListClock != 3 || a.NextPrekeyID != 4 || !a.CreatedAt.Equal(t0) || !a.AnnouncedAt.IsZero() {
			t.Fatalf("account %+v %v", a, err)
		}
		a.DeviceListClock = 9
		return tx.PutAccount(a)
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		a, _ := tx.Account()
		if a.DeviceListClock != 9 {
			t.Fatal("update lost")
		}
		return nil
	})
}

func testPrekeys(t *testing.T, s *Store) {
	inTx(t, s, func(tx storage.StoreTx) error {
		for i := uint32(1); i <= 3; i++ {
			if err := tx.PutPrekey(&storage.PrekeyRecord{ID: i, Data: []byte{byte(i)}, CreatedAt: t0}); err != nil {
				return err
			}
		}
		if err := tx.PutPrekey(&storage.PrekeyRecord{ID: 1, Signed: true, Data: []byte{9}, ExpiresAt: t0}); err != nil {
			return err
		}
		if err := tx.DeletePrekey(false, 2); err != nil {
			return err
		}
		otks, err := tx.Prekeys(false)
		if err != nil || len(otks) != 2 || otks[0].ID != 1 || otks[1].ID != 3 {
			t.Fatalf("otks %+v %v", otks, err)
		}
		spk, err := tx.Prekey(true, 1)
		if err != nil || spk.Data[0] != 9 || !spk.ExpiresAt.Equal(t0) {
			t.Fatalf("spk %+v %v", spk, err)
		}
		if _, err := tx.Prekey(false, 2); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("deleted prekey found")
		}
		return nil
	})
}

func testContacts(t *testing.T, s *Store) {
	id := storage.InstallationID{1}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutContact(&storage.ContactRecord{Account: "0x04aa", DeviceList: []byte{1}, Clock: 2, Added: true}); err != nil {
			return err
		}
		if err := tx.PutInstallation(&storage.InstallationRecord{ID: id, Account: "0x04aa", DH: [32]byte{3}, Signing: [33]byte{2}, Bundle: []byte{5}}); err != nil {
			return err
		}
		c, err := tx.Contact("0x04aa")
		if err != nil || !c.Added || c.Clock != 2 {
			t.Fatalf("contact %+v %v", c, err)
		}
		ins, err := tx.InstallationsOf("0x04aa")
		if err != nil || len(ins) != 1 || ins[0].ID != id || ins[0].DH[0] != 3 || ins[0].Signing[0] != 2 {
			t.Fatalf("installations %+v %v", ins, err)
		}
		// MemberInstallations: the accounts' installations (ids, accounts, revoked),
		// ordered by account then id; other accounts' are left out.
		more := []storage.InstallationRecord{{ID: storage.InstallationID{9}, Account: "0x04aa", Revoked: true},
			{ID: storage.InstallationID{4}, Account: "0x04bb"}, {ID: storage.InstallationID{5}, Account: "0x04cc"}}
		for i := range more {
			if err := tx.PutInstallation(&more[i]); err != nil {
				return err
			}
		}
		mi, err := tx.MemberInstallations([]string{"0x04bb", "0x04aa", "0x04dd"})
		want := []storage.InstallationRecord{{ID: id, Account: "0x04aa"}, more[0], more[1]}
		if err != nil || !reflect.DeepEqual(mi, want) {
			t.Fatalf("member installations %+v %v, want %+v", mi, err, want)
		}
		if none, err := tx.MemberInstallations(nil); err != nil || len(none) != 0 {
			t.Fatalf("member installations of none %+v %v", none, err)
		}
		in, err := tx.Installation(id)
		if err != nil || in.Account != "0x04aa" || !bytes.Equal(in.Bundle, []byte{5}) {
			t.Fatalf("installation %+v %v", in, err)
		}
		all, err := tx.Contacts()
		if err != nil || len(all) != 1 {
			t.Fatal("contacts")
		}
		return nil
	})
}

func testSessions(t *testing.T, s *Store) {
	remote := storage.InstallationID{7}
	inTx(t, s, func(tx storage.StoreTx) error {
		a := &storage.SessionRecord{Remote: remote, RemoteAccount: "0x04bb", Initiator: true, BaseKey: [32]byte{1}, SendHint: [16]byte{2},
			RecvHint: [16]byte{3}, AD: []byte{4}, InitialHeader: []byte{5}, State: []byte{6}, CreatedAt: t0, HintChain: []byte{8, 9}}
		if err := tx.PutSession(a); err != nil || a.ID == 0 {
			t.Fatalf("insert %v", err)
		}
		b := &storage.SessionRecord{Remote: remote, BaseKey: [32]byte{2}, RecvHint: [16]byte{9}, AD: []byte{}, State: []byte{1}, Active: true}
		if err := tx.PutSession(b); err != nil {
			return err
		}
		a.Confirmed, a.State = true, []byte{7}
		if err := tx.PutSession(a); err != nil {
			return err
		}
		got, err := tx.Session(a.ID)
		if err != nil || !got.Confirmed || got.State[0] != 7 || got.SendHint[0] != 2 || !got.Initiator || string(got.HintChain) != "\x08\x09" {
			t.Fatalf("session %+v %v", got, err)
		}
		byKey, err := tx.SessionByBaseKey(remote, [32]byte{2})
		if err != nil || byKey.ID != b.ID || !byKey.Active {
			t.Fatalf("by base key %+v %v", byKey, err)
		}
		list, err := tx.SessionsWith(remote)
		if err != nil || len(list) != 2 || list[0].ID != b.ID {
			t.Fatalf("sessions with %v", err)
		}
		hints, err := tx.RecvHints()
		if err != nil || len(hints) != 2 {
			t.Fatal("hints")
		}
		for _, h := range hints { // the hint chain comes with the hints; none is stored as empty
			if (h.SessionID == a.ID) != (string(h.Chain) == "\x08\x09") || (h.SessionID == b.ID && h.Chain != nil) {
				t.Fatalf("hint entry %+v", h)
			}
		}
		if byKey.HintChain != nil {
			t.Fatal("no hint chain stored: nil")
		}
		if err := tx.DeleteSession(a.ID); err != nil {
			return err
		}
		if _, err := tx.Session(a.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("deleted session found")
		}
		return nil
	})
}

func testGroups(t *testing.T, s *Store) {
	g := &storage.GroupRecord{ID: storage.GroupID{1}, ChatID: "c", Secret: [32]byte{2}, Topic: "/t", Name: "n", Events: []byte{1},
		Clock: 5, Distribute: true, JoinedAt: t0}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		g.Name, g.Status, g.Sender, g.Repeat, g.RepeatLeft = "m", storage.GroupLeft, []byte{3}, []byte{4}, 2
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		got, err := tx.Group(g.ID)
		if err != nil || got.Name != "m" || got.Status != storage.GroupLeft || got.Secret[0] != 2 || !got.Distribute || got.Clock != 5 {
			t.Fatalf("group %+v %v", got, err)
		}
		hot, err := tx.GroupState(g.ID)
		if err != nil || hot.Events != nil || hot.Clock != 5 || hot.Name != "m" || hot.Sender[0] != 3 || hot.RepeatLeft != 2 || hot.Repeat[0] != 4 {
			t.Fatalf("group state %+v %v", hot, err)
		}
		if err := tx.MarkDistributed(g.ID, []storage.InstallationID{{1}, {2}, {1}}); err != nil {
			return err
		}
		d, err := tx.Distributed(g.ID)
		if err != nil || len(d) != 2 {
			t.Fatalf("distributed %v %v", d, err)
		}
		if err := tx.ClearDistributed(g.ID); err != nil {
			return err
		}
		d, _ = tx.Distributed(g.ID)
		if len(d) != 0 {
			t.Fatal("not cleared")
		}
		all, err := tx.Groups()
		if err != nil || len(all) != 1 {
			t.Fatal("groups")
		}
		return nil
	})
}

func testReceivers(t *testing.T, s *Store) {
	gid := storage.GroupID{1}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(&storage.GroupRecord{ID: gid}); err != nil {
			return err
		}
		r := &storage.ReceiverRecord{Group: gid, Installation: storage.InstallationID{2}, Account: "a", State: []byte{1}}
		if err := tx.PutReceiver(r); err != nil {
			return err
		}
		if err := tx.AddReceiverKey(gid, [8]byte{5}, r.Installation); err != nil {
			return err
		}
		got, err := tx.ReceiverByKey(gid, [8]byte{5})
		if err != nil || got.Account != "a" {
			t.Fatalf("by key %+v %v", got, err)
		}
		// A key id belongs to the first installation indexed with it.
		other := &storage.ReceiverRecord{Group: gid, Installation: storage.InstallationID{3}, Account: "m", State: []byte{1}}
		if err := tx.PutReceiver(other); err != nil {
			return err
		}
		if err := tx.AddReceiverKey(gid, [8]byte{5}, other.Installation); !errors.Is(err, storage.ErrKeyIDTaken) {
			t.Fatalf("key id taken over: %v", err)
		}
		if err := tx.AddReceiverKey(gid, [8]byte{5}, r.Installation); err != nil {
			t.Fatalf("owner re-adding its key id: %v", err)
		}
		if got, err := tx.ReceiverByKey(gid, [8]byte{5}); err != nil || got.Installation != r.Installation {
			t.Fatalf("by key after a claim %+v %v", got, err)
		}
		if err := tx.DeleteReceiver(gid, other.Installation); err != nil {
			return err
		}
		r.State = []byte{2}
		if err := tx.PutReceiver(r); err != nil {
			return err
		}
		got, _ = tx.Receiver(gid, r.Installation)
		if got.State[0] != 2 {
			t.Fatal("update lost")
		}
		if err := tx.DeleteReceiver(gid, r.Installation); err != nil {
			return err
		}
		if _, err := tx.ReceiverByKey(gid, [8]byte{5}); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("key index survived receiver deletion")
		}
		list, _ := tx.Receivers(gid)
		if len(list) != 0 {
			t.Fatal("receivers left")
		}
		return nil
	})
}

func testMessages(t *testing.T, s *Store) {
	gid := storage.GroupID{1}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(&storage.GroupRecord{ID: gid}); err != nil {
			return err
		}
		for i := 1; i <= 5; i++ {
			m := &storage.MessageRecord{ID: storage.MessageID{byte(i)}, Group: gid, SenderInstallation: storage.InstallationID{9},
				Clock: uint64(i), Timestamp: t0, Status: storage.StatusReceived, Type: 1, Body: []byte("hi")}
			if i == 5 {
				m.Outgoing, m.Status = true, storage.StatusUnpublished
			}
			ok, err := tx.PutMessage(m)
			if err != nil || !ok || m.Seq == 0 {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		ok, err := tx.PutMessage(&storage.MessageRecord{ID: storage.MessageID{1}, Group: gid, Body: []byte{}})
		if err != nil || ok {
			t.Fatal("duplicate inserted")
		}
		page, err := tx.Messages(gid, storage.MessageFilter{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID[0] != 5 {
			t.Fatalf("page %v", err)
		}
		page2, _ := tx.Messages(gid, storage.MessageFilter{Limit: 2, Before: page[1].Seq})
		if len(page2) != 2 || page2[0].ID[0] != 3 {
			t.Fatal("paging")
		}
		if err := tx.SetMessageStatus(storage.MessageID{5}, storage.StatusPublished); err != nil {
			return err
		}
		pub, _ := tx.Messages(gid, storage.MessageFilter{HasStatus: true, Status: storage.StatusPublished})
		if len(pub) != 1 || !pub[0].Outgoing {
			t.Fatal("status filter")
		}
		var entry [32]byte
		entry[0] = 9
		entry[16] = 3
		if ok, _ := tx.HasHistoryEntry(gid, entry); !ok {
			t.Fatal("history entry")
		}
		return nil
	})
}

func testOutbox(t *testing.T, s *Store) {
	inTx(t, s, func(tx storage.StoreTx) error {
		a := &storage.OutboxRecord{Message: storage.MessageID{1}, HasMessage: true, Topic: "t", Payload: []byte{1}, NextAttempt: t0}
		b := &storage.OutboxRecord{Topic: "t", Payload: []byte{2}, NextAttempt: t0.Add(time.Hour)}
		if err := tx.PutOutbox(a); err != nil {
			return err
		}
		if err := tx.PutOutbox(b); err != nil {
			return err
		}
		due, err := tx.DueOutbox(t0, 10)
		if err != nil || len(due) != 1 || due[0].ID != a.ID || !due[0].HasMessage {
			t.Fatalf("due %+v %v", due, err)
		}
		a.Status = storage.StatusPublished
		if err := tx.PutOutbox(a); err != nil {
			return err
		}
		due, _ = tx.DueOutbox(t0.Add(2*time.Hour), 10)
		if len(due) != 1 || due[0].ID != b.ID || due[0].HasMessage {
			t.Fatal("due after publish")
		}
		of, _ := tx.OutboxOf(storage.MessageID{1})
		if len(of) != 1 || of[0].Status != storage.StatusPublished {
			t.Fatal("outbox of")
		}
		return nil
	})
}

// testOutboxPrune: PruneOutbox drops published and failed records older than its cut,
// then the oldest of the rest beyond the byte bound, and never an unpublished record.
func testOutboxPrune(t *testing.T, s *Store) {
	var ids []int64
	inTx(t, s, func(tx storage.StoreTx) error {
		// i = 0..9, created at t0+i min; statuses cycle unpublished, published, failed.
		for i := range 10 {
			o := &storage.OutboxRecord{Topic: "t", Payload: bytes.Repeat([]byte{byte(i)}, 100),
				Status: storage.DeliveryStatus(i % 3), CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
			if err := tx.PutOutbox(o); err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		u, err := tx.OutboxUsage()
		if err != nil || u.Unpublished != 4 || u.UnpublishedBytes != 400 || u.Kept != 6 || u.KeptBytes != 600 {
			t.Fatalf("usage %+v %v", u, err)
		}
		// Cut at t0+5min: kept records 1, 2, 4 go; 5, 7, 8 stay (300 bytes); then the
		// bound of 250 bytes drops the oldest of them (5).
		return tx.PruneOutbox(t0.Add(5*time.Minute), 250)
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		var left []int
		for i, id := range ids {
			if _, err := tx.Outbox(id); err == nil {
				left = append(left, i)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if fmt.Sprint(left) != "[0 3 6 7 8 9]" {
			t.Fatalf("left after prune: %v", left)
		}
		u, err := tx.OutboxUsage()
		if err != nil || u.Unpublished != 4 || u.Kept != 2 || u.KeptBytes != 200 {
			t.Fatalf("usage %+v %v", u, err)
		}
		if err := tx.DeleteOutbox(ids[0]); err != nil {
			return err
		}
		if _, err := tx.Outbox(ids[0]); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted record: %v", err)
		}
		return nil
	})
}

// TestOutboxPruneShrinksFile: a file store gives the pages of pruned records back (its
// file shrinks), so a burst of large publishes (Welcomes) does not keep the file at its
// peak size.
func TestOutboxPruneShrinksFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chorus.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	payload := bytes.Repeat([]byte{7}, 64<<10)
	inTx(t, s, func(tx storage.StoreTx) error {
		for range 64 { // 4 MiB
			if err := tx.PutOutbox(&storage.OutboxRecord{Topic: "t", Payload: payload, Status: storage.StatusFailed, CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	size := func() int64 {
		var pages, pageSize int64
		inTx(t, s, func(st storage.StoreTx) error {
			tt := st.(*tx)
			if err := tt.get(&pages, `PRAGMA page_count`); err != nil {
				return err
			}
			return tt.get(&pageSize, `PRAGMA page_size`)
		})
		return pages * pageSize
	}
	before := size()
	inTx(t, s, func(tx storage.StoreTx) error { return tx.PruneOutbox(t0.Add(time.Second), 0) })
	after := size()
	if before < 4<<20 || after > 2<<20 {
		t.Fatalf("database %d bytes before the prune, %d after: want ≥ 4 MiB, then ≤ 2 MiB", before, after)
	}
	// The same with records deleted one by one as they are published.
	var ids []int64
	inTx(t, s, func(tx storage.StoreTx) error {
		for range 64 {
			o := &storage.OutboxRecord{Topic: "t", Payload: payload, CreatedAt: t0}
			if err := tx.PutOutbox(o); err != nil {
				return err
			}
			ids = append(ids, o.ID)
		}
		return nil
	})
	before = size()
	for _, id := range ids {
		inTx(t, s, func(tx storage.StoreTx) error { return tx.DeleteOutbox(id) })
	}
	after = size()
	if before < 4<<20 || after > 2<<20 {
		t.Fatalf("database %d bytes before the deletes, %d after: want ≥ 4 MiB, then ≤ 2 MiB", before, after)
	}
}

func testInbound(t *testing.T, s *Store) {
	inTx(t, s, func(tx storage.StoreTx) error {
		h := [32]byte{1}
		if ok, _ := tx.Seen(h); ok {
			t.Fatal("seen before mark")
		}
		tx.MarkSeen(h, t0)
		tx.MarkSeen(h, t0)
		if ok, _ := tx.Seen(h); !ok {
			t.Fatal("not seen")
		}
		tx.PutPending(&storage.PendingRecord{Hash: h, Topic: "t", Payload: []byte{1}, ReceivedAt: t0})
		p, _ := tx.Pending(10)
		if len(p) != 1 || p[0].Topic != "t" {
			t.Fatal("pending")
		}
		tx.DeletePending(h)
		p, _ = tx.Pending(10)
		if len(p) != 0 {
			t.Fatal("pending not deleted")
		}
		for i := 0; i < 5; i++ {
			tx.PutPending(&storage.PendingRecord{Hash: [32]byte{9, byte(i)}, Topic: "t", Payload: []byte{1}, ReceivedAt: t0.Add(time.Duration(i))})
		}
		tx.PrunePending(2)
		p, _ = tx.Pending(10)
		if len(p) != 2 || p[0].Hash[1] != 3 || p[1].Hash[1] != 4 {
			t.Fatalf("prune kept %+v", p)
		}
		tx.MarkSeen([32]byte{7}, t0.Add(-time.Hour))
		tx.PruneSeen(t0.Add(-time.Minute))
		if ok, _ := tx.Seen([32]byte{7}); ok {
			t.Fatal("old marker not pruned")
		}
		if ok, _ := tx.Seen(h); !ok {
			t.Fatal("recent marker pruned")
		}
		g := storage.GroupID{3}
		tx.PutExpected(&storage.ExpectedRecord{Group: g, Entry: [32]byte{4}, Since: t0})
		tx.PutExpected(&storage.ExpectedRecord{Group: g, Entry: [32]byte{4}, Since: t0.Add(time.Hour), Report: true})
		e, _ := tx.Expected(g)
		if len(e) != 1 || !e[0].Report || !e[0].Since.Equal(t0) {
			t.Fatalf("expected %+v", e)
		}
		tx.DeleteExpected(g, [32]byte{4})
		if e, _ := tx.Expected(g); len(e) != 0 {
			t.Fatal("expected not deleted")
		}
		tx.MarkReported("k", t0)
		if ok, _ := tx.Reported("k"); !ok {
			t.Fatal("reported")
		}
		if ls, _ := tx.LastSync("t"); !ls.IsZero() {
			t.Fatal("last sync")
		}
		tx.SetLastSync("t", t0)
		if ls, _ := tx.LastSync("t"); !ls.Equal(t0) {
			t.Fatal("last sync set")
		}
		return nil
	})
}

func testRollback(t *testing.T, s *Store) {
	boom := errors.New("boom")
	err := s.WithTx(context.Background(), func(tx storage.StoreTx) error {
		tx.PutContact(&storage.ContactRecord{Account: "x", DeviceList: []byte{1}})
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		if _, err := tx.Contact("x"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatal("rolled back write visible")
		}
		return nil
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chorus.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutAccount(&storage.AccountRecord{PrivateKey: []byte{1}, Identity: []byte{2}, DeviceListClock: 7})
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second close:", err)
	}
	if err := s.WithTx(context.Background(), func(storage.StoreTx) error { return nil }); err == nil {
		t.Fatal("tx after close")
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.SchemaVersion()
	if err != nil || v != newestSchema(t) {
		t.Fatalf("schema version %d %v", v, err)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		a, err := tx.Account()
		if err != nil || a.DeviceListClock != 7 {
			t.Fatalf("account after reopen %+v %v", a, err)
		}
		return nil
	})
}

// TestSyncOnCommit: a transaction that asks for a sync is in the database file when
// WithTx returns (the WAL, which a power loss may lose, is checkpointed), and deleted
// content is overwritten (secure_delete).
func TestSyncOnCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chorus.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var secure int
	if err := s.conn.GetContext(context.Background(), &secure, `PRAGMA secure_delete`); err != nil || secure != 1 {
		t.Fatalf("secure_delete = %d, %v", secure, err)
	}
	gid := storage.GroupID{9}
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutGroup(&storage.GroupRecord{ID: gid, Name: "unsynced"})
	})
	// Only the database file survives a power loss that loses the WAL.
	lost := filepath.Join(t.TempDir(), "lost.db")
	copyDB(t, path, lost)
	if names := groupNames(t, lost); len(names) != 0 {
		t.Fatalf("unsynced commit already in the database file: %v", names)
	}
	inTx(t, s, func(tx storage.StoreTx) error {
		tx.SyncOnCommit()
		g, err := tx.GroupState(gid)
		if err != nil {
			return err
		}
		g.SenderLease = 64
		return tx.PutGroupState(g)
	})
	copyDB(t, path, lost)
	if names := groupNames(t, lost); len(names) != 1 || names[0] != "unsynced/64" {
		t.Fatalf("after a synced commit the database file holds %v", names)
	}
}

func copyDB(t *testing.T, from, to string) {
	t.Helper()
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(to + suffix)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func groupNames(t *testing.T, path string) []string {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []string
	inTx(t, s, func(tx storage.StoreTx) error {
		gs, err := tx.Groups()
		for _, g := range gs {
			out = append(out, fmt.Sprintf("%s/%d", g.Name, g.SenderLease))
		}
		return err
	})
	return out
}

// testAnnounceFields: the announcement secret, schedule and migration flag of the account
// and the name, name clock and secret of a contact round-trip (migration 0006).
func testAnnounceFields(t *testing.T, s *Store) {
	secret := bytes.Repeat([]byte{7}, 32)
	inTx(t, s, func(tx storage.StoreTx) error {
		return tx.PutAccount(&storage.AccountRecord{PublicKey: []byte{4}, Identity: []byte{1}, AnnounceSecret: secret,
			NextAnnounce: t0, SecretShared: true})
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		a, err := tx.Account()
		if err != nil || !bytes.Equal(a.AnnounceSecret, secret) || !a.NextAnnounce.Equal(t0) || !a.SecretShared {
			t.Fatalf("account %+v %v", a, err)
		}
		if err := tx.PutContact(&storage.ContactRecord{Account: "0x04aa", DeviceList: []byte{1}, Name: "Bob", NameClock: 3,
			AnnounceSecret: secret}); err != nil {
			return err
		}
		return tx.PutContact(&storage.ContactRecord{Account: "0x04bb", DeviceList: []byte{1}})
	})
	inTx(t, s, func(tx storage.StoreTx) error {
		c, err := tx.Contact("0x04aa")
		if err != nil || c.Name != "Bob" || c.NameClock != 3 || !bytes.Equal(c.AnnounceSecret, secret) {
			t.Fatalf("contact %+v %v", c, err)
		}
		c, err = tx.Contact("0x04bb")
		if err != nil || c.Name != "" || c.NameClock != 0 || c.AnnounceSecret != nil {
			t.Fatalf("contact without name or secret %+v %v", c, err)
		}
		return nil
	})
}

func testEpochs(t *testing.T, s *Store) {
	g := &storage.GroupRecord{ID: storage.GroupID{7}, ChatID: "c", Topic: "/t", Events: []byte{1}, JoinedAt: t0,
		Schedule: []byte{0x45, 1}, EpochMeta: []byte(`{"v":2}`)}
	e1, e2 := [32]byte{1}, [32]byte{2}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(g); err != nil {
			return err
		}
		hot, err := tx.GroupState(g.ID)
		if err != nil || string(hot.Schedule) != string(g.Schedule) || string(hot.EpochMeta) != `{"v":2}` {
			t.Fatalf("group state %+v %v", hot, err)
		}
		hot.Schedule, hot.Clock = []byte{0x45, 2}, 9
		if err := tx.PutGroupState(hot); err != nil {
			return err
		}
		if got, err := tx.Group(g.ID); err != nil || got.Schedule[1] != 1 || got.Clock != 9 {
			t.Fatalf("PutGroupState wrote the schedule or not the clock: %+v %v", got, err)
		}
		if err := tx.PutGroupExceptLog(hot); err != nil {
			return err
		}
		if got, err := tx.Group(g.ID); err != nil || got.Schedule[1] != 1 {
			t.Fatalf("PutGroupExceptLog wrote the schedule: %+v %v", got, err)
		}
		if err := tx.PutGroupKeys(g.ID, hot.Schedule, []byte(`{"v":3}`)); err != nil {
			return err
		}
		if got, err := tx.Group(g.ID); err != nil || got.Schedule[1] != 2 || string(got.EpochMeta) != `{"v":3}` || got.Clock != 9 {
			t.Fatalf("keys not updated: %+v %v", got, err)
		}
		if err := tx.PutGroupKeys(storage.GroupID{8}, hot.Schedule, nil); err != storage.ErrNotFound {
			t.Fatalf("keys of a group not stored: %v", err)
		}
		if _, err := tx.SenderChain(g.ID, e1); err != storage.ErrNotFound {
			t.Fatalf("sender chain before put: %v", err)
		}
		for _, e := range [][32]byte{e1, e2} {
			if err := tx.PutSenderChain(&storage.EpochChainRecord{Group: g.ID, Epoch: e, State: []byte{e[0]}, Lease: 256}); err != nil {
				return err
			}
			for _, in := range []storage.InstallationID{{1}, {2}} {
				if err := tx.PutReceiverChain(&storage.EpochChainRecord{Group: g.ID, Epoch: e, Installation: in, State: []byte{e[0], in[0]}}); err != nil {
					return err
				}
			}
		}
		sc, err := tx.SenderChain(g.ID, e2)
		if err != nil || sc.Lease != 256 || sc.State[0] != 2 {
			t.Fatalf("sender chain %+v %v", sc, err)
		}
		rc, err := tx.ReceiverChain(g.ID, e1, storage.InstallationID{2})
		if err != nil || rc.State[1] != 2 || rc.Installation[0] != 2 {
			t.Fatalf("receiver chain %+v %v", rc, err)
		}
		if err := tx.DeleteEpochChains(g.ID, [][32]byte{e2}); err != nil {
			return err
		}
		if _, err := tx.SenderChain(g.ID, e1); err != storage.ErrNotFound {
			t.Fatalf("retired sender chain kept: %v", err)
		}
		all, err := tx.ReceiverChains(g.ID)
		if err != nil || len(all) != 2 || all[0].Epoch != e2 {
			t.Fatalf("receiver chains after retiring e1: %+v %v", all, err)
		}
		if err := tx.DeleteReceiverChains(g.ID, storage.InstallationID{1}); err != nil {
			return err
		}
		if all, _ := tx.ReceiverChains(g.ID); len(all) != 1 {
			t.Fatalf("receiver chains of installation 1 kept: %+v", all)
		}
		if err := tx.DeleteEpochChains(g.ID, nil); err != nil {
			return err
		}
		if all, _ := tx.SenderChains(g.ID); len(all) != 0 {
			t.Fatalf("sender chains kept: %+v", all)
		}
		return nil
	})
}

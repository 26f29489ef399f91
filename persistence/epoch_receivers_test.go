package persistence

import (
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestDeleteEpochReceivers: DeleteEpochReceivers deletes the receiving chains of the
// epochs not kept (their skipped keys with them) and leaves every sending chain.
func TestDeleteEpochReceivers(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "receivers.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g, e1, e2, inst := storage.GroupID{1}, [32]byte{1}, [32]byte{2}, storage.InstallationID{3}
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutGroup(&storage.GroupRecord{ID: g, ChatID: "c", Topic: "/t", JoinedAt: t0}); err != nil {
			return err
		}
		for _, e := range [][32]byte{e1, e2} {
			if err := tx.PutSenderChain(&storage.EpochChainRecord{Group: g, Epoch: e, State: []byte{e[0]}}); err != nil {
				return err
			}
			if err := tx.PutReceiverChain(&storage.EpochChainRecord{Group: g, Epoch: e, Installation: inst, State: []byte{e[0]}, Skipped: 1}); err != nil {
				return err
			}
			if err := tx.UpdateSkippedKeys(&storage.SkippedKeysChange{Group: g, Epoch: e, Installation: inst,
				Add: []storage.SkippedKey{{Iteration: 1}}}); err != nil {
				return err
			}
		}
		if err := tx.DeleteEpochReceivers(g, [][32]byte{e2}); err != nil {
			return err
		}
		if rcs, err := tx.ReceiverChains(g); err != nil || len(rcs) != 1 || rcs[0].Epoch != e2 {
			t.Fatalf("receiver chains after retiring e1: %+v %v", rcs, err)
		}
		if its, err := tx.SkippedIterations(g); err != nil || len(its) != 1 || its[0].Epoch != e2 {
			t.Fatalf("skipped keys after retiring e1: %+v %v", its, err)
		}
		if scs, err := tx.SenderChains(g); err != nil || len(scs) != 2 {
			t.Fatalf("sender chains: %+v %v", scs, err)
		}
		if err := tx.DeleteEpochReceivers(g, nil); err != nil {
			return err
		}
		if rcs, err := tx.ReceiverChains(g); err != nil || len(rcs) != 0 {
			t.Fatalf("receiver chains after deleting all: %+v %v", rcs, err)
		}
		if scs, err := tx.SenderChains(g); err != nil || len(scs) != 2 {
			t.Fatalf("sender chains after deleting the receivers: %+v %v", scs, err)
		}
		return nil
	})
}

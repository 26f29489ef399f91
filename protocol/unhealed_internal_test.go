package protocol

import (
	cryptorand "crypto/rand"
	"errors"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// TestSealFrameUnhealed: under an epoch the transaction found unhealed, the frame sealer
// seals a rekey's frame (block-only or with its rider) and refuses anything else — a
// message alone, a membership key event's frame — whatever the caller; under any other
// epoch it seals them all.
func TestSealFrameUnhealed(t *testing.T) {
	bad, good := epoch.Epoch{ID: epoch.ID{1}}, epoch.Epoch{ID: epoch.ID{2}}
	tx := &txn{c: &Client{rand: cryptorand.Reader}, unhealedEps: map[epoch.ID]bool{bad.ID: true}}
	g := &storage.GroupRecord{Topic: "/chorus/test"}
	msg := []byte("content")
	rekey := []byte{epoch.Version, epoch.KindRekey, 0}
	key := []byte{epoch.Version, epoch.KindMembership, 0}
	cases := []struct {
		name    string
		f       wire.FrameV2
		refused bool
	}{
		{"message", wire.FrameV2{Message: msg}, true},
		{"key event", wire.FrameV2{Block: key, Message: msg}, true},
		{"key event block", wire.FrameV2{Block: key}, true},
		{"rekey", wire.FrameV2{Block: rekey}, false},
		{"rekey with rider", wire.FrameV2{Block: rekey, Message: msg}, false},
	}
	for _, c := range cases {
		if _, err := tx.sealFrameV2(g, &bad, &c.f); errors.Is(err, errUnhealedSeal) != c.refused || (!c.refused && err != nil) {
			t.Errorf("%s under an unhealed epoch: %v, refused want %v", c.name, err, c.refused)
		}
		if _, err := tx.sealFrameV2(g, &good, &c.f); err != nil {
			t.Errorf("%s under a healed epoch: %v", c.name, err)
		}
	}
}

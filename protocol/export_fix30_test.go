package protocol

import (
	"context"
	cryptorand "crypto/rand"
	"errors"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// SlottedRekeyForTest builds a rekey key block of group g by c with prev prev, c's
// membership heads as it holds them now, and a real slot (a seed c chose, its key
// confirmation right) for each installation of to; signed by c and sealed under ep. It
// returns the payload and the signed block. Nothing of c's state is kept (its sessions
// are not advanced): what an installation can still build after it was removed, with
// the epoch keys it kept.
func SlottedRekeyForTest(c *Client, g GroupID, prev epoch.Frontier, ep epoch.Epoch, to ...InstallationID) (payload, block []byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		gc := t.c.groups[g]
		if gc == nil {
			return errors.New("SlottedRekeyForTest: group not loaded")
		}
		var nonce [epoch.NonceSize]byte
		var seed epoch.Seed
		for _, b := range [][]byte{nonce[:], seed[:]} {
			if _, err := cryptorand.Read(b); err != nil {
				return err
			}
		}
		kb := epoch.NewRekeyHeads(epoch.ID(g), epoch.Installation(t.c.acct.inst), nonce, prev, rekeyHeads(t.stateOf(gc)))
		var targets []storage.InstallationRecord
		for _, id := range to {
			in, err := t.Installation(id)
			if err != nil {
				return err
			}
			targets = append(targets, *in)
		}
		if kb.Slots, _, err = t.buildKeySlots(rec, &kb, &seed, targets); err != nil {
			return err
		}
		if block, err = kb.MarshalBinary(); err != nil {
			return err
		}
		if err := t.c.blockSigner(g)(block); err != nil {
			return err
		}
		frame, err := (&wire.FrameV2{Block: block}).Marshal()
		if err != nil {
			return err
		}
		if payload, err = epoch.SealOuter(cryptorand.Reader, &ep, rec.Topic, frame); err != nil {
			return err
		}
		return errForgeDone
	})
	if errors.Is(err, errForgeDone) {
		err = nil
	}
	return payload, block, err
}

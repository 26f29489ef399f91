package protocol

import (
	"context"
	cryptorand "crypto/rand"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// EquivocateForTest has c author one rekey of group g and seal it as two blocks of the
// one event with different seeds (so different confirmations): the installations of
// halfA get slots in the first, those of halfB in the second; each block also carries a
// slot that opens for no one with the hint of every installation of the other half (so
// no member sees a coverage gap). c keeps the first seed. It returns the two payloads
// sealed under c's current epoch, not published.
func EquivocateForTest(c *Client, g GroupID, halfA, halfB []InstallationID) (pa, pb []byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		gc := t.c.groups[g]
		s, m, err := t.loadV2(rec)
		if err != nil {
			return err
		}
		ep, err := s.Current()
		if err != nil {
			return err
		}
		var nonce [epoch.NonceSize]byte
		var s1, s2 epoch.Seed
		for _, b := range [][]byte{nonce[:], s1[:], s2[:]} {
			if _, err := cryptorand.Read(b); err != nil {
				return err
			}
		}
		kb := epoch.NewRekey(epoch.ID(g), epoch.Installation(t.c.acct.inst), nonce, s.Frontier())
		var all []storage.InstallationRecord
		seal := func(seed *epoch.Seed, half, other []InstallationID) ([]byte, error) {
			var targets []storage.InstallationRecord
			for _, id := range half {
				in, err := t.Installation(id)
				if err != nil {
					return nil, err
				}
				targets = append(targets, *in)
			}
			all = append(all, targets...)
			b := kb
			slots, _, err := t.buildKeySlots(rec, &b, seed, targets)
			if err != nil {
				return nil, err
			}
			for _, id := range other {
				junk := make([]byte, 120)
				if _, err := cryptorand.Read(junk); err != nil {
					return nil, err
				}
				slots = append(slots, epoch.Slot{Hint: epoch.SlotHint(kb.Event, epoch.Installation(id)), Kind: epoch.SlotSession, Message: junk})
			}
			b.Slots = slots
			block, err := b.MarshalBinary()
			if err != nil {
				return nil, err
			}
			if err := t.c.blockSigner(g)(block); err != nil {
				return nil, err
			}
			frame, err := (&wire.FrameV2{Block: block}).Marshal()
			if err != nil {
				return nil, err
			}
			return epoch.SealOuter(cryptorand.Reader, &ep, rec.Topic, frame)
		}
		if pa, err = seal(&s1, halfA, halfB); err != nil {
			return err
		}
		if pb, err = seal(&s2, halfB, halfA); err != nil {
			return err
		}
		if err := s.Apply(epoch.Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
			return err
		}
		if err := s.SetSeed(kb.Event, &s1); err != nil {
			return err
		}
		m.Covered[kb.Event.String()] = newCoverage(kb.Event, kb.LegacyHints, t.c.acct.inst, all, nil)
		if err := t.storeSchedule(rec, gc, s, m); err != nil {
			return err
		}
		return t.PutGroupState(rec)
	})
	return pa, pb, err
}

// ImpersonatedRekeyForTest builds the payload of a rekey key block naming author (another
// installation) as its author, with no slots and prev = attacker's frontier, sealed under
// attacker's current epoch: what any holder of the outer key can publish. Nothing of the
// attacker's state is kept.
func ImpersonatedRekeyForTest(attacker *Client, g GroupID, author InstallationID, nonce byte) []byte {
	return slotlessRekey(attacker, g, author, [2]byte{nonce, 0xe0})
}

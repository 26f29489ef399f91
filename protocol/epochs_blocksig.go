// Key schedule v2, key block signatures (review 3; spec "Rotation block" › "Key block
// signature"): every part of a key block is signed by its author installation, so its
// header (confirmation, prev, part, parts) is the author's for every member, not only for
// those whose slot opens.

package protocol

import (
	"errors"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// blockSigner returns the function that signs the encoded parts of our key blocks of
// group g.
func (c *Client) blockSigner(g GroupID) func(enc []byte) error {
	return func(enc []byte) error { return epoch.SignKeyBlock(epoch.ID(g), enc, c.acct.ident.SigningKey()) }
}

// verifyKeyBlock checks the signature of an encoded key block part by its author before
// anything of the part is used: errForged if it fails. A header copied from another
// member's block with anything changed (another confirmation, a fresh nonce, another part
// count) is therefore refused by everyone. An author installation we have not met: the
// publish waits (errPending) if it carries a message (as any message of a member's device
// not met yet), a block-only part is ignored (ErrNotMember), as before signatures.
func (t *txn) verifyKeyBlock(g GroupID, kb *epoch.KeyBlock, enc []byte, withMessage bool) error {
	in, err := t.installationView(InstallationID(kb.Author))
	if errors.Is(err, storage.ErrNotFound) {
		if !withMessage {
			return ErrNotMember
		}
		t.claim = append([]byte("inst"), kb.Author[:]...)
		return errPending
	}
	if err != nil {
		return err
	}
	key, err := t.c.hot.signingKey(in)
	if err != nil {
		return errForged
	}
	h := t.c.hashers.get() // the one the envelope's replay marker used, most often
	ok := epoch.VerifyKeyBlockWith(h, t.c.hot.verify, epoch.ID(g), enc, key)
	t.c.hashers.put(h)
	if !ok {
		return errForged
	}
	return nil
}

// checkEquivocation compares the confirmation of a signed block of key event E (applied)
// with our seed of E and with the first block of E we saw: a difference proves that its
// author gave out two seeds for one event, whichever block came first (spec "Key block
// signature"). Our seed of E is dropped (E is Missing again), with the epoch it gave, and the group heals as after
// a refused seed, by the designated installation only (every member that saw both
// blocks refuses alike). It reports whether the schedule changed.
func (t *txn) checkEquivocation(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, kb *epoch.KeyBlock, author *storage.InstallationRecord) bool {
	if !s.InFrontier(kb.Event) {
		return false
	}
	first, seen := gc.confirms[kb.Event]
	differs := seen && first != kb.Confirmation
	if seed, ok := s.Seed(kb.Event); ok && !kb.Confirms(epoch.ID(g.ID), &seed) {
		differs = true
	}
	if !seen {
		e, c, f := kb.Event, kb.Confirmation, s.Frontier()
		t.onCommit(func() {
			for id := range gc.confirms {
				if !f.Contains(id) {
					delete(gc.confirms, id)
				}
			}
			if gc.confirms == nil {
				gc.confirms = map[epoch.ID][epoch.IDSize]byte{}
			}
			if _, ok := gc.confirms[e]; !ok {
				gc.confirms[e] = c
			}
		})
	}
	if !differs {
		return false
	}
	t.c.log.Warn("key confirmation: two blocks of one event with different confirmations (equivocation), seed dropped",
		"group", g.ID.String()[:8], "event", shortID(kb.Event), "author", author.ID.String(), "account", author.Account)
	if r := (refusal{group: g.ID, author: author.ID, equivocated: true}); !slices.Contains(t.refused, r) {
		t.refused = append(t.refused, r)
	}
	t.healLater(g.ID)
	if !s.DropSeed(kb.Event) {
		return false
	}
	// The epoch our seed gave is one half of the group's only: retired, so that the heal
	// is sealed under an epoch every member holds (the one before the event).
	if eid, err := epoch.EpochID(epoch.ID(g.ID), s.Frontier()); err == nil {
		s.Retire(eid)
	}
	return true
}

// Key schedule v2, retiring chains: a key event deletes the sending and receiving chains
// of the epochs no longer openable (storeSchedule). Most installations send in few of a
// group's epochs: the client remembers which epochs may hold a sending chain of ours, so
// that a key event deletes from epoch_senders only when one of them retires (issue 13:
// that statement was one in eleven of every key event received, and deleted nothing).

package protocol

import (
	"slices"
)

// senderEpochs (Client.senderEpochs, under mu) holds, per group, a superset of the epochs
// of the group's stored sending chains, as committed; a group without an entry is not
// known (after a start): its next retirement deletes in both tables, which makes it known
// (every kept epoch; none after a join or a leave, which delete every chain). Every sending chain stored passes noteSenderChain, and a retirement
// leaves the kept ones: an entry may name chains deleted since (a group deleted, a full
// delete), never miss one; an installation that does not send ends with none, and skips
// the delete.

// noteSenderChain records that this transaction stores a sending chain of epoch e of
// group g (PutSenderChain): it counts for this transaction's retirements at once, and for
// the client's entry at commit. A message sent in an epoch already noted costs nothing.
func (t *txn) noteSenderChain(g GroupID, e [32]byte) {
	c := t.c
	if s, ok := c.senderEpochs[g]; ok && !t.chainsDropped[g] && slices.Contains(s, e) {
		return // noted, and no retirement in this transaction since
	}
	if slices.Contains(t.senderPut[g], e) {
		return
	}
	if t.senderPut == nil {
		t.senderPut = map[GroupID][][32]byte{}
	}
	t.senderPut[g] = append(t.senderPut[g], e)
	t.onCommit(func() {
		if s, ok := c.senderEpochs[g]; ok && !slices.Contains(s, e) {
			c.senderEpochs[g] = append(s, e)
		}
	})
}

// retireChains deletes group g's sending and receiving chains of every epoch not in
// keep; the sending ones only if one may exist (see senderEpochs).
func (t *txn) retireChains(g GroupID, keep [][32]byte) error {
	c := t.c
	t.onCommit(func() {
		// The send epoch (and its outer sealer) goes with the epoch's chains.
		if se, ok := c.hot.sendEpochs[g]; ok && !slices.Contains(keep, [32]byte(se.ep.ID)) {
			delete(c.hot.sendEpochs, g)
		}
	})
	known, ok := c.senderEpochs[g]
	retired := func(e [32]byte) bool { return !slices.Contains(keep, e) }
	if ok && !slices.ContainsFunc(known, retired) && !slices.ContainsFunc(t.senderPut[g], retired) {
		if err := t.StoreTx.DeleteEpochReceivers(g, keep); err != nil {
			return err
		}
		t.dropChains(g)
	} else if err := t.DeleteEpochChains(g, keep); err != nil {
		return err
	}
	// What remains is in keep: the client's entry keeps its epochs that are in keep (or
	// becomes keep, if it was not known: any of them may hold one), with the sending
	// chains this transaction stores after this point (noted again, at commit after
	// this); of those it stored before, the ones kept remain.
	if put := t.senderPut[g]; put != nil {
		t.senderPut[g] = slices.DeleteFunc(put, retired)
	}
	all := slices.Clone(keep)
	if all == nil {
		all = [][32]byte{}
	}
	t.onCommit(func() {
		if c.senderEpochs == nil {
			c.senderEpochs = map[GroupID][][32]byte{}
		}
		if s, ok := c.senderEpochs[g]; ok {
			c.senderEpochs[g] = slices.DeleteFunc(s, retired)
		} else {
			c.senderEpochs[g] = all
		}
	})
	return nil
}

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
	if s, ok := c.senderEpochs[g]; ok && !t.chainsDropped[g] && !t.retiredIn[g] && slices.Contains(s, e) {
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
	if t.retiredIn == nil {
		t.retiredIn = map[GroupID]bool{}
	}
	t.retiredIn[g] = true // the client's entry loses the retired epochs at commit
	known, ok := c.senderEpochs[g]
	retired := func(e [32]byte) bool { return !slices.Contains(keep, e) }
	if ok && !slices.ContainsFunc(known, retired) && !slices.ContainsFunc(t.senderPut[g], retired) {
		if err := t.retireReceivers(g, keep, retired); err != nil {
			return err
		}
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

// retireReceivers deletes group g's receiving chains of every epoch not in keep: when the
// epochs that may hold one are known (recvEpochs), those of them retired (none: no
// statement; a key event retires one, most often), else every epoch not in keep.
func (t *txn) retireReceivers(g GroupID, keep [][32]byte, retired func([32]byte) bool) error {
	s, ok := t.recvEpochsOf(g)
	if !ok {
		if err := t.StoreTx.DeleteEpochReceivers(g, keep); err != nil {
			return err
		}
		t.dropChains(g)
		t.retireRecvEpochs(g, keep)
		return nil
	}
	var gone [][32]byte
	for _, e := range s {
		if retired(e) {
			gone = append(gone, e)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if err := t.StoreTx.DeleteReceiverEpochs(g, gone); err != nil {
		return err
	}
	t.dropReceiverEpochs(g, gone)
	t.setRecvEpochs(g, slices.DeleteFunc(slices.Clone(s), retired))
	return nil
}

// dropReceiverEpochs takes group's receiving chains of epochs out of the view (they were
// deleted): for the rest of the transaction (known absent) and from the client's at
// commit. The group's other chains stay in view.
func (t *txn) dropReceiverEpochs(group GroupID, epochs [][32]byte) {
	gone := func(k chainKey) bool { return k.group == group && !k.sender && slices.Contains(epochs, k.epoch) }
	for k := range t.chains {
		if gone(k) {
			t.chains[k] = nil
		}
	}
	c := t.c
	for k := range c.hot.chains {
		if gone(k) {
			if t.chains == nil {
				t.chains = c.spare.takeChains()
			}
			t.chains[k] = nil
		}
	}
	t.onCommit(func() {
		for k := range c.hot.chains {
			if gone(k) {
				delete(c.hot.chains, k)
			}
		}
	})
}

// Receiver chains known absent (hotPath.recvEpochs): per group, a superset of the epochs
// of its stored receiving chains, as committed. A retirement (every key event) keeps
// those of its epochs that are kept (retireRecvEpochs: a new epoch kept has no chain
// yet), every receiving chain stored passes noteRecvEpoch, and other deletes only shrink
// what is stored; a group without an entry is not known (after a start: its next
// retirement makes it known). A key event's message is mostly its author's first in an
// epoch born after the last retirement: its chain is known absent without a SELECT
// (receiverChainShared).

// recvEpochsOf returns group g's entry as of this transaction.
func (t *txn) recvEpochsOf(g GroupID) ([][32]byte, bool) {
	if s, ok := t.recvEps[g]; ok {
		return s, true
	}
	s, ok := t.c.hot.recvEpochs[g]
	return s, ok
}

// setRecvEpochs makes s group g's entry for the rest of the transaction and, at commit,
// for the client.
func (t *txn) setRecvEpochs(g GroupID, s [][32]byte) {
	if t.recvEps == nil {
		t.recvEps = map[GroupID][][32]byte{}
	}
	if _, ok := t.recvEps[g]; !ok {
		h := &t.c.hot
		t.onCommit(func() {
			if h.recvEpochs == nil {
				h.recvEpochs = map[GroupID][][32]byte{}
			}
			h.recvEpochs[g] = t.recvEps[g]
		})
	}
	t.recvEps[g] = s
}

// retireRecvEpochs follows a delete of group g's receiving chains of every epoch not in
// keep: what remains is in keep, and in the entry if it was known (a new epoch kept has
// no chain yet).
func (t *txn) retireRecvEpochs(g GroupID, keep [][32]byte) {
	s, ok := t.recvEpochsOf(g)
	if !ok {
		t.setRecvEpochs(g, slices.Clone(keep))
		return
	}
	t.setRecvEpochs(g, slices.DeleteFunc(slices.Clone(s), func(e [32]byte) bool { return !slices.Contains(keep, e) }))
}

// noteRecvEpoch records that this transaction stores a receiving chain of epoch e of
// group g.
func (t *txn) noteRecvEpoch(g GroupID, e [32]byte) {
	if s, ok := t.recvEpochsOf(g); ok && !slices.Contains(s, e) {
		t.setRecvEpochs(g, append(slices.Clip(s), e))
	}
}

// recvAbsent reports whether group g holds no receiving chain of epoch e (false: not
// known).
func (t *txn) recvAbsent(g GroupID, e [32]byte) bool {
	s, ok := t.recvEpochsOf(g)
	return ok && !slices.Contains(s, e)
}

// Key schedule v2, gaps: epoch gaps, known and expected messages, gap reports, leases.

package protocol

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// epochGapsV2 lists R1 gaps of v2 receiver chains: per (sender, epoch) runs of skipped
// iterations still openable.
func (t *txn) epochGapsV2(g GroupID) ([]epochGap, error) {
	its, err := t.SkippedIterations(g) // ordered by epoch, installation, iteration
	if err != nil {
		return nil, err
	}
	var out []epochGap
	for i := 0; i < len(its); {
		j, run := i, []uint32(nil)
		for ; j < len(its) && its[j].Epoch == its[i].Epoch && its[j].Installation == its[i].Installation; j++ {
			run = append(run, its[j].Iteration)
		}
		for _, gp := range epoch.GapsOf(run) {
			out = append(out, epochGap{inst: its[i].Installation, epoch: its[i].Epoch, from: gp.From, to: gp.To})
		}
		i = j
	}
	return out, nil
}

type epochGap struct {
	inst     InstallationID
	epoch    [32]byte
	from, to uint32
}

// knownV2Message reports whether a causal-history entry of installation inst names a
// message we could ever open: one of an epoch we held since joining, at an iteration
// near what we hold of that sender (a bounded search). Entries naming messages of
// epochs before our join are never expected (R1).
func (t *txn) knownV2Message(g *storage.GroupRecord, inst InstallationID, prefix []byte) (bool, error) {
	m, err := loadMeta(g)
	if err != nil {
		return false, err
	}
	for _, hexID := range m.Epochs {
		b, err := hex.DecodeString(hexID)
		if err != nil || len(b) != 32 {
			continue
		}
		eid := epoch.ID(b)
		hi := uint32(HistoryLength + 1)
		if rec, err := t.ReceiverChain(g.ID, eid, inst); err == nil {
			rc := new(epoch.ReceiverChain)
			if rc.UnmarshalBinary(rec.State) == nil {
				hi = rc.Next() + HistoryLength + 1
			}
		}
		lo := uint32(0)
		if hi > PreJoinLookback {
			lo = hi - PreJoinLookback
		}
		for i := lo; i < hi; i++ {
			id := messageIDV2(g.ID, inst, eid, i)
			if bytes.Equal(id[:len(prefix)], prefix) {
				return true, nil
			}
		}
	}
	return false, nil
}

// mayExpectV2 reports whether a causal-history entry may be expected in a v2 group: only
// if it names a message of an epoch we held (never one sent before we joined).
func (t *txn) mayExpectV2(g *storage.GroupRecord, e [32]byte) bool {
	if !isV2(g) {
		return true
	}
	ok, err := t.knownV2Message(g, InstallationID(e[:16]), e[16:])
	return err == nil && ok
}

// reportGapsV2 reports the iteration gaps of a v2 group's receiver chains once each (R1
// per sender and epoch; KeyID carries the first 8 bytes of the epoch id).
func (t *txn) reportGapsV2(g *storage.GroupRecord, now time.Time) error {
	if !isV2(g) {
		return nil
	}
	gaps, err := t.epochGapsV2(g.ID)
	if err != nil {
		return err
	}
	for _, gp := range gaps {
		key := fmt.Sprintf("gap2/%s/%s/%x/%d/%d", g.ID, gp.inst, gp.epoch[:], gp.from, gp.to)
		done, err := t.Reported(key)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if err := t.MarkReported(key, now); err != nil {
			return err
		}
		ev := &MessageMissing{Group: g.ID, SenderInstallation: gp.inst, From: gp.from, To: gp.to}
		copy(ev.KeyID[:], gp.epoch[:8])
		if in, err := t.Installation(gp.inst); err == nil {
			ev.SenderAccount = in.Account
		}
		t.emit(ev)
	}
	return nil
}

// releaseEpochLeases lowers the leases of the v2 sending chains this process used to the
// iterations actually used (see releaseLeases).
func releaseEpochLeases(t *txn, chains map[[32]byte]GroupID) error {
	for eid, gid := range chains {
		rec, err := t.SenderChain(gid, eid)
		if err != nil {
			continue
		}
		var sc epoch.SenderChain
		if sc.UnmarshalBinary(rec.State) != nil || sc.Iteration() >= rec.Lease {
			continue
		}
		rec.Lease = sc.Iteration()
		if err := t.PutSenderChain(rec); err != nil {
			return err
		}
	}
	return nil
}

// mayExpect reports whether a causal-history entry of installation inst may be expected
// (R1): not when inst is a revoked device or belongs to an account no longer in the
// group. We dropped (or never got) its sender keys, so we could not read such a message
// if it came, and could no longer tell one sent before we joined, never meant for us,
// from one sent since (see dropReceivers).
func (t *txn) mayExpect(gc *groupCache, inst InstallationID) bool {
	in, err := t.Installation(inst)
	if err != nil {
		return true // not known yet: a member's device we have not met
	}
	return !in.Revoked && gc.isMember(in.Account)
}

package protocol

import (
	"bytes"
	"encoding/hex"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// Short causal-history entries of v2 group messages (spec: protocol, "Key schedule v2",
// **Messages**, history entries): installation id[0:8] || message id[0:8] on the wire;
// the receiver resolves them to the full entry (installation || message id[0:16]) that
// the store and R1 use.

// maxEntryCandidates bounds the installations sharing an 8-byte prefix that one short
// entry is resolved against (installation ids are chosen by their accounts).
const maxEntryCandidates = 4

// shortEntry is the wire form of a full causal-history entry.
func shortEntry(e []byte) [wire.ShortEntrySize]byte {
	var s [wire.ShortEntrySize]byte
	copy(s[:8], e[:8])
	copy(s[8:], e[16:24])
	return s
}

// shortHistory converts a group's recent history (32-byte entries) to wire entries.
func shortHistory(h []byte) [][wire.ShortEntrySize]byte {
	if len(h) < 32 {
		return nil
	}
	out := make([][wire.ShortEntrySize]byte, 0, len(h)/32)
	for i := 0; i+32 <= len(h); i += 32 {
		out = append(out, shortEntry(h[i:i+32]))
	}
	return out
}

func inShortHistory(h []byte, e [wire.ShortEntrySize]byte) bool {
	for i := 0; i+32 <= len(h); i += 32 {
		if shortEntry(h[i:i+32]) == e {
			return true
		}
	}
	return false
}

// expectShortHistory records the short entries of a v2 message that name messages we
// have not seen and could open (R1), as full entries.
func (t *txn) expectShortHistory(g *storage.GroupRecord, gc *groupCache, short [][wire.ShortEntrySize]byte, now time.Time) error {
	for _, e := range short {
		if bytes.Equal(e[:8], t.c.acct.inst[:8]) || inShortHistory(g.History, e) || t.c.hot.hasRecent(e) {
			continue // ours, or among the messages we stored last
		}
		full, err := t.resolveShortEntry(g, e)
		if err != nil {
			return err
		}
		for _, f := range full {
			seen, err := t.HasHistoryEntry(g.ID, f)
			if err != nil {
				return err
			}
			if !seen && t.mayExpect(gc, InstallationID(f[:16])) {
				if err := t.PutExpected(&storage.ExpectedRecord{Group: g.ID, Entry: f, Since: now}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// resolveShortEntry returns the full entries a short entry may name: for each known
// installation with its 8-byte prefix (at most maxEntryCandidates), the message of an
// epoch we held whose id starts with its 8 id bytes (searched as knownV2Message does).
// Nothing when no installation or no such message is known: a message sent before we
// joined, or by an installation we have not met, is not expected.
func (t *txn) resolveShortEntry(g *storage.GroupRecord, e [wire.ShortEntrySize]byte) ([][32]byte, error) {
	cands, err := t.InstallationsByPrefix([8]byte(e[:8]))
	if err != nil {
		return nil, err
	}
	var out [][32]byte
	for i := range cands[:min(len(cands), maxEntryCandidates)] {
		id, ok, err := t.findV2Message(g, cands[i].ID, e[8:])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, historyEntry(cands[i].ID, id))
		}
	}
	return out, nil
}

// findV2Message looks for the message of installation inst whose id starts with prefix
// among the epochs we held since joining (newest first), at iterations up to
// PreJoinLookback below what we hold of that sender (HistoryLength + 1 above it),
// nearest first.
func (t *txn) findV2Message(g *storage.GroupRecord, inst InstallationID, prefix []byte) (MessageID, bool, error) {
	m, err := loadMeta(g)
	if err != nil {
		return MessageID{}, false, err
	}
	for k := len(m.Epochs) - 1; k >= 0; k-- {
		b, err := hex.DecodeString(m.Epochs[k])
		if err != nil || len(b) != 32 {
			continue
		}
		eid := epoch.ID(b)
		hi := uint32(HistoryLength + 1)
		if rec, err := t.ReceiverChain(g.ID, eid, inst); err == nil {
			rc := new(epoch.ReceiverChain)
			if rc.UnmarshalBinary(rec.State) == nil {
				hi = uint32(min(uint64(rc.Next())+HistoryLength+1, 1<<32-1))
			}
		}
		lo := hi - min(hi, PreJoinLookback)
		for i := hi; i > lo; i-- {
			id := messageIDV2(g.ID, inst, eid, i-1)
			if bytes.Equal(id[:len(prefix)], prefix) {
				return id, true, nil
			}
		}
	}
	return MessageID{}, false, nil
}

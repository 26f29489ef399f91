package protocol

import (
	"encoding/hex"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
)

// The installations of a group's members, for the checks every key event makes (who a
// frontier event's seed missed): one store query per member account per key event cost
// a large group more than the key event itself. The group's cache entry keeps their ids
// and accounts (20 bytes an installation; the records are read for the few gaps found)
// with the member accounts they were read for and the client's installation generation,
// which every write of an installation record (txn.PutInstallation) and every rolled-back
// transaction that wrote one moves: they are read again after any change, and never hold
// what a failed transaction wrote. A removal keeps the others' entries.

// memberInstalls is the cached list (see above).
type memberInstalls struct {
	gen uint64
	// accounts are the member accounts: the caller's list, shared, not copied (a state's
	// member list is replaced, never changed; a copy was 16 KiB per client in a
	// 1000-member group, issue 16).
	accounts []string
	ids      []InstallationID // their unrevoked installations
	of       []int32          // the index in accounts of each one's account
}

// PutInstallation stores an installation record and invalidates the cached installation
// lists (now, and again if the transaction fails).
func (t *txn) PutInstallation(in *storage.InstallationRecord) error {
	c := t.c
	c.instGen++
	if !t.instWritten {
		t.instWritten = true
		t.onRollback(func() { c.instGen++ })
	}
	return t.StoreTx.PutInstallation(in)
}

// memberInstallationsOf returns the unrevoked installations we know of the accounts
// (ours included) with their ID and Account only, through gc's cache (see above). The
// caller owns the slice.
func (t *txn) memberInstallationsOf(gc *groupCache, accounts []string) ([]storage.InstallationRecord, error) {
	c := t.c
	mi := gc.installs
	switch {
	case mi != nil && mi.gen == c.instGen && slices.Equal(mi.accounts, accounts):
	case mi != nil && mi.gen == c.instGen && len(accounts) < len(mi.accounts):
		// Some accounts left: keep the others' entries if no account is new.
		idx := make(map[string]int32, len(accounts))
		for i, a := range accounts {
			idx[a] = int32(i)
		}
		known := 0 // accounts of the cached list still members
		for _, a := range mi.accounts {
			if _, ok := idx[a]; ok {
				known++
			}
		}
		if known == len(accounts) {
			next := &memberInstalls{gen: mi.gen, accounts: accounts}
			for k, id := range mi.ids {
				if i, ok := idx[mi.accounts[mi.of[k]]]; ok {
					next.ids, next.of = append(next.ids, id), append(next.of, i)
				}
			}
			mi = next
			break
		}
		mi = nil
	default:
		mi = nil
	}
	if mi == nil {
		mi = &memberInstalls{gen: c.instGen, accounts: accounts}
		for i, a := range accounts {
			ins, err := t.InstallationsOf(a)
			if err != nil {
				return nil, err
			}
			for _, in := range ins {
				if !in.Revoked {
					mi.ids, mi.of = append(mi.ids, in.ID), append(mi.of, int32(i))
				}
			}
		}
	}
	if cap(mi.ids) > len(mi.ids)+len(mi.ids)/8 {
		mi.ids, mi.of = slices.Clone(mi.ids), slices.Clone(mi.of) // kept: no room left from appending
	}
	gc.installs = mi
	out := make([]storage.InstallationRecord, len(mi.ids))
	for k, id := range mi.ids {
		out[k] = storage.InstallationRecord{ID: id, Account: mi.accounts[mi.of[k]]}
	}
	return out, nil
}

// hintSet indexes a coverage's slot hints.
func (cv *coverage) hintSet() map[string]struct{} {
	set := make(map[string]struct{}, len(cv.Hints))
	for _, h := range cv.Hints {
		set[h] = struct{}{}
	}
	return set
}

// coversIn is covers with the coverage's hints indexed (hints from hintSet).
func (cv *coverage) coversIn(hints map[string]struct{}, e epoch.ID, in *storage.InstallationRecord) bool {
	if in.ID == cv.Author {
		return true
	}
	if cv.Departed {
		return false
	}
	if slices.Contains(cv.Adds, in.Account) {
		return true
	}
	h := epoch.SlotHint(e, epoch.Installation(in.ID))
	_, ok := hints[hex.EncodeToString(h[:])]
	return ok
}

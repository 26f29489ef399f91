package protocol

import (
	"encoding/hex"
	"slices"

	"github.com/chorus-im/chorus/epoch"
)

// The installations of a group's members, for the checks every key event makes (who a
// frontier event's seed missed): one store query per member account per key event cost
// a large group more than the key event itself. The client keeps them by account, valid
// for one installation generation, which every write of an installation record
// (txn.PutInstallation) and every rolled-back transaction that wrote one moves: they are
// read again after any change, and never hold what a failed transaction wrote.

// installsCache is the cached lists (see above).
type installsCache struct {
	gen uint64
	of  map[string][]InstallationRecord // account -> its unrevoked installations
}

// PutInstallation stores an installation record and invalidates the cached installation
// lists (now, and again if the transaction fails).
func (t *txn) PutInstallation(in *InstallationRecord) error {
	c := t.c
	c.instGen++
	if !t.instWritten {
		t.instWritten = true
		t.onRollback(func() { c.instGen++ })
	}
	return t.StoreTx.PutInstallation(in)
}

// memberInstallationsOf is installationsOf (the unrevoked installations we know of the
// accounts, ours included) through the client's cache. The caller owns the slice.
func (t *txn) memberInstallationsOf(accounts []string) ([]InstallationRecord, error) {
	c := t.c
	if c.installs.of == nil || c.installs.gen != c.instGen {
		c.installs = installsCache{gen: c.instGen, of: map[string][]InstallationRecord{}}
	}
	var out []InstallationRecord
	for _, a := range accounts {
		list, ok := c.installs.of[a]
		if !ok {
			ins, err := t.InstallationsOf(a)
			if err != nil {
				return nil, err
			}
			list = slices.DeleteFunc(ins, func(in InstallationRecord) bool { return in.Revoked })
			c.installs.of[a] = list
		}
		out = append(out, list...)
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
func (cv *coverage) coversIn(hints map[string]struct{}, e epoch.ID, in *InstallationRecord) bool {
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

// Welcome catch-up: after joining through another account's Welcome, welcoming our
// installations the inviter's copy of our device list lacked.

package protocol

import (
	"bytes"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// catchUpSiblings runs when we joined a group through another account's Welcome: if the
// inviter's copy of our device list (the one it put in the Welcome) lacks some of our
// active installations, the smallest-id installation it did list welcomes them. An
// installation counts as listed only with its binding (the inviter hands on every binding
// it holds; without one it does not know the installation).
func (t *txn) catchUpSiblings(g *storage.GroupRecord, st *membership.State, w *wire.Welcome) error {
	return t.catchUpSiblingsLists(g, st, w.DeviceLists)
}

func (t *txn) catchUpSiblingsLists(g *storage.GroupRecord, st *membership.State, lists [][]byte) error {
	acct := t.c.acct
	var listed map[[16]byte]bool
	for _, raw := range lists {
		list, err := devicelist.Parse(raw)
		if err != nil || !bytes.Equal(list.Account[:], acct.pub) {
			continue
		}
		listed = map[[16]byte]bool{}
		for _, e := range list.Entries {
			if !e.Revoked && devicelist.BindingValid(acct.pub, &e) {
				listed[e.ID] = true
			}
		}
	}
	if listed == nil {
		return nil
	}
	own, err := t.InstallationsOf(acct.id)
	if err != nil {
		return err
	}
	var missing []*storage.InstallationRecord
	leader := InstallationID{}
	found := false
	for i := range own { // ordered by id
		in := &own[i]
		if in.Revoked {
			continue
		}
		if listed[in.ID] {
			if !found {
				leader, found = in.ID, true
			}
			continue
		}
		missing = append(missing, in)
	}
	if len(missing) == 0 || leader != acct.inst {
		return nil
	}
	if isV2(g) {
		gc := t.c.groups[g.ID]
		if gc == nil {
			var err error
			if gc, err = t.cacheGroup(g); err != nil {
				return err
			}
		}
		outs, err := t.linkRekeyV2(g, gc, missing, "")
		t.sends = append(t.sends, outs...)
		return err
	}
	bodies, err := t.welcomeBodies(g, st)
	if err != nil {
		return err
	}
	outs, _, err := t.welcomeInstallations(g, bodies, missing, "")
	t.sends = append(t.sends, outs...)
	return err
}

// Merging a received, verified device list into the store.

package protocol

import (
	"bytes"
	"errors"
	"slices"
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/x3dh"
)

// listFrom says how a device list reached us (mergeDeviceList). The zero value: a list
// whose one-time prekeys are not ours to use, a copy handed on by someone else (a group,
// a Welcome, a membership event) or one its owner sent without them (a contact's
// pairwise device list).
type listFrom struct {
	// owner: the account sent the list to us itself (an initial message, a Devices message,
	// its announcement), so the one-time prekeys of its bundles are ours to use; otherwise
	// they are stripped so that no one-time prekey is used twice.
	owner bool
	// addContact: we add the list's account as a contact (a contact code, a contact sync).
	addContact bool
}

// storeDeviceList records a verified device list: the contact's newest device list and the
// union of every device list of the account seen (mergeDeviceList).
func (t *txn) storeDeviceList(v *devicelist.Verified, raw []byte, from listFrom, now time.Time) error {
	_, err := t.mergeDeviceList(v, raw, from, now)
	return err
}

// deviceDelta is what a device-list merge changed: installations added and revoked, and
// installations already ours whose binding signature we learnt (bound; see mergeDeviceList).
type deviceDelta struct{ added, revoked, bound []InstallationID }

func (d deviceDelta) empty() bool { return len(d.added) == 0 && len(d.revoked) == 0 }

func installationIDs(ids [][16]byte) []InstallationID {
	var out []InstallationID
	for _, id := range ids {
		out = append(out, InstallationID(id))
	}
	return out
}

// mergeDeviceList records a verified device list: the installations of its account merged by
// devicelist.Merge (the union of every list seen; an installation is bound to an account
// only by its own binding signature: that is checked there, for every path that
// receives a list), their bundles, the list kept for the account (keepOwnList,
// keepContactList), and the effects of the change (applyDeviceDelta). It returns the
// installations added and revoked.
//
// raw is the list as received; the contact record keeps v re-encoded instead, with every
// binding we hold (keepContactList).
func (t *txn) mergeDeviceList(v *devicelist.Verified, raw []byte, from listFrom, now time.Time) (deviceDelta, error) {
	acct := t.c.acct
	var delta deviceDelta
	own := acct != nil && v.Account == acct.id
	known := make(map[[16]byte]devicelist.Installation, len(v.List.Entries))
	records := make(map[[16]byte]*storage.InstallationRecord, len(v.List.Entries))
	for _, e := range v.List.Entries {
		prev, err := t.Installation(InstallationID(e.ID))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return delta, err
		}
		records[e.ID] = prev
		known[e.ID] = devicelist.Installation{ID: e.ID, Account: prev.Account, DH: prev.DH, Signing: prev.Signing, Revoked: prev.Revoked, Binding: prev.Binding}
	}
	merged, d := devicelist.Merge(known, v)
	delta.added, delta.revoked, delta.bound = installationIDs(d.Added), installationIDs(d.Revoked), installationIDs(d.Bound)
	for _, m := range merged {
		id := InstallationID(m.ID)
		ir, ok := records[m.ID]
		if !ok {
			ir = &storage.InstallationRecord{ID: id, Account: m.Account, DH: m.DH, Signing: m.Signing}
		}
		changed := !ok || ir.Revoked != m.Revoked || (len(ir.Binding) == 0 && len(m.Binding) > 0)
		ir.Revoked, ir.Binding = m.Revoked, m.Binding
		if m.Revoked {
			changed = changed || ir.Bundle != nil
			ir.Bundle = nil
		} else if b, ok := v.Bundles[m.ID]; ok && !(acct != nil && id == acct.inst) {
			if !from.owner {
				cp := *b
				cp.OneTimePrekeys = nil
				b = &cp
			}
			if fresher(ir.Bundle, b) {
				bb, err := b.MarshalBinary()
				if err != nil {
					return delta, err
				}
				if !bytes.Equal(bb, ir.Bundle) {
					ir.Bundle, changed = bb, true
				}
			}
		}
		if !changed {
			continue
		}
		ir.UpdatedAt = now
		if err := t.PutInstallation(ir); err != nil {
			return delta, err
		}
	}
	if own {
		if err := t.keepOwnList(v); err != nil {
			return delta, err
		}
		t.ownDelta.bound = append(t.ownDelta.bound, delta.bound...)
	} else if err := t.keepContactList(v, from.addContact, now); err != nil {
		return delta, err
	}
	if err := t.applyDeviceDelta(v.Account, delta); err != nil {
		return delta, err
	}
	if own && acct.key != nil && !t.selfRevoked() {
		resigned, err := t.resignIfBehind()
		if err != nil || !resigned || t.quietResign {
			return delta, err
		}
		// Our other installations may know only one side of a concurrent change: send
		// them the union we signed.
		list, err := t.ownDeviceList(0)
		if err != nil {
			return delta, err
		}
		ins, err := t.InstallationsOf(acct.id)
		if err != nil {
			return delta, err
		}
		for i := range ins {
			if ins[i].Revoked || ins[i].ID == acct.inst {
				continue
			}
			o, err := t.sendDevices(&ins[i], list, true)
			if err != nil {
				t.c.log.Debug("devices: no session with own installation", "err", err)
				continue
			}
			t.sends = append(t.sends, o)
		}
	}
	return delta, nil
}

// keepContactList stores v as the list kept for its (foreign) account unless the kept
// one is greater (devicelist.Compare; a copy of the kept list replaces it: its bundles
// are fresher), carrying every binding we know of its
// installations (a forwarded copy must bind them for its next reader too), and marks the
// contact added if added.
func (t *txn) keepContactList(v *devicelist.Verified, added bool, now time.Time) error {
	old, err := t.Contact(v.Account)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		old = nil
	case err != nil:
		return err
	}
	if old == nil || old.Clock < v.List.Clock || (old.Clock == v.List.Clock && compareKept(v.List, old.DeviceList) >= 0) {
		cp := *v.List
		cp.Entries = slices.Clone(v.List.Entries)
		if err := t.attachBindings(&cp, v.Account); err != nil {
			return err
		}
		raw, err := cp.Marshal()
		if err != nil {
			return err
		}
		rec := &storage.ContactRecord{Account: v.Account, DeviceList: raw, Clock: v.List.Clock, Added: added || (old != nil && old.Added), UpdatedAt: now}
		if old != nil { // our name for it and its announcement secret stay
			rec.Name, rec.NameClock, rec.AnnounceSecret = old.Name, old.NameClock, old.AnnounceSecret
		}
		return t.PutContact(rec)
	}
	if added && !old.Added {
		old.Added = true
		return t.PutContact(old)
	}
	return nil
}

// attachBindings gives every entry of list without a binding the one we hold for it
// (an installation record of account with the entry's keys).
func (t *txn) attachBindings(list *devicelist.List, account string) error {
	for i := range list.Entries {
		e := &list.Entries[i]
		if e.Binding != nil {
			continue
		}
		in, err := t.Installation(InstallationID(e.ID))
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if in.Account == account && in.DH == e.DH && in.Signing == e.Signing && len(in.Binding) == devicelist.BindingSize {
			e.Binding = in.Binding
		}
	}
	return nil
}

// compareKept compares list with the stored list kept (devicelist.Compare); a stored
// list that does not parse is smaller.
func compareKept(list *devicelist.List, keptRaw []byte) int {
	kept, err := devicelist.Parse(keptRaw)
	if err != nil {
		return 1
	}
	return devicelist.Compare(list, kept)
}

// fresher reports whether bundle b should replace the stored bundle old: not when old has
// a newer signed prekey (signed prekey ids only grow).
func fresher(old []byte, b *x3dh.Bundle) bool {
	if len(old) == 0 {
		return true
	}
	ob, err := x3dh.ParseBundle(old)
	return err != nil || b.SignedPrekeyID >= ob.SignedPrekeyID
}

// listsSelf reports whether list lists our installation, unrevoked, with our keys.
func listsSelf(list *devicelist.List, me *account) bool {
	pub := me.ident.Public()
	return list.Lists(pub.ID, pub.DH, pub.Signing)
}

// keepOwnList stores a verified device list of our own account as the one we hand on
// if it is newer than ours and lists us (a list that does not list us would make our own
// initial messages unverifiable), or if ours does not list us. Newer is
// devicelist.Compare: a copy of the list we keep does not replace it (we keep ours
// without bundles: the copy brings nothing). DeviceListClock tracks the highest clock seen.
func (t *txn) keepOwnList(v *devicelist.Verified) error {
	rec, err := t.Account()
	if err != nil {
		return err
	}
	me := t.me()
	cur, _ := devicelist.Parse(rec.DeviceList)
	take := cur == nil
	if !take && listsSelf(v.List, me) {
		take = !listsSelf(cur, me) || devicelist.Compare(v.List, cur) > 0
	}
	changed := false
	if take {
		cp := *v.List
		cp.Bundles = nil
		b, err := cp.Marshal()
		if err != nil {
			return err
		}
		if !bytes.Equal(b, rec.DeviceList) {
			rec.DeviceList, changed = b, true
		}
	}
	if v.List.Clock > rec.DeviceListClock {
		rec.DeviceListClock, changed = v.List.Clock, true
	}
	if !changed {
		return nil
	}
	return t.PutAccount(rec)
}

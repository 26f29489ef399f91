// Signing our account's device list (holders only) and the copy we hand on.

package protocol

import (
	"fmt"
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/x3dh"
)

// signDeviceList signs our account's device list — every installation of ours we know,
// active and revoked (a 2P-set: nothing is ever dropped) — at a clock above every device
// list of the account seen, and stores it. Holders only.
func (t *txn) signDeviceList() (*devicelist.List, error) {
	acct := t.me()
	if acct.key == nil {
		return nil, ErrNotAccountHolder
	}
	rec, err := t.Account()
	if err != nil {
		return nil, err
	}
	ins, err := t.InstallationsOf(acct.id)
	if err != nil {
		return nil, err
	}
	if len(ins) > MaxDeviceListEntries {
		return nil, ErrTooManyInstallations
	}
	list := &devicelist.List{Clock: rec.DeviceListClock + 1}
	for _, in := range ins {
		list.Entries = append(list.Entries, devicelist.Entry{ID: in.ID, DH: in.DH, Signing: in.Signing, Revoked: in.Revoked})
	}
	if err := devicelist.CheckRules(list); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooManyInstallations, err)
	}
	if err := list.Sign(acct.key); err != nil {
		return nil, err
	}
	if rec.DeviceList, err = list.Marshal(); err != nil {
		return nil, err
	}
	rec.DeviceListClock = list.Clock
	rec.AnnouncedAt = time.Time{} // announce the new list
	return list, t.PutAccount(rec)
}

// ownDeviceList returns our stored device list with our bundle (withOTKs one-time
// prekeys) and the bundles of our other active installations (without one-time prekeys).
func (t *txn) ownDeviceList(withOTKs int) ([]byte, error) {
	acct := t.me()
	rec, err := t.Account()
	if err != nil {
		return nil, err
	}
	list, err := devicelist.Parse(rec.DeviceList)
	if err != nil {
		return nil, fmt.Errorf("protocol: stored device list: %w", err)
	}
	own, err := t.ownBundle(withOTKs)
	if err != nil {
		return nil, err
	}
	if err := t.attachBindings(list, acct.id); err != nil {
		return nil, err
	}
	list.Bundles = [][]byte{own}
	for _, e := range list.Entries {
		if e.Revoked || InstallationID(e.ID) == acct.inst {
			continue
		}
		in, err := t.Installation(InstallationID(e.ID))
		if err != nil || in.Revoked || len(in.Bundle) == 0 {
			continue
		}
		b, err := x3dh.ParseBundle(in.Bundle)
		if err != nil {
			continue
		}
		b.OneTimePrekeys = nil
		bb, err := b.MarshalBinary()
		if err != nil {
			return nil, err
		}
		list.Bundles = append(list.Bundles, bb)
	}
	return list.Marshal()
}

// resignIfBehind signs a new device list when the union of our account's lists knows
// installations or revocations our stored list lacks (concurrent changes by two holders
// converge: each signs the union once).
func (t *txn) resignIfBehind() (bool, error) {
	rec, err := t.Account()
	if err != nil {
		return false, err
	}
	cur, err := devicelist.Parse(rec.DeviceList)
	if err != nil {
		return false, nil
	}
	ins, err := t.InstallationsOf(t.me().id)
	if err != nil {
		return false, err
	}
	have := make(map[[16]byte]bool, len(cur.Entries))
	for _, e := range cur.Entries {
		have[e.ID] = e.Revoked
	}
	behind := len(ins) != len(cur.Entries)
	for _, in := range ins {
		if r, ok := have[in.ID]; !ok || r != in.Revoked {
			behind = true
		}
	}
	if !behind {
		return false, nil
	}
	_, err = t.signDeviceList()
	return err == nil, err
}

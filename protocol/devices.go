package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/x3dh"
)

// Multi-device errors.
var (
	ErrNotAccountHolder     = errors.New("protocol: this installation does not hold the account key")
	ErrTooManyInstallations = errors.New("protocol: the account has the most installations allowed")
	ErrInstallationRevoked  = errors.New("protocol: installation revoked (revocation is permanent)")
	ErrUnknownInstallation  = errors.New("protocol: not an installation of this account")
	ErrCurrentInstallation  = errors.New("protocol: the current installation cannot revoke or remove itself")
	ErrAlreadyLinked        = errors.New("protocol: installation already linked")
)

// InstallationStatus says whether an installation is part of its account.
type InstallationStatus int

// Installation statuses.
const (
	InstallationActive  InstallationStatus = 0
	InstallationRevoked InstallationStatus = 1
)

// String names the status.
func (s InstallationStatus) String() string {
	if s == InstallationRevoked {
		return "revoked"
	}
	return "active"
}

// Installation is one installation (device) of our account.
type Installation struct {
	ID       InstallationID
	Name     string // given when it was linked (or WithDevice on the device itself)
	Platform string
	Added    time.Time // zero if unknown
	Status   InstallationStatus
	Current  bool // this installation
}

// InstallationsChanged reports a change of our account's device list: installations
// added or revoked (by us or by another of our installations). CurrentRevoked means this
// installation was revoked: it left every group and forgot their keys.
type InstallationsChanged struct {
	Added, Revoked []InstallationID
	CurrentRevoked bool
}

// AccountLinked reports that this installation, waiting after LinkCode, was linked to an
// account by one of its installations (By).
type AccountLinked struct {
	Account string
	By      InstallationID
}

func (*InstallationsChanged) isEvent() {}
func (*AccountLinked) isEvent()        {}

// Installations lists our account's installations (active and revoked) with their
// metadata, oldest first.
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	var out []Installation
	err := c.tx(ctx, func(t *txn) error {
		acct, err := c.account()
		if err != nil {
			return err
		}
		ins, err := t.InstallationsOf(acct.id)
		if err != nil {
			return err
		}
		for _, in := range ins {
			st := InstallationActive
			if in.Revoked {
				st = InstallationRevoked
			}
			out = append(out, Installation{ID: in.ID, Name: in.Name, Platform: in.Platform, Added: in.AddedAt, Status: st, Current: in.ID == acct.inst})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Installation) int {
		if c := a.Added.Compare(b.Added); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out, err
}

// RevokeInstallation revokes another installation of our account (F6: a lost or stolen
// device), from an installation holding the account key. The new device list is signed
// and sent to every group we are in (one publish per group, which also rotates our
// sender key), to our other installations and to contacts; everyone processing it drops
// the installation's sessions and sender keys and rotates before sending again, as on a
// member removal. Revocation is permanent. Revoking a revoked installation does nothing.
func (c *Client) RevokeInstallation(ctx context.Context, id InstallationID) error {
	return c.revoke(ctx, id, false)
}

// RemoveInstallation removes another installation of our account that we still have
// (F5): the same as RevokeInstallation, and the removed installation is told, so that it
// deletes its keys and leaves its groups.
func (c *Client) RemoveInstallation(ctx context.Context, id InstallationID) error {
	return c.revoke(ctx, id, true)
}

func (c *Client) revoke(ctx context.Context, id InstallationID, tell bool) error {
	var outs []*OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		acct, err := t.holder()
		if err != nil {
			return err
		}
		if id == acct.inst {
			return ErrCurrentInstallation
		}
		in, err := t.Installation(id)
		if errors.Is(err, ErrNotFound) || (err == nil && in.Account != acct.id) {
			return ErrUnknownInstallation
		}
		if err != nil || in.Revoked {
			return err
		}
		before := *in
		in.Revoked, in.Bundle, in.UpdatedAt = true, nil, c.now()
		if err := t.PutInstallation(in); err != nil {
			return err
		}
		if _, err := t.signDeviceList(); err != nil {
			return err
		}
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		if tell {
			// Tell the removed installation on its session before the sessions go.
			if o, err := t.sendDevices(&before, list, true); err != nil {
				c.log.Debug("remove: cannot tell the installation", "err", err)
			} else {
				outs = append(outs, o)
			}
		}
		if err := t.applyDeviceDelta(acct.id, deviceDelta{revoked: []InstallationID{id}}); err != nil {
			return err
		}
		o, err := t.announceDevices(list, nil, "", true)
		outs = append(outs, o...)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}

// holder returns our account if this installation holds the account key.
func (t *txn) holder() (*account, error) {
	acct, err := t.c.account()
	switch {
	case err != nil:
		return nil, err
	case acct.revoked:
		return nil, ErrInstallationRevoked
	case acct.key == nil:
		return nil, ErrNotAccountHolder
	}
	return acct, nil
}

// announceDevices tells everyone concerned about our new device list: if groupsToo,
// every active group we are in (a devices message: one publish per group; the
// installations in welcome are welcomed into it first, on topic), our other
// installations (pairwise Devices) and our contacts outside our groups (pairwise device list),
// and publishes an announcement. skip are installations not to send Devices to.
func (t *txn) announceDevices(list []byte, welcome []*InstallationRecord, topic string, groupsToo bool, skip ...InstallationID) ([]*OutboxRecord, error) {
	c := t.c
	var outs []*OutboxRecord
	notified := false
	if groupsToo {
		o, n, err := t.relayToGroups(list, welcome, topic)
		if err != nil {
			return nil, err
		}
		outs, notified = o, n > 0
	}
	sibs, err := t.InstallationsOf(c.acct.id)
	if err != nil {
		return nil, err
	}
	for i := range sibs {
		in := &sibs[i]
		if in.Revoked || in.ID == c.acct.inst || slices.Contains(skip, in.ID) {
			continue
		}
		o, err := t.sendDevices(in, list, notified)
		if err != nil {
			c.log.Debug("devices: no session with own installation", "err", err)
			continue
		}
		outs = append(outs, o)
	}
	o, err := t.notifyContacts(list)
	if err != nil {
		return nil, err
	}
	outs = append(outs, o...)
	a, err := t.queueAnnounce()
	if err != nil || a == nil {
		return outs, err
	}
	return append(outs, a), nil
}

// relayToGroups welcomes the installations in welcome (on topic; "" = their inbox) into
// every active group we are in and sends the device list there as a devices message. It returns
// the outbox records and the number of groups.
func (t *txn) relayToGroups(list []byte, welcome []*InstallationRecord, topic string) ([]*OutboxRecord, int, error) {
	c := t.c
	outs, err := t.welcomeToGroups(welcome, topic)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for _, id := range t.activeGroups() {
		g, gc, err := t.groupHot(id)
		if err != nil {
			return nil, 0, err
		}
		_, o, err := t.sealGroup(g, gc, wire.ContentDevices, list)
		if err != nil {
			c.log.Debug("devices: group message failed", "err", err)
			continue
		}
		outs = append(outs, o...)
		n++
	}
	return outs, n, nil
}

// welcomeToGroups welcomes the installations in welcome (on topic; "" = their inbox)
// into every active group we are in; they count as holding our current key.
func (t *txn) welcomeToGroups(welcome []*InstallationRecord, topic string) ([]*OutboxRecord, error) {
	if len(welcome) == 0 {
		return nil, nil
	}
	var outs []*OutboxRecord
	for _, id := range t.activeGroups() {
		g, gc, err := t.group(id)
		if err != nil {
			return nil, err
		}
		if isV2(g) {
			o, err := t.linkRekeyV2(g, gc, welcome, topic)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o...)
			continue
		}
		st := gc.state
		bodies, err := t.welcomeBodies(g, &st)
		if err != nil {
			return nil, err
		}
		o, welcomed, err := t.welcomeInstallations(g, bodies, welcome, topic)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o...)
		if g.Sender != nil {
			if err := t.MarkDistributed(g.ID, welcomed); err != nil {
				return nil, err
			}
		}
	}
	return outs, nil
}

// activeGroups lists the groups we are an active member of, in a stable order.
func (t *txn) activeGroups() []GroupID {
	var ids []GroupID
	for id, gc := range t.c.groups {
		if gc.status == GroupActive && gc.isMember(t.c.acct.id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b GroupID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// sendDevices sends our device list and the metadata of our installations to one
// of our installations.
func (t *txn) sendDevices(to *InstallationRecord, list []byte, groupsNotified bool) (*OutboxRecord, error) {
	infos, err := t.deviceInfos()
	if err != nil {
		return nil, err
	}
	body, err := (&wire.Devices{GroupsNotified: groupsNotified, Devices: infos}).Marshal()
	if err != nil {
		return nil, err
	}
	topic, frame, err := t.sealPairwise(to, &wire.PairwiseMessage{DeviceList: list, Type: wire.PairwiseDevices, Body: body})
	if err != nil {
		return nil, err
	}
	return t.queue(topic, frame, nil)
}

// deviceInfos returns the metadata of our account's installations.
func (t *txn) deviceInfos() ([]wire.DeviceInfo, error) {
	ins, err := t.InstallationsOf(t.c.acct.id)
	if err != nil {
		return nil, err
	}
	out := make([]wire.DeviceInfo, 0, len(ins))
	for _, in := range ins {
		d := wire.DeviceInfo{ID: in.ID, Name: clip(in.Name), Platform: clip(in.Platform)}
		if !in.AddedAt.IsZero() {
			d.Added = uint64(in.AddedAt.UnixMilli())
		}
		out = append(out, d)
	}
	return out, nil
}

// clip cuts s to wire.MaxDeviceText bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= wire.MaxDeviceText {
		return s
	}
	s = s[:wire.MaxDeviceText]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// applyDeviceInfos records metadata of our installations sent by another of them.
func (t *txn) applyDeviceInfos(infos []wire.DeviceInfo) error {
	for _, d := range infos {
		in, err := t.Installation(d.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if in.Account != t.c.acct.id {
			continue
		}
		changed := false
		if d.Name != "" && d.Name != in.Name {
			in.Name, changed = d.Name, true
		}
		if d.Platform != "" && d.Platform != in.Platform {
			in.Platform, changed = d.Platform, true
		}
		if d.Added != 0 && in.AddedAt.IsZero() {
			in.AddedAt, changed = time.UnixMilli(int64(d.Added)), true
		}
		if changed {
			if err := t.PutInstallation(in); err != nil {
				return err
			}
		}
	}
	return nil
}

// notifyContacts sends our device list to every installation of our added contacts with whom we
// share no active group (group members learn it from the group).
func (t *txn) notifyContacts(list []byte) ([]*OutboxRecord, error) {
	contacts, err := t.Contacts()
	if err != nil {
		return nil, err
	}
	var outs []*OutboxRecord
	for _, ct := range contacts {
		if !ct.Added || ct.Account == t.c.acct.id || t.sharesGroup(ct.Account) {
			continue
		}
		ins, err := t.InstallationsOf(ct.Account)
		if err != nil {
			return nil, err
		}
		for i := range ins {
			if ins[i].Revoked {
				continue
			}
			topic, frame, err := t.sealPairwise(&ins[i], &wire.PairwiseMessage{Type: wire.PairwiseDeviceList, Body: list})
			if err != nil {
				t.c.log.Debug("devices: no session with contact", "err", err)
				continue
			}
			o, err := t.queue(topic, frame, nil)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
	}
	return outs, nil
}

func (t *txn) sharesGroup(account string) bool {
	for _, gc := range t.c.groups {
		if gc.status == GroupActive && gc.isMember(account) && gc.isMember(t.c.acct.id) {
			return true
		}
	}
	return false
}

// ---- device lists

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
func (t *txn) mergeDeviceList(v *devicelist.Verified, raw []byte, added, ownerGiven bool, now time.Time) (deviceDelta, error) {
	acct := t.c.acct
	var delta deviceDelta
	own := acct != nil && v.Account == acct.id
	known := make(map[[16]byte]devicelist.Installation, len(v.List.Entries))
	records := make(map[[16]byte]*InstallationRecord, len(v.List.Entries))
	for _, e := range v.List.Entries {
		prev, err := t.Installation(InstallationID(e.ID))
		if errors.Is(err, ErrNotFound) {
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
			ir = &InstallationRecord{ID: id, Account: m.Account, DH: m.DH, Signing: m.Signing}
		}
		changed := !ok || ir.Revoked != m.Revoked || (len(ir.Binding) == 0 && len(m.Binding) > 0)
		ir.Revoked, ir.Binding = m.Revoked, m.Binding
		if m.Revoked {
			changed = changed || ir.Bundle != nil
			ir.Bundle = nil
		} else if b, ok := v.Bundles[m.ID]; ok && !(acct != nil && id == acct.inst) {
			if !ownerGiven {
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
	} else if err := t.keepContactList(v, added, now); err != nil {
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
	case errors.Is(err, ErrNotFound):
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
		rec := &ContactRecord{Account: v.Account, DeviceList: raw, Clock: v.List.Clock, Added: added || (old != nil && old.Added), UpdatedAt: now}
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
		if errors.Is(err, ErrNotFound) {
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

// applyDeviceDelta acts on a device-list change of account: a revoked installation's
// sessions go, and in every group with the account its receivers go and we rotate before
// our next send (as on a member removal); an added installation gets our key at our next
// send in every group with the account (lazy distribution, no rotation).
func (t *txn) applyDeviceDelta(account string, d deviceDelta) error {
	c := t.c
	if d.empty() || c.acct == nil {
		return nil
	}
	own := account == c.acct.id
	if own && slices.Contains(d.revoked, c.acct.inst) {
		return t.revokedSelf()
	}
	for _, id := range d.revoked {
		if err := t.dropSessions(id); err != nil {
			return err
		}
	}
	ids := make([]GroupID, 0, len(c.groups))
	for id, gc := range c.groups {
		if gc.status == GroupActive && gc.isMember(account) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b GroupID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		g, err := t.GroupState(id)
		if err != nil {
			return err
		}
		if isV2(g) {
			// Key schedule v2: a revoked installation is a departure no key event excluded
			// yet; the designated installation rekeys at once, any other before it sends.
			if err := t.revokedV2(g, c.groups[id], d.revoked); err != nil {
				return err
			}
			continue
		}
		if err := t.dropReceivers(id, d.revoked); err != nil {
			return err
		}
		if len(d.revoked) > 0 {
			g.Rotate = true
		}
		if len(d.added) > 0 {
			g.Distribute = true
		}
		if err := t.PutGroupState(g); err != nil {
			return err
		}
	}
	if len(d.added) > 0 {
		t.newKeys = true // envelopes from the new installations may open now
	}
	if own {
		t.ownDelta.added = append(t.ownDelta.added, d.added...)
		t.ownDelta.revoked = append(t.ownDelta.revoked, d.revoked...)
		t.emit(&InstallationsChanged{Added: d.added, Revoked: d.revoked})
	}
	return nil
}

// dropSessions deletes every session with an installation.
func (t *txn) dropSessions(id InstallationID) error {
	list, err := t.SessionsWith(id)
	if err != nil {
		return err
	}
	for _, s := range list {
		if err := t.DeleteSession(s.ID); err != nil {
			return err
		}
		hint, id := s.RecvHint, s.ID
		t.onCommit(func() { delete(t.c.hints, hint); t.c.dropInboxHints(id) })
	}
	return nil
}

// revokedSelf winds this installation down after our account revoked it: it leaves
// every group (forgetting their keys), drops every session and forgets the account key.
func (t *txn) revokedSelf() error {
	c := t.c
	gs, err := t.Groups()
	if err != nil {
		return err
	}
	for i := range gs {
		g := &gs[i]
		if g.Status != GroupActive {
			continue
		}
		g.Status = GroupRemoved
		g.Sender, g.Rotate, g.Distribute, g.Repeat, g.RepeatLeft = nil, false, false, nil, 0
		if gc := c.groups[g.ID]; gc != nil && isV2(g) {
			if err := t.leaveV2(g, gc); err != nil {
				return err
			}
		}
		recs, err := t.Receivers(g.ID)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := t.DeleteReceiver(g.ID, r.Installation); err != nil {
				return err
			}
		}
		if err := t.ClearDistributed(g.ID); err != nil {
			return err
		}
		if err := t.PutGroup(g); err != nil {
			return err
		}
		if gc := c.groups[g.ID]; gc != nil {
			t.onCommit(func() { gc.status = GroupRemoved })
		}
		t.emit(&MembershipChanged{Group: g.ID, Removed: true, Name: g.Name, Description: g.Description, Color: g.Color})
	}
	hints, err := t.RecvHints()
	if err != nil {
		return err
	}
	for _, h := range hints {
		if err := t.DeleteSession(h.SessionID); err != nil {
			return err
		}
	}
	rec, err := t.Account()
	if err != nil {
		return err
	}
	rec.PrivateKey = nil // a revoked installation must not sign for the account any more
	// ... nor read or make its announcements.
	rec.AnnounceSecret, rec.NextAnnounce = nil, time.Time{}
	if err := t.PutAccount(rec); err != nil {
		return err
	}
	acct := c.acct
	t.onCommit(func() {
		clear(c.hints)
		clear(c.inbox)
		clear(c.hintSets)
		acct.revoked, acct.key = true, nil
	})
	t.topicsChanged = true
	t.ownDelta.revoked = append(t.ownDelta.revoked, acct.inst)
	t.emit(&InstallationsChanged{Revoked: []InstallationID{acct.inst}, CurrentRevoked: true})
	return nil
}

// selfRevoked reports whether this installation is revoked, or was in this transaction.
func (t *txn) selfRevoked() bool {
	acct := t.c.acct
	return acct != nil && (acct.revoked || slices.Contains(t.ownDelta.revoked, acct.inst))
}

// putSelf stores our own installation's record (with our metadata) if it is missing.
// It signs our installation's binding to the account if the record lacks it (a store from
// before bindings).
func (t *txn) putSelf(acct *account, now time.Time) error {
	in, err := t.Installation(acct.inst)
	switch {
	case err == nil && len(in.Binding) == devicelist.BindingSize:
		return nil
	case err == nil:
	case errors.Is(err, ErrNotFound):
		pub := acct.ident.Public()
		in = &InstallationRecord{ID: acct.inst, Account: acct.id, DH: pub.DH, Signing: pub.Signing, UpdatedAt: now,
			Name: clip(t.c.opt.deviceName), Platform: clip(t.c.opt.platform), AddedAt: now}
	default:
		return err
	}
	if in.Binding, err = devicelist.Bind(acct.ident, acct.pub); err != nil {
		return err
	}
	return t.PutInstallation(in)
}

// loadAccount builds the in-memory account from its record.
func loadAccount(rec *AccountRecord, ident *x3dh.Identity) (*account, error) {
	if len(rec.PrivateKey) > 0 {
		key, err := crypto.ToECDSA(rec.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("protocol: stored account key: %w", err)
		}
		return newAccount(key, ident), nil
	}
	pub, err := crypto.UnmarshalPubkey(rec.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("protocol: stored account public key: %w", err)
	}
	return &account{pub: crypto.FromECDSAPub(pub), id: membership.PublicKeyString(pub), ident: ident, inst: InstallationID(ident.ID())}, nil
}

// loadDevices completes loading: a store from before multi-device gets its own
// installation record and a signed device list; a revoked installation is marked; a link
// in progress keeps its topic.
func (t *txn) loadDevices(rec *AccountRecord) error {
	c := t.c
	acct := c.acct
	if err := t.putSelf(acct, rec.CreatedAt); err != nil {
		return err
	}
	if len(rec.PublicKey) == 0 {
		rec.PublicKey = acct.pub
		if err := t.PutAccount(rec); err != nil {
			return err
		}
	}
	if len(rec.DeviceList) == 0 && acct.key != nil {
		if _, err := t.signDeviceList(); err != nil {
			return err
		}
	}
	self, err := t.Installation(acct.inst)
	if err != nil {
		return err
	}
	acct.revoked = self.Revoked
	if len(rec.LinkSecret) == wire.PairingSecretSize && c.now().Before(rec.LinkUntil) {
		c.linkTopic, c.linkUntil = linkTopic([wire.PairingSecretSize]byte(rec.LinkSecret)), rec.LinkUntil
	}
	return nil
}

// receiveDevicesContent handles a devices message in a group: the sender account's device list.
func (t *txn) receiveDevicesContent(from string, body []byte) error {
	now := t.c.now()
	v, err := verifyDeviceList(body, now)
	if err != nil || v.Account != from {
		return nil // not applicable; the message itself stays
	}
	_, err = t.mergeDeviceList(v, body, false, false, now)
	return err
}

// handleDevices handles a Devices message from another installation of our account: its
// device list and metadata. If the list added or revoked installations we did not know of
// and the sender says it did not tell the groups (an installation that imported the
// account key and is in no group yet), we relay: added installations are welcomed into
// every group we are in and the device list is sent there. Every installation that learns the
// change this way relays (the sender cannot know which of them are online); duplicates
// are harmless.
//
// A Devices message (groups not notified) by which an installation we linked sends us its
// binding signature completes the link: we announce the device list that now binds it (groups,
// our other installations, contacts, announcement).
func (t *txn) handleDevices(from string, inst InstallationID, pm *wire.PairwiseMessage) error {
	c := t.c
	if from != c.acct.id || pm.DeviceList == nil {
		return errNotForUs
	}
	d, err := wire.ParseDevices(pm.Body)
	if err != nil {
		return err
	}
	now := c.now()
	v, err := verifyDeviceList(pm.DeviceList, now)
	if err != nil || v.Account != from {
		return errNotForUs
	}
	if _, err := t.mergeDeviceList(v, pm.DeviceList, false, true, now); err != nil || t.selfRevoked() {
		return err
	}
	delta := t.ownDelta // also what the device list of an initial message changed just before
	if err := t.applyDeviceInfos(d.Devices); err != nil {
		return err
	}
	if d.GroupsNotified {
		return nil
	}
	if delta.empty() {
		if !slices.Contains(delta.bound, inst) {
			return nil
		}
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		outs, err := t.announceDevices(list, nil, "", true, inst)
		t.sends = append(t.sends, outs...)
		return err
	}
	var welcome []*InstallationRecord
	for _, id := range delta.added {
		in, err := t.Installation(id)
		if err != nil {
			return err
		}
		welcome = append(welcome, in)
	}
	list, err := t.ownDeviceList(0)
	if err != nil {
		return err
	}
	outs, _, err := t.relayToGroups(list, welcome, "")
	t.sends = append(t.sends, outs...)
	return err
}

// refreshOwnDevices reads our account's announcements (Run does it at start) and merges
// their device lists: an installation that imported the account key learns the others
// (and can revoke a lost one). If those lists do not know us yet, our other
// installations are told (they relay us into the groups).
func (c *Client) refreshOwnDevices(ctx context.Context) {
	c.mu.Lock()
	acct := c.acct
	c.mu.Unlock()
	if acct == nil || acct.revoked {
		return
	}
	// Only ours under our secret: a query for the topic the account key names would tell a
	// store that knows the key when we start.
	var secret []byte
	if err := c.tx(ctx, func(t *txn) error {
		var err error
		secret, err = t.ownAnnounceSecret()
		return err
	}); err != nil || secret == nil {
		return
	}
	_, topic := announceKeys(acct.pub, secret)
	envs, err := c.tr.History(ctx, []string{topic}, timeZero, timeZero)
	if err != nil {
		c.log.Debug("own announcements: history failed", "err", err)
		return
	}
	var outs []*OutboxRecord
	err = c.tx(ctx, func(t *txn) error {
		t.quietResign = true
		unknown := false
		for _, e := range envs {
			raw, err := openAnnounce(acct.pub, secret, e.Payload)
			if err != nil {
				continue
			}
			v, err := verifyDeviceList(raw, c.now())
			if err != nil || v.Account != acct.id {
				continue
			}
			if !listsSelf(v.List, acct) {
				unknown = true
			}
			if _, err := t.mergeDeviceList(v, raw, false, false, c.now()); err != nil {
				return err
			}
		}
		if !unknown || acct.revoked {
			return nil
		}
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		outs, err = t.announceDevices(list, nil, "", false)
		return err
	})
	if err != nil {
		c.log.Debug("own announcements: merge failed", "err", err)
		return
	}
	c.publishIDs(ctx, outs)
}

// catchUpSiblings runs when we joined a group through another account's Welcome: if the
// inviter's copy of our device list (the one it put in the Welcome) lacks some of our
// active installations, the smallest-id installation it did list welcomes them. An
// installation counts as listed only with its binding (the inviter hands on every binding
// it holds; without one it does not know the installation).
func (t *txn) catchUpSiblings(g *GroupRecord, st *membership.State, w *wire.Welcome) error {
	return t.catchUpSiblingsLists(g, st, w.DeviceLists)
}

func (t *txn) catchUpSiblingsLists(g *GroupRecord, st *membership.State, lists [][]byte) error {
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
	var missing []*InstallationRecord
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

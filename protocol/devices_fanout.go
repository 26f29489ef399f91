// Device-list fan-out: sending our device list to groups, our other installations and
// contacts, and handling device lists and Devices messages that reach us.

package protocol

import (
	"bytes"
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// announceDevices tells everyone concerned about our new device list: if groupsToo,
// every active group we are in (a devices message: one publish per group; the
// installations in welcome are welcomed into it first, on topic), our other
// installations (pairwise Devices) and our contacts outside our groups (pairwise device list),
// and publishes an announcement. skip are installations not to send Devices to.
func (t *txn) announceDevices(list []byte, welcome []*storage.InstallationRecord, topic string, groupsToo bool, skip ...InstallationID) ([]*storage.OutboxRecord, error) {
	c := t.c
	var outs []*storage.OutboxRecord
	notified := false
	t.beginBurst() // one publish per group and per contact (spread.go)
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
func (t *txn) relayToGroups(list []byte, welcome []*storage.InstallationRecord, topic string) ([]*storage.OutboxRecord, int, error) {
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
func (t *txn) welcomeToGroups(welcome []*storage.InstallationRecord, topic string) ([]*storage.OutboxRecord, error) {
	if len(welcome) == 0 {
		return nil, nil
	}
	var outs []*storage.OutboxRecord
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
func (t *txn) sendDevices(to *storage.InstallationRecord, list []byte, groupsNotified bool) (*storage.OutboxRecord, error) {
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
		if errors.Is(err, storage.ErrNotFound) {
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
func (t *txn) notifyContacts(list []byte) ([]*storage.OutboxRecord, error) {
	contacts, err := t.Contacts()
	if err != nil {
		return nil, err
	}
	var outs []*storage.OutboxRecord
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

// receiveDevicesContent handles a devices message in a group: the sender account's device list.
func (t *txn) receiveDevicesContent(from string, body []byte) error {
	now := t.c.now()
	v, err := verifyDeviceList(body, now)
	if err != nil || v.Account != from {
		return nil // not applicable; the message itself stays
	}
	_, err = t.mergeDeviceList(v, body, listFrom{}, now)
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
	if _, err := t.mergeDeviceList(v, pm.DeviceList, listFrom{owner: true}, now); err != nil || t.selfRevoked() {
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
	var welcome []*storage.InstallationRecord
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

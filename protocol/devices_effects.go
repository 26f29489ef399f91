// What a device-list change does: group side effects (rotate, distribute, v2 rekey) and,
// when our own installation is revoked, the shutdown.

package protocol

import (
	"bytes"
	"slices"
	"time"
)

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
		c.inbox = newInboxHints()
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

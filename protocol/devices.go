// Multi-device: the public API (Installations, RevokeInstallation, RemoveInstallation) and
// its errors and events. The rest of the device-list engine is split by concern:
//   - devices_fanout.go: telling others (groups, our installations, contacts) and Devices messages in
//   - devices_sign.go: signing our account's device list
//   - devices_merge.go: merging a received device list into the store
//   - devices_effects.go: what a change does to groups and sessions, self-revocation shutdown
//   - devices_start.go: store migration at Open and the start-up refresh at Run
//   - devices_catchup.go: welcoming our installations an inviter's Welcome missed

package protocol

import (
	"bytes"
	"context"
	"errors"
	"github.com/chorus-im/chorus/protocol/storage"
	"slices"
	"time"
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
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		acct, err := t.holder()
		if err != nil {
			return err
		}
		if id == acct.inst {
			return ErrCurrentInstallation
		}
		in, err := t.Installation(id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && in.Account != acct.id) {
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

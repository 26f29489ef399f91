// Start-up: loading the account and migrating a store from before multi-device (Open),
// and refreshing our own device list from our announcements (Run).

package protocol

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/x3dh"
)

// putSelf stores our own installation's record (with our metadata) if it is missing.
// It signs our installation's binding to the account if the record lacks it (a store from
// before bindings).
func (t *txn) putSelf(acct *account, now time.Time) error {
	in, err := t.Installation(acct.inst)
	switch {
	case err == nil && len(in.Binding) == devicelist.BindingSize:
		return nil
	case err == nil:
	case errors.Is(err, storage.ErrNotFound):
		pub := acct.ident.Public()
		in = &storage.InstallationRecord{ID: acct.inst, Account: acct.id, DH: pub.DH, Signing: pub.Signing, UpdatedAt: now,
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
func loadAccount(rec *storage.AccountRecord, ident *x3dh.Identity) (*account, error) {
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
func (t *txn) loadDevices(rec *storage.AccountRecord) error {
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
	var outs []*storage.OutboxRecord
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
			if _, err := t.mergeDeviceList(v, raw, listFrom{}, c.now()); err != nil {
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

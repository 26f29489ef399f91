package protocol

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// Contact names, announcement secrets and contact sync among our own installations
// (spec: protocol, "Multi-device", "Contact sync"; "Identities", "Announcement").

// SetContactName gives a known account our local name for it ("" removes the name). The
// name is ours alone — never sent to the account or anyone else — and shared with our
// other installations (contact sync): the last rename wins on every installation. A name
// is cut to 64 bytes of UTF-8.
func (c *Client) SetContactName(ctx context.Context, account, name string) error {
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		if account == c.acct.id {
			return ErrUnknownContact
		}
		rec, err := t.Contact(account)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownContact
		}
		if err != nil {
			return err
		}
		name = clip(name)
		if name == rec.Name {
			return nil
		}
		rec.Name, rec.NameClock = name, rec.NameClock+1
		if err := t.PutContact(rec); err != nil {
			return err
		}
		outs, err = t.syncContacts([]string{account}, false, "")
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}

// ShareAnnouncements gives a known account the secret that opens our announcements
// (an AnnounceKey message to each of its installations), as sharing our contact code
// does: it can then look us up by key (FetchContact) and follow our device list outside
// any group. There is no taking it back short of a new account.
func (c *Client) ShareAnnouncements(ctx context.Context, account string) error {
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		if _, err := t.Contact(account); errors.Is(err, storage.ErrNotFound) || account == c.acct.id {
			return ErrUnknownContact
		} else if err != nil {
			return err
		}
		var err error
		outs, err = t.sendAnnounceKey(account)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}

// sendAnnounceKey queues our announcement secret to every active installation of
// account. Nothing is sent while we do not know our secret.
func (t *txn) sendAnnounceKey(account string) ([]*storage.OutboxRecord, error) {
	secret, err := t.ownAnnounceSecret()
	if err != nil || secret == nil {
		return nil, err
	}
	ins, err := t.InstallationsOf(account)
	if err != nil {
		return nil, err
	}
	body := (&wire.AnnounceKey{Secret: [wire.AnnounceSecretSize]byte(secret)}).Marshal()
	var outs []*storage.OutboxRecord
	for i := range ins {
		if ins[i].Revoked {
			continue
		}
		topic, frame, err := t.sealPairwise(&ins[i], &wire.PairwiseMessage{Type: wire.PairwiseAnnounceKey, Body: body})
		if err != nil {
			t.c.log.Debug("announce key: no session with contact", "err", err)
			continue
		}
		o, err := t.queue(topic, frame, nil)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// handleAnnounceKey records a contact's announcement secret (AnnounceKey from one of
// its installations) and hands it on to our other installations.
func (t *txn) handleAnnounceKey(from string, pm *wire.PairwiseMessage) error {
	if from == t.c.acct.id {
		return errNotForUs
	}
	k, err := wire.ParseAnnounceKey(pm.Body)
	if err != nil {
		return err
	}
	changed, err := t.setContactSecret(from, k.Secret[:])
	if err != nil || !changed {
		return err
	}
	outs, err := t.syncContacts([]string{from}, false, "")
	t.sends = append(t.sends, outs...)
	return err
}

// setContactSecret records account's announcement secret; false if it was known.
func (t *txn) setContactSecret(account string, secret []byte) (bool, error) {
	rec, err := t.Contact(account)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil || bytes.Equal(rec.AnnounceSecret, secret) {
		return false, err
	}
	rec.AnnounceSecret = slices.Clone(secret)
	return true, t.PutContact(rec)
}

// syncContacts queues a ContactSync of the given contacts (all if nil) with their device lists,
// names and secrets — and our own secret if withSecret — to each of our other active
// installations, on topic ("" = our inbox). Entries are split so that each message
// stays within half a Welcome.
func (t *txn) syncContacts(accounts []string, withSecret bool, topic string, to ...*storage.InstallationRecord) ([]*storage.OutboxRecord, error) {
	c := t.c
	if len(to) == 0 {
		sibs, err := t.InstallationsOf(c.acct.id)
		if err != nil {
			return nil, err
		}
		for i := range sibs {
			if !sibs[i].Revoked && sibs[i].ID != c.acct.inst {
				to = append(to, &sibs[i])
			}
		}
	}
	if len(to) == 0 {
		return nil, nil
	}
	bodies, err := t.contactSyncBodies(accounts, withSecret)
	if err != nil {
		return nil, err
	}
	var outs []*storage.OutboxRecord
	for _, in := range to {
		for _, body := range bodies {
			tp, frame, err := t.sealPairwiseTo(in, &wire.PairwiseMessage{Type: wire.PairwiseContacts, Body: body}, topic)
			if err != nil {
				c.log.Debug("contact sync: no session with own installation", "err", err)
				break
			}
			o, err := t.queue(tp, frame, nil)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
	}
	return outs, nil
}

// contactSyncBodies encodes the contacts (all if accounts is nil) into ContactSync
// bodies of at most half a Welcome each; the first carries our secret if withSecret.
func (t *txn) contactSyncBodies(accounts []string, withSecret bool) ([][]byte, error) {
	var recs []storage.ContactRecord
	if accounts == nil {
		all, err := t.Contacts()
		if err != nil {
			return nil, err
		}
		recs = all
	} else {
		for _, a := range accounts {
			rec, err := t.Contact(a)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			recs = append(recs, *rec)
		}
	}
	var secret []byte
	if withSecret {
		var err error
		if secret, err = t.ownAnnounceSecret(); err != nil {
			return nil, err
		}
	}
	var out [][]byte
	cur := &wire.ContactSync{Secret: secret}
	size := 0
	flush := func() error {
		b, err := cur.Marshal()
		if err != nil {
			return err
		}
		out = append(out, b)
		cur, size = &wire.ContactSync{}, 0
		return nil
	}
	for _, r := range recs {
		if r.Account == t.c.acct.id {
			continue
		}
		pub, err := accountPub(r.Account)
		if err != nil {
			continue
		}
		e := wire.SyncContact{Account: [wire.AccountKeySize]byte(pub), Added: r.Added, NameClock: r.NameClock, Name: r.Name, DeviceList: r.DeviceList}
		if len(r.AnnounceSecret) == wire.AnnounceSecretSize {
			e.Secret = r.AnnounceSecret
		}
		n := 2 + wire.AccountKeySize + 1 + 8 + 1 + len(e.Name) + len(e.Secret) + 2 + len(e.DeviceList)
		if len(cur.Contacts) > 0 && (size+n > t.c.welcomeLimit/2 || len(cur.Contacts) >= wire.MaxSyncContacts) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur.Contacts = append(cur.Contacts, e)
		size += n
	}
	if len(cur.Contacts) > 0 || cur.Secret != nil || len(out) == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// handleContactSync applies a ContactSync from another installation of our account:
// our secret if we lack it, then each contact's device list, added flag, name (higher name
// clock wins; equal clocks keep the bytewise greater name) and announcement secret.
func (t *txn) handleContactSync(from string, pm *wire.PairwiseMessage) error {
	c := t.c
	if from != c.acct.id {
		return errNotForUs
	}
	s, err := wire.ParseContactSync(pm.Body)
	if err != nil {
		return err
	}
	if s.Secret != nil {
		rec, err := t.Account()
		if err != nil {
			return err
		}
		if len(rec.AnnounceSecret) != wire.AnnounceSecretSize && c.acct.key == nil {
			rec.AnnounceSecret = slices.Clone(s.Secret)
			t.scheduleAnnounce(rec, false)
			if err := t.PutAccount(rec); err != nil {
				return err
			}
		}
	}
	now := c.now()
	for i := range s.Contacts {
		e := &s.Contacts[i]
		pub, err := crypto.UnmarshalPubkey(e.Account[:])
		if err != nil {
			continue
		}
		account := membership.PublicKeyString(pub)
		if account == c.acct.id {
			continue
		}
		if e.DeviceList != nil {
			if v, err := verifyDeviceList(e.DeviceList, now); err == nil && v.Account == account {
				if err := t.storeDeviceList(v, e.DeviceList, listFrom{addContact: e.Added}, now); err != nil {
					return err
				}
			}
		}
		rec, err := t.Contact(account)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		changed := false
		if e.Added && !rec.Added {
			rec.Added, changed = true, true
		}
		if e.NameClock > rec.NameClock || (e.NameClock == rec.NameClock && e.Name > rec.Name) {
			rec.Name, rec.NameClock, changed = e.Name, e.NameClock, true
		}
		if e.Secret != nil && !bytes.Equal(e.Secret, rec.AnnounceSecret) {
			rec.AnnounceSecret, changed = slices.Clone(e.Secret), true
		}
		if changed {
			if err := t.PutContact(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// shareSecretOnce runs once per store of an account-key holder, at Run's start: our
// announcements used to open with the account key alone; now that they need our secret,
// every contact we added gets it (AnnounceKey) and our other installations get it with
// our contacts (ContactSync). Members met only in groups do not.
func (c *Client) shareSecretOnce(ctx context.Context) {
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil || c.acct.key == nil || c.acct.revoked {
			return nil
		}
		rec, err := t.Account()
		if err != nil || rec.SecretShared {
			return err
		}
		contacts, err := t.Contacts()
		if err != nil {
			return err
		}
		for _, ct := range contacts {
			if !ct.Added || ct.Account == c.acct.id {
				continue
			}
			o, err := t.sendAnnounceKey(ct.Account)
			if err != nil {
				return err
			}
			outs = append(outs, o...)
		}
		o, err := t.syncContacts(nil, true, "")
		if err != nil {
			return err
		}
		outs = append(outs, o...)
		rec.SecretShared = true
		return t.PutAccount(rec)
	})
	if err != nil {
		c.log.Debug("sharing the announcement secret failed", "err", err)
		return
	}
	c.publishIDs(ctx, outs)
}

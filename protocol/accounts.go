package protocol

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/x3dh"
)

// Labels (spec: protocol, "Labels").
const (
	labelSessionHint = "chorus/v1/protocol/session-hint"
	labelHintChain   = "chorus/v1/protocol/inbox-hint-chain"
	labelInitialSeal = "chorus/v1/protocol/initial-seal"
	labelInitialSlot = "chorus/v1/protocol/initial-slot-hint"
	labelGroupKey    = "chorus/v1/protocol/group-key"
	labelMessageID   = "chorus/v1/protocol/message-id"
	labelDistContext = "chorus/v1/protocol/slot-context"
)

// account is the loaded local account.
type account struct {
	key   *ecdsa.PrivateKey // nil on a linked installation (it does not hold the account key)
	pub   []byte            // 65-byte uncompressed
	id    string            // membership.PublicKeyString
	ident *x3dh.Identity
	inst  InstallationID
	// revoked: our account revoked this installation (it keeps nothing of the groups).
	revoked bool
}

// AccountInfo describes the local account.
type AccountInfo struct {
	// ID is the account's public key in membership form ("0x04..."): the member id.
	ID string
	// Installation is this installation's id.
	Installation InstallationID
	// Holder reports whether this installation holds the account key (it created or
	// imported the account). Only holders sign device lists (LinkDevice,
	// RevokeInstallation) and membership events (CreateGroup, AddMembers, Leave, ...);
	// linked installations send and receive messages.
	Holder bool
	// Revoked reports that the account revoked this installation.
	Revoked bool
}

// CreateAccount generates a new account key and installation.
func (c *Client) CreateAccount(ctx context.Context) (AccountInfo, error) {
	key, err := ecdsa.GenerateKey(crypto.S256(), c.rand)
	if err != nil {
		return AccountInfo{}, err
	}
	return c.ImportAccount(ctx, key)
}

// ImportAccount stores key as the account key and creates a new installation for it.
func (c *Client) ImportAccount(ctx context.Context, key *ecdsa.PrivateKey) (AccountInfo, error) {
	ident, err := x3dh.GenerateIdentity(c.rand)
	if err != nil {
		return AccountInfo{}, err
	}
	identBytes, err := ident.MarshalBinary()
	if err != nil {
		return AccountInfo{}, err
	}
	now := c.now()
	err = c.tx(ctx, func(t *txn) error {
		if old, err := t.Account(); err == nil && (len(old.PublicKey) > 0 || len(old.PrivateKey) > 0) {
			return ErrAccountExists
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		// A pending link (LinkCode) is abandoned: the store becomes this new installation.
		if err := t.dropPendingLink(); err != nil {
			return err
		}
		acct := newAccount(key, ident)
		// SecretShared: a new account has no contacts to migrate; an imported key derives
		// the same secret its other installations already shared.
		rec := &storage.AccountRecord{PrivateKey: crypto.FromECDSA(key), PublicKey: acct.pub, Identity: identBytes, NextPrekeyID: 1, CreatedAt: now,
			AnnounceSecret: deriveAnnounceSecret(key), SecretShared: true}
		if err := t.PutAccount(rec); err != nil {
			return err
		}
		if err := t.rotatePrekeys(acct, rec, now, true); err != nil {
			return err
		}
		if err := t.putSelf(acct, now); err != nil {
			return err
		}
		t.self = acct // the device list is signed before c.acct is set at commit
		if _, err := t.signDeviceList(); err != nil {
			return err
		}
		t.self = nil
		t.onCommit(func() { t.c.acct = acct; t.c.link = nil })
		t.topicsChanged = true
		return nil
	})
	if err != nil {
		return AccountInfo{}, err
	}
	return c.Account()
}

func newAccount(key *ecdsa.PrivateKey, ident *x3dh.Identity) *account {
	pub := crypto.FromECDSAPub(&key.PublicKey)
	return &account{key: key, pub: pub, id: membership.PublicKeyString(&key.PublicKey), ident: ident, inst: InstallationID(ident.ID())}
}

// Account returns the local account, or ErrNoAccount.
func (c *Client) Account() (AccountInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acct == nil {
		return AccountInfo{}, ErrNoAccount
	}
	return AccountInfo{ID: c.acct.id, Installation: c.acct.inst, Holder: c.acct.key != nil, Revoked: c.acct.revoked}, nil
}

// load reads the account and rebuilds the caches.
func (c *Client) load(ctx context.Context) error { return c.tx(ctx, c.loadTx) }

// loadTx is load's transaction.
func (c *Client) loadTx(t *txn) error {
	// What the store says, not what a transaction rolled back since left (a reload
	// after a failed batch that held a Link: review 15, TestReview15FailedBatchLink).
	c.acct, c.link, c.linkTopic, c.linkUntil = nil, nil, "", time.Time{}
	rec, err := t.Account()
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ident := new(x3dh.Identity)
	if err := ident.UnmarshalBinary(rec.Identity); err != nil {
		return fmt.Errorf("protocol: stored identity: %w", err)
	}
	if len(rec.PrivateKey) == 0 && len(rec.PublicKey) == 0 {
		return t.loadPendingLink(rec, ident) // waiting to be linked (LinkCode)
	}
	hints, err := t.RecvHints()
	if err != nil {
		return err
	}
	for _, h := range hints {
		c.hints[h.Hint] = h.SessionID
		if len(h.Chain) == 0 {
			c.setInboxHints(h.SessionID, nil, h.Hint) // stored before hint chains
		} else if hc, err := parseHintChain(h.Chain); err == nil {
			c.setInboxHints(h.SessionID, hc, h.Hint)
		} else {
			c.log.Warn("stored session: hint chain unreadable; its frames will not be found", "session", h.SessionID)
		}
	}
	groups, err := t.Groups()
	if err != nil {
		return err
	}
	acct, err := loadAccount(rec, ident)
	if err != nil {
		return err
	}
	c.acct = acct
	if acct.key != nil && len(rec.AnnounceSecret) == 0 { // a store from before announcement secrets
		rec.AnnounceSecret = deriveAnnounceSecret(acct.key)
		if err := t.PutAccount(rec); err != nil {
			return err
		}
	}
	if err := t.loadDevices(rec); err != nil {
		return err
	}
	for i := range groups {
		if _, err := t.cacheGroup(&groups[i]); err != nil {
			return err
		}
	}
	t.onCommit(func() { c.healScan.Store(true) }) // overdue heals are noted in memory only
	return nil
}

func (c *Client) account() (*account, error) {
	if c.acct == nil {
		return nil, ErrNoAccount
	}
	return c.acct, nil
}

// rotatePrekeys makes a new signed prekey current if the newest is older than
// SignedPrekeyRotation (or force), deletes expired ones and refills one-time prekeys.
// rec is updated and stored.
func (t *txn) rotatePrekeys(acct *account, rec *storage.AccountRecord, now time.Time, force bool) error {
	spks, err := t.Prekeys(true)
	if err != nil {
		return err
	}
	changed := false
	newest := time.Time{}
	for _, p := range spks {
		if now.After(p.ExpiresAt.Add(x3dh.SignedPrekeyGrace)) {
			if err := t.DeletePrekey(true, p.ID); err != nil {
				return err
			}
			continue
		}
		if p.CreatedAt.After(newest) {
			newest = p.CreatedAt
		}
	}
	if force || newest.IsZero() || now.Sub(newest) >= SignedPrekeyRotation {
		id := rec.NextPrekeyID
		rec.NextPrekeyID++
		spk, err := acct.ident.NewSignedPrekey(t.c.rand, id, now.Add(SignedPrekeyLifetime))
		if err != nil {
			return err
		}
		b, err := spk.MarshalBinary()
		if err != nil {
			return err
		}
		if err := t.PutPrekey(&storage.PrekeyRecord{ID: id, Signed: true, Data: b, CreatedAt: now, ExpiresAt: now.Add(SignedPrekeyLifetime)}); err != nil {
			return err
		}
		rec.AnnouncedAt = time.Time{} // a new bundle: announce it
		changed = true
	}
	otks, err := t.Prekeys(false)
	if err != nil {
		return err
	}
	if len(otks) < OneTimePrekeyLow {
		n := OneTimePrekeys - len(otks)
		keys, err := x3dh.GenerateOneTimePrekeys(t.c.rand, rec.NextPrekeyID, n)
		if err != nil {
			return err
		}
		rec.NextPrekeyID += uint32(n)
		for _, k := range keys {
			b, err := k.MarshalBinary()
			if err != nil {
				return err
			}
			if err := t.PutPrekey(&storage.PrekeyRecord{ID: k.ID(), Data: b, CreatedAt: now}); err != nil {
				return err
			}
		}
		changed = true
	}
	if changed || force {
		return t.PutAccount(rec)
	}
	return nil
}

// currentSignedPrekey returns the newest signed prekey.
func (t *txn) currentSignedPrekey() (*x3dh.SignedPrekey, error) {
	spks, err := t.Prekeys(true)
	if err != nil {
		return nil, err
	}
	var best *storage.PrekeyRecord
	for i := range spks {
		if best == nil || spks[i].CreatedAt.After(best.CreatedAt) || (spks[i].CreatedAt.Equal(best.CreatedAt) && spks[i].ID > best.ID) {
			best = &spks[i]
		}
	}
	if best == nil {
		return nil, errors.New("protocol: no signed prekey")
	}
	spk := new(x3dh.SignedPrekey)
	return spk, spk.UnmarshalBinary(best.Data)
}

// prekeyLookup adapts the store to x3dh.PrekeyLookup.
type prekeyLookup struct{ t *txn }

func (l prekeyLookup) SignedPrekey(id uint32) (*x3dh.SignedPrekey, bool) {
	rec, err := l.t.Prekey(true, id)
	if err != nil {
		return nil, false
	}
	k := new(x3dh.SignedPrekey)
	if k.UnmarshalBinary(rec.Data) != nil {
		return nil, false
	}
	return k, true
}

func (l prekeyLookup) OneTimePrekey(id uint32) (*x3dh.OneTimePrekey, bool) {
	rec, err := l.t.Prekey(false, id)
	if err != nil {
		return nil, false
	}
	k := new(x3dh.OneTimePrekey)
	if k.UnmarshalBinary(rec.Data) != nil {
		return nil, false
	}
	return k, true
}

// ownBundle returns our current bundle with up to withOTKs one-time prekeys.
func (t *txn) ownBundle(withOTKs int) ([]byte, error) {
	acct := t.me()
	spk, err := t.currentSignedPrekey()
	if err != nil {
		return nil, err
	}
	var otks []*x3dh.OneTimePrekey
	if withOTKs > 0 {
		recs, err := t.Prekeys(false)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(recs) && len(otks) < withOTKs; i++ {
			k := new(x3dh.OneTimePrekey)
			if err := k.UnmarshalBinary(recs[i].Data); err != nil {
				return nil, err
			}
			otks = append(otks, k)
		}
	}
	bundle, err := x3dh.NewBundle(acct.ident, spk, otks)
	if err != nil {
		return nil, err
	}
	return bundle.MarshalBinary()
}

// verifyDeviceList parses and verifies a device list (devicelist.Verify); every error
// is an ErrBadContactCode.
func verifyDeviceList(b []byte, now time.Time) (*devicelist.Verified, error) {
	v, err := devicelist.Verify(b, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadContactCode, err)
	}
	return v, nil
}

// Contact is a known account.
type Contact struct {
	ID            string // "0x04..." account key
	Installations []InstallationID
	Added         bool
	// Name is our local name for the account ("" none; SetContactName), the same on all
	// our installations.
	Name string
	// Announcements reports that we hold the secret that opens the account's
	// announcements (its contact code or its AnnounceKey), so FetchContact can find it.
	Announcements bool
}

// ContactCode returns this account's contact code (contactcode.go): "chorus1:" +
// base64url of 0x02 || announcement secret(32) || our signed device list (account key,
// installations, current prekey bundle without one-time prekeys) with its account key
// compressed (wire.ContactCode). Whoever gets the code can read our announcements. Show
// it as a QR code; the other side calls AddContact. A linked installation that does not
// know the secret yet gives the bare device list (a code of the first version).
func (c *Client) ContactCode(ctx context.Context) (string, error) {
	var code string
	err := c.tx(ctx, func(t *txn) error {
		if t.c.acct == nil {
			return ErrNoAccount
		}
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		secret, err := t.ownAnnounceSecret()
		if err != nil {
			return err
		}
		payload := list
		if secret != nil {
			if payload, err = contactCodePayload(secret, list); err != nil {
				return err
			}
		}
		code = ContactCodePrefix + base64.RawURLEncoding.EncodeToString(payload)
		return nil
	})
	return code, err
}

// AddContact verifies a contact code and stores the contact, with the announcement
// secret the code carries; our other installations get the contact too.
func (c *Client) AddContact(ctx context.Context, code string) (Contact, error) {
	cc, err := ParseContactCode(code)
	if err != nil {
		return Contact{}, err
	}
	raw := cc.DeviceList
	v, err := verifyDeviceList(raw, c.now())
	if err != nil {
		return Contact{}, err
	}
	var outs []*storage.OutboxRecord
	err = c.tx(ctx, func(t *txn) error {
		if t.c.acct == nil {
			return ErrNoAccount
		}
		if err := t.storeDeviceList(v, raw, listFrom{addContact: true}, c.now()); err != nil {
			return err
		}
		if v.Account == t.c.acct.id {
			return nil
		}
		if cc.AnnounceSecret != nil {
			if _, err := t.setContactSecret(v.Account, cc.AnnounceSecret); err != nil {
				return err
			}
		}
		outs, err = t.syncContacts([]string{v.Account}, false, "")
		return err
	})
	if err != nil {
		return Contact{}, err
	}
	c.publishIDs(ctx, outs)
	return c.Contact(ctx, v.Account)
}

// Contact returns a known account.
func (c *Client) Contact(ctx context.Context, id string) (Contact, error) {
	var out Contact
	err := c.tx(ctx, func(t *txn) error {
		rec, err := t.Contact(id)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrUnknownContact
		}
		if err != nil {
			return err
		}
		out = Contact{ID: rec.Account, Added: rec.Added, Name: rec.Name, Announcements: len(rec.AnnounceSecret) == wire.AnnounceSecretSize}
		ins, err := t.InstallationsOf(id)
		for _, in := range ins {
			if !in.Revoked {
				out.Installations = append(out.Installations, in.ID)
			}
		}
		return err
	})
	return out, err
}

// Contacts returns every known account (added contacts and fellow group members).
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	var ids []string
	err := c.tx(ctx, func(t *txn) error {
		recs, err := t.Contacts()
		for _, r := range recs {
			ids = append(ids, r.Account)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(ids))
	for _, id := range ids {
		ct, err := c.Contact(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ct)
	}
	return out, nil
}

func (a *account) inboxTopic() string { return topics.InboxTopic(a.pub) }

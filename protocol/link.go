package protocol

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/x3dh"
)

// Linking (spec: protocol, "Multi-device", "Linking").
const labelLinkTopic = "chorus/v1/protocol/link-topic"

// ErrBadLinkCode is returned by LinkDevice for a code that does not parse or verify.
var ErrBadLinkCode = errors.New("protocol: invalid link code")

// pendingLink is an installation waiting to be linked (LinkCode was called, no account).
type pendingLink struct {
	ident  *x3dh.Identity
	inst   InstallationID
	secret [wire.PairingSecretSize]byte
	topic  string
}

// linkTopic is the topic a new installation listens on until it is linked: the inbox
// partition of HKDF(pairing secret, "chorus/v1/protocol/link-topic", 32) — one of the
// shared inbox topics, named by nothing but the secret.
func linkTopic(secret [wire.PairingSecretSize]byte) string {
	seed, err := hkdf.Key(sha256.New, secret[:], nil, labelLinkTopic, 32)
	if err != nil {
		panic(err)
	}
	return topics.InboxTopic(seed)
}

// LinkCode makes this (empty) store a new installation waiting to be linked to an
// existing account, and returns its pairing code: show it (a QR code) to an installation
// of the account that holds the account key, which calls LinkDevice with it. Run must be
// running here to receive the link; an *AccountLinked event follows, after which Account
// returns the account. Calling LinkCode again returns the same code. Nothing is published.
func (c *Client) LinkCode(ctx context.Context) (string, error) {
	var code string
	err := c.tx(ctx, func(t *txn) error {
		if c.acct != nil {
			return ErrAccountExists
		}
		link := c.link
		if link == nil {
			if _, err := t.Account(); err == nil {
				return ErrAccountExists
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			ident, err := x3dh.GenerateIdentity(c.rand)
			if err != nil {
				return err
			}
			link = &pendingLink{ident: ident, inst: InstallationID(ident.ID())}
			if _, err := io.ReadFull(c.rand, link.secret[:]); err != nil {
				return err
			}
			link.topic = linkTopic(link.secret)
			identBytes, err := ident.MarshalBinary()
			if err != nil {
				return err
			}
			now := c.now()
			rec := &storage.AccountRecord{Identity: identBytes, NextPrekeyID: 1, CreatedAt: now, LinkSecret: link.secret[:]}
			if err := t.PutAccount(rec); err != nil {
				return err
			}
			if err := t.rotatePrekeys(&account{ident: ident, inst: link.inst}, rec, now, true); err != nil {
				return err
			}
			t.onCommit(func() { c.link = link })
			t.topicsChanged = true
		}
		t.self = &account{ident: link.ident, inst: link.inst}
		bundle, err := t.ownBundle(0)
		if err != nil {
			return err
		}
		b, err := (&wire.LinkCode{Secret: link.secret, Platform: clip(c.opt.platform), Bundle: bundle}).Marshal()
		if err != nil {
			return err
		}
		code = LinkCodePrefix + base64.RawURLEncoding.EncodeToString(b)
		return nil
	})
	return code, err
}

// loadPendingLink restores the waiting state of LinkCode.
func (t *txn) loadPendingLink(rec *storage.AccountRecord, ident *x3dh.Identity) error {
	if len(rec.LinkSecret) != wire.PairingSecretSize {
		return errors.New("protocol: stored account has neither key nor link secret")
	}
	l := &pendingLink{ident: ident, inst: InstallationID(ident.ID()), secret: [wire.PairingSecretSize]byte(rec.LinkSecret)}
	l.topic = linkTopic(l.secret)
	t.c.link = l
	return nil
}

// dropPendingLink forgets a pending link's identity and prekeys (the store is becoming
// another installation).
func (t *txn) dropPendingLink() error {
	if t.c.link == nil {
		return nil
	}
	for _, signed := range []bool{true, false} {
		keys, err := t.Prekeys(signed)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := t.DeletePrekey(signed, k.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseLinkCode decodes and verifies a link code.
func parseLinkCode(code string, now time.Time) (*wire.LinkCode, *x3dh.Bundle, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(code), LinkCodePrefix)
	if !ok {
		return nil, nil, ErrBadLinkCode
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, nil, ErrBadLinkCode
	}
	lc, err := wire.ParseLinkCode(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadLinkCode, err)
	}
	b, err := x3dh.ParseBundle(lc.Bundle)
	if err != nil || b.Verify(now) != nil {
		return nil, nil, ErrBadLinkCode
	}
	b.OneTimePrekeys = nil
	return lc, b, nil
}

// LinkDevice links the installation that showed code (LinkCode) to our account, from an
// installation holding the account key, and names it. It signs the new device list,
// then sends the new installation, over a pairwise session on its link topic, everything
// it needs: the device list and our installations' metadata, our contacts, and for every
// group we are in a Welcome with the group's secret, event log, member device lists and the
// sender-key states we hold (so it reads new messages at once, never older ones). Each
// group gets the new device list in one group message; our other installations and our
// contacts outside our groups get it pairwise. Members then hand their sender keys to
// the new installation with their next message.
func (c *Client) LinkDevice(ctx context.Context, code, name string) (InstallationID, error) {
	lc, bundle, err := parseLinkCode(code, c.now())
	if err != nil {
		return InstallationID{}, err
	}
	id := InstallationID(bundle.Identity.ID)
	var outs []*storage.OutboxRecord
	err = c.tx(ctx, func(t *txn) error {
		acct, err := t.holder()
		if err != nil {
			return err
		}
		if id == acct.inst {
			return ErrAlreadyLinked
		}
		if prev, err := t.Installation(id); err == nil {
			switch {
			case prev.Account != acct.id:
				return fmt.Errorf("%w: installation of another account", ErrBadLinkCode)
			case prev.Revoked:
				return ErrInstallationRevoked
			}
			return ErrAlreadyLinked
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		own, err := t.InstallationsOf(acct.id)
		if err != nil {
			return err
		}
		active := 0
		for _, in := range own {
			if !in.Revoked {
				active++
			}
		}
		if active >= MaxInstallations || len(own) >= MaxDeviceListEntries {
			return ErrTooManyInstallations
		}
		bb, err := bundle.MarshalBinary()
		if err != nil {
			return err
		}
		now := c.now()
		in := &storage.InstallationRecord{ID: id, Account: acct.id, DH: bundle.Identity.DH, Signing: bundle.Identity.Signing, Bundle: bb,
			UpdatedAt: now, Name: clip(name), Platform: lc.Platform, AddedAt: now}
		if err := t.PutInstallation(in); err != nil {
			return err
		}
		if _, err := t.signDeviceList(); err != nil {
			return err
		}
		if err := t.applyDeviceDelta(acct.id, deviceDelta{added: []InstallationID{id}}); err != nil {
			return err
		}
		list, err := t.ownDeviceList(0)
		if err != nil {
			return err
		}
		topic := linkTopic(lc.Secret)
		groups := t.activeGroups()
		parts, err := t.linkParts(lc.Secret, uint32(len(groups)))
		if err != nil {
			return err
		}
		for _, body := range parts {
			tp, frame, err := t.sealPairwiseTo(in, &wire.PairwiseMessage{DeviceList: list, Type: wire.PairwiseLink, Body: body}, topic)
			if err != nil {
				return err
			}
			o, err := t.queue(tp, frame, nil)
			if err != nil {
				return err
			}
			outs = append(outs, o)
		}
		// Our contacts (device lists, names, announcement secrets) and our own secret.
		o, err := t.syncContacts(nil, true, topic, in)
		if err != nil {
			return err
		}
		outs = append(outs, o...)
		// Welcome it into our groups now; the device list goes to the groups, our other
		// installations and contacts once its binding signature comes back (handleDevices).
		o, err = t.welcomeToGroups([]*storage.InstallationRecord{in}, topic)
		outs = append(outs, o...)
		return err
	})
	if err != nil {
		return InstallationID{}, err
	}
	c.publishIDs(ctx, outs)
	return id, nil
}

// linkParts encodes our installations' metadata into a Link body. Our contacts follow
// in ContactSync messages (with their names and announcement secrets); a Link from an
// earlier version may still carry contacts' device lists, which handleLink stores.
func (t *txn) linkParts(secret [wire.PairingSecretSize]byte, groups uint32) ([][]byte, error) {
	infos, err := t.deviceInfos()
	if err != nil {
		return nil, err
	}
	l := &wire.Link{Secret: secret, Part: 0, Parts: 1, Groups: groups, Devices: infos}
	b, err := l.Marshal()
	if err != nil {
		return nil, err
	}
	return [][]byte{b}, nil
}

// handleLinkInbox handles an inbox frame on our link topic while we wait to be linked.
// Only a Link with our pairing secret, from an installation whose account-signed device
// list lists it and us, makes us adopt the account; anything else that opens waits
// (pending) and is retried once we are linked. Nothing is stored before adoption.
func (t *txn) handleLinkInbox(payload []byte) error {
	c := t.c
	link := c.link
	f, err := wire.ParseInboxFrame(payload)
	if err != nil {
		return err
	}
	if f.Kind != wire.KindInitial {
		return errNotForUs // no session exists before we are linked
	}
	p, err := t.unsealInitial(f)
	if err != nil {
		return err
	}
	t.self = &account{ident: link.ident, inst: link.inst}
	s, _, otk, err := t.respond(p.Header, false)
	if err != nil {
		return err
	}
	if s.rec.ID != 0 {
		return errNotForUs
	}
	pt, err := t.decryptOn(s, p.Message, adInbox, nil)
	if err != nil {
		return err
	}
	if pt, err = wire.UnpadInbox(pt); err != nil {
		return err
	}
	pm, err := wire.ParsePairwiseMessage(pt)
	if err != nil {
		return err
	}
	if pm.Type != wire.PairwiseLink {
		return errPending // e.g. a Welcome that overtook the Link
	}
	l, err := wire.ParseLink(pm.Body)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(l.Secret[:], link.secret[:]) != 1 {
		return errNotForUs
	}
	now := c.now()
	if pm.DeviceList == nil {
		return errBadInitial
	}
	v, err := verifyDeviceList(pm.DeviceList, now)
	if err != nil || !listsInitiator(v, s.rec.Remote, p.Header) || !listsSelf(v.List, t.self) {
		return errBadInitial
	}
	// Adopt the account.
	rec, err := t.Account()
	if err != nil {
		return err
	}
	rec.PublicKey = slices.Clone(v.List.Account[:])
	rec.LinkUntil = now.Add(LinkListenWindow)
	if err := t.PutAccount(rec); err != nil {
		return err
	}
	pub, err := crypto.UnmarshalPubkey(rec.PublicKey)
	if err != nil {
		return errBadInitial
	}
	acct := &account{pub: crypto.FromECDSAPub(pub), id: v.Account, ident: link.ident, inst: link.inst}
	c.acct, c.link, c.linkTopic, c.linkUntil = acct, nil, link.topic, rec.LinkUntil
	t.onRollback(func() { c.acct, c.link, c.linkTopic, c.linkUntil = nil, link, "", time.Time{} })
	t.self = nil
	if err := t.putSelf(acct, now); err != nil {
		return err
	}
	if _, err := t.mergeDeviceList(v, pm.DeviceList, listFrom{owner: true}, now); err != nil {
		return err
	}
	s.rec.RemoteAccount = v.Account
	if err := t.adoptResponder(s, otk); err != nil {
		return err
	}
	t.topicsChanged, t.newKeys = true, true
	t.emit(&AccountLinked{Account: v.Account, By: s.rec.Remote})
	if err := t.handlePairwise(v.Account, s.rec.Remote, pm); err != nil {
		return err
	}
	// Send our binding to the installation that linked us: it announces us only then.
	by, err := t.Installation(s.rec.Remote)
	if err != nil {
		return err
	}
	list, err := t.ownDeviceList(0)
	if err != nil {
		return err
	}
	o, err := t.sendDevices(by, list, false)
	if err != nil {
		return err
	}
	t.sends = append(t.sends, o)
	return nil
}

// handleLink applies a Link part from another installation of our account after we
// adopted the account: our installations' metadata and our contacts.
func (t *txn) handleLink(from string, pm *wire.PairwiseMessage) error {
	c := t.c
	if from != c.acct.id {
		return errNotForUs
	}
	l, err := wire.ParseLink(pm.Body)
	if err != nil {
		return err
	}
	rec, err := t.Account()
	if err != nil {
		return err
	}
	if len(rec.LinkSecret) != wire.PairingSecretSize || subtle.ConstantTimeCompare(l.Secret[:], rec.LinkSecret) != 1 {
		return errNotForUs
	}
	if err := t.applyDeviceInfos(l.Devices); err != nil {
		return err
	}
	now := c.now()
	for _, ct := range l.Contacts {
		v, err := verifyDeviceList(ct.DeviceList, now)
		if err != nil || v.Account == c.acct.id {
			continue
		}
		if err := t.storeDeviceList(v, ct.DeviceList, listFrom{addContact: ct.Added}, now); err != nil {
			return err
		}
	}
	return nil
}

// WaitingForLink reports whether this installation waits to be linked: LinkCode was
// called and no account has linked it yet (Account returns ErrNoAccount meanwhile).
func (c *Client) WaitingForLink() bool { return c.linkPending() }

// linkPending reports whether we wait to be linked (LinkCode, no account yet).
func (c *Client) linkPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acct == nil && c.link != nil
}

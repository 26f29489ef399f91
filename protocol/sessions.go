package protocol

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/chorus-im/chorus/doubleratchet"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/x3dh"
)

// Double Ratchet associated-data purposes (spec: protocol, "Pairwise messages").
const (
	adInbox byte = 1
	adSlot  byte = 2
)

var (
	errNoBundle   = errors.New("protocol: no usable prekey bundle for installation")
	errNotForUs   = errors.New("protocol: not addressed to us")
	errBadInitial = errors.New("protocol: invalid initial message")
)

// sess is a loaded session.
type sess struct {
	rec *storage.SessionRecord
	dr  *doubleratchet.Session
	hc  *hintChain // nil: a session stored before hint chains (constant hints)
	// hintsMoved: the expected receive hints changed (saveSession updates c.inbox).
	hintsMoved bool
}

// sessionHints derives the per-direction hints of a session from the X3DH secret.
func sessionHints(secret [32]byte, initiator bool) (send, recv [16]byte) {
	out, err := hkdf.Key(sha256.New, secret[:], nil, labelSessionHint, 32)
	if err != nil {
		panic(err)
	}
	copy(send[:], out[:16]) // initiator -> responder
	copy(recv[:], out[16:]) // responder -> initiator
	if !initiator {
		send, recv = recv, send
	}
	return send, recv
}

func drAD(sessAD []byte, purpose byte, ctx []byte) []byte {
	out := make([]byte, 0, len(sessAD)+1+len(ctx))
	out = append(out, sessAD...)
	out = append(out, purpose)
	return append(out, ctx...)
}

func (t *txn) loadSession(rec *storage.SessionRecord) (*sess, error) {
	dr := new(doubleratchet.Session)
	if err := dr.UnmarshalBinary(rec.State); err != nil {
		return nil, fmt.Errorf("protocol: stored session: %w", err)
	}
	var hc *hintChain
	if len(rec.HintChain) > 0 {
		var err error
		if hc, err = parseHintChain(rec.HintChain); err != nil {
			return nil, err
		}
	}
	// The first use of a session in a process resumes its sending chain above the lease
	// (spec: persistence, "Durability"); saveSession stores the skip.
	if rec.ID != 0 && !t.c.resumedSessions[rec.ID] && !t.resumedSess[rec.ID] {
		if pub, n, ok := dr.SendingChain(); ok && pub == rec.LeaseKey && n < rec.SendLease {
			if err := dr.SkipSending(rec.SendLease); err != nil {
				return nil, fmt.Errorf("protocol: stored session: %w", err)
			}
		}
		if hc != nil {
			hc.resume()
		}
	}
	return &sess{rec: rec, dr: dr, hc: hc}, nil
}

// leaseSending keeps the message numbers s's sending chain has used below a durable
// lease: when a message number reaches the lease, the lease moves SessionLease ahead and
// the transaction is synced before anything it sealed is sent.
func (t *txn) leaseSending(s *sess) {
	pub, n, ok := s.dr.SendingChain()
	if !ok {
		return
	}
	if pub != s.rec.LeaseKey { // a new sending chain (DH ratchet turn or new session)
		s.rec.LeaseKey, s.rec.SendLease = pub, 0
	}
	if n > s.rec.SendLease { // message n-1 was sealed at or above the lease
		s.rec.SendLease = uint32(min(uint64(n)-1+SessionLease, uint64(^uint32(0))-1))
		t.SyncOnCommit()
	}
}

// activeSession returns the session we send on to remote, or nil.
func (t *txn) activeSession(remote InstallationID) (*sess, error) {
	list, err := t.SessionsWith(remote)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Active {
			return t.loadSession(&list[i])
		}
	}
	return nil, nil
}

// sessionTo returns the active session to inst, starting one with X3DH if needed.
func (t *txn) sessionTo(inst *storage.InstallationRecord) (*sess, error) {
	s, err := t.activeSession(inst.ID)
	if err != nil || s != nil {
		return s, err
	}
	return t.initiate(inst)
}

// initiate runs X3DH with inst's stored bundle (using a one-time prekey only if the owner
// gave the bundle to us) and stores the new session as active.
func (t *txn) initiate(inst *storage.InstallationRecord) (*sess, error) {
	if len(inst.Bundle) == 0 || inst.Revoked {
		return nil, errNoBundle
	}
	bundle, err := x3dh.ParseBundle(inst.Bundle)
	if err != nil {
		return nil, errNoBundle
	}
	usedOTK := len(bundle.OneTimePrekeys) > 0
	if usedOTK {
		// Pick one at random among those offered, to make reuse by two initiators unlikely.
		var r [1]byte
		if _, err := t.c.rand.Read(r[:]); err != nil {
			return nil, err
		}
		i := int(r[0]) % len(bundle.OneTimePrekeys)
		bundle.OneTimePrekeys = []x3dh.OneTimePrekeyPublic{bundle.OneTimePrekeys[i]}
	}
	now := t.c.now()
	secret, ad, hdr, err := x3dh.Initiate(t.c.rand, t.c.acct.ident, bundle, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoBundle, err)
	}
	dr, err := doubleratchet.NewInitiator(t.c.rand, secret, bundle.SignedPrekey)
	if err != nil {
		return nil, err
	}
	hb, err := hdr.MarshalBinary()
	if err != nil {
		return nil, err
	}
	send, recv := sessionHints(secret, true)
	hc := newHintChain(secret, true)
	rec := &storage.SessionRecord{Remote: inst.ID, RemoteAccount: inst.Account, Initiator: true, Active: true, BaseKey: hdr.Ephemeral,
		SendHint: send, RecvHint: recv, AD: ad, InitialHeader: append(append([]byte{}, bundle.SignedPrekey[:]...), hb...),
		CreatedAt: now, UpdatedAt: now}
	if usedOTK {
		// The owner's OTK is consumed: do not offer it to anyone else from our copy.
		cp := *bundle
		cp.OneTimePrekeys = nil
		if bb, err := cp.MarshalBinary(); err == nil {
			inst.Bundle = bb
			if err := t.PutInstallation(inst); err != nil {
				return nil, err
			}
		}
	}
	s := &sess{rec: rec, dr: dr, hc: hc}
	return s, t.saveSession(s, true)
}

// saveSession stores s; makeActive deactivates the other sessions with the remote and
// prunes old ones.
func (t *txn) saveSession(s *sess, makeActive bool) error {
	st, err := s.dr.MarshalBinary()
	if err != nil {
		return err
	}
	s.rec.State = st
	if s.hc != nil {
		s.rec.HintChain = s.hc.marshal()
	}
	s.rec.UpdatedAt = t.c.now()
	if makeActive {
		s.rec.Active = true
	}
	t.leaseSending(s)
	isNew := s.rec.ID == 0
	if err := t.PutSession(s.rec); err != nil {
		return err
	}
	resumed := s.rec.ID
	if t.resumedSess == nil {
		t.resumedSess = map[int64]bool{}
	}
	t.resumedSess[resumed] = true
	t.onCommit(func() { t.c.resumedSessions[resumed] = true })
	if isNew {
		id, hint := s.rec.ID, s.rec.RecvHint
		t.onCommit(func() { t.c.hints[hint] = id })
	}
	if isNew || s.hintsMoved {
		id, hint, hc := s.rec.ID, s.rec.RecvHint, s.hc
		s.hintsMoved = false
		t.onCommit(func() { t.c.setInboxHints(id, hc, hint) })
	}
	if !makeActive {
		return nil
	}
	list, err := t.SessionsWith(s.rec.Remote)
	if err != nil {
		return err
	}
	kept := 1
	for i := range list {
		o := &list[i]
		if o.ID == s.rec.ID {
			continue
		}
		if kept >= MaxSessionsPerInstallation {
			if err := t.DeleteSession(o.ID); err != nil {
				return err
			}
			hint, id := o.RecvHint, o.ID
			t.onCommit(func() { delete(t.c.hints, hint); t.c.dropInboxHints(id) })
			continue
		}
		kept++
		if o.Active {
			o.Active = false
			if err := t.PutSession(o); err != nil {
				return err
			}
		}
	}
	return nil
}

// pendingInitial reports whether messages on s must still carry the X3DH header.
func (s *sess) pendingInitial() bool {
	return s.rec.Initiator && !s.rec.Confirmed && len(s.rec.InitialHeader) > 32
}

// x3dhHeader returns the stored X3DH header bytes and the responder's signed prekey.
func (s *sess) x3dhHeader() (spk [32]byte, hdr []byte) {
	copy(spk[:], s.rec.InitialHeader[:32])
	return spk, s.rec.InitialHeader[32:]
}

func accountPub(account string) ([]byte, error) {
	pub, err := membership.ParsePublicKey(account)
	if err != nil {
		return nil, err
	}
	return crypto.FromECDSAPub(pub), nil
}

// sealPairwise encrypts a pairwise message to inst and returns the inbox topic and frame.
// The session state advances; the caller stores the frame in the outbox in the same
// transaction.
func (t *txn) sealPairwise(inst *storage.InstallationRecord, pm *wire.PairwiseMessage) (string, []byte, error) {
	return t.sealPairwiseTo(inst, pm, "")
}

// sealPairwiseTo is sealPairwise publishing on topic instead of the recipient account's
// inbox ("": the inbox). Linking uses the new installation's link topic.
func (t *txn) sealPairwiseTo(inst *storage.InstallationRecord, pm *wire.PairwiseMessage, topic string) (string, []byte, error) {
	pub, err := accountPub(inst.Account)
	if err != nil {
		return "", nil, err
	}
	if topic == "" {
		topic = topics.InboxTopic(pub)
	}
	s, err := t.sessionTo(inst)
	if err != nil {
		return "", nil, err
	}
	if s.hc == nil {
		// A session stored before hint chains: replace it by a new one (X3DH) if the
		// installation's bundle allows, else keep sending on it with its constant hint.
		if ns, err := t.initiate(inst); err == nil {
			s = ns
		} else if !errors.Is(err, errNoBundle) {
			return "", nil, err
		}
	}
	if s.pendingInitial() && pm.DeviceList == nil {
		list, err := t.ownDeviceList(0)
		if err != nil {
			return "", nil, err
		}
		cp := *pm
		cp.DeviceList = list
		pm = &cp
	}
	pt, err := pm.Marshal()
	if err != nil {
		return "", nil, err
	}
	padded := wire.PadInbox(pt)
	msg, err := s.dr.Encrypt(padded, drAD(s.rec.AD, adInbox, nil))
	if err != nil {
		return "", nil, err
	}
	var frame []byte
	if s.pendingInitial() {
		spk, hdr := s.x3dhHeader()
		frame, err = sealInitial(t.c.rand, spk, hdr, msg)
		if err != nil {
			return "", nil, err
		}
	} else {
		hint := s.rec.SendHint // legacy session: its constant hint
		if s.hc != nil {
			if hint, err = s.hc.nextSend(t); err != nil {
				return "", nil, err
			}
		}
		f := &wire.InboxFrame{Kind: wire.KindSession, Hint: hint, Body: msg}
		frame = f.Marshal()
	}
	if err := t.saveSession(s, false); err != nil {
		return "", nil, err
	}
	if t.c.hookPad != nil {
		t.c.hookPad(pm.Type, len(pt), len(padded), len(frame))
	}
	return topic, frame, nil
}

func initialSealKey(shared, ephPub, spk []byte) ([]byte, error) {
	salt := append(append([]byte{}, ephPub...), spk...)
	return hkdf.Key(sha256.New, shared, salt, labelInitialSeal, chacha20poly1305.KeySize)
}

// sealInitial builds an initial inbox frame: the X3DH header and first Double Ratchet
// message sealed to the responder's signed prekey with a fresh ephemeral key, so that
// observers learn neither party's identity.
func sealInitial(rand interface{ Read([]byte) (int, error) }, spk [32]byte, hdr, msg []byte) ([]byte, error) {
	eph, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	return sealInitialWith(eph, spk, hdr, msg)
}

func sealInitialWith(eph *ecdh.PrivateKey, spk [32]byte, hdr, msg []byte) ([]byte, error) {
	rpub, err := ecdh.X25519().NewPublicKey(spk[:])
	if err != nil {
		return nil, err
	}
	shared, err := eph.ECDH(rpub)
	if err != nil {
		return nil, err
	}
	key, err := initialSealKey(shared, eph.PublicKey().Bytes(), spk[:])
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	inner, err := (&wire.InitialPayload{Header: hdr, Message: msg}).Marshal()
	if err != nil {
		return nil, err
	}
	f := &wire.InboxFrame{Kind: wire.KindInitial}
	header := f.Marshal() // header only (empty body)
	body := append(eph.PublicKey().Bytes(), aead.Seal(nil, make([]byte, chacha20poly1305.NonceSize), inner, header)...)
	f.Body = body
	return f.Marshal(), nil
}

// unsealInitial tries our signed prekeys on an initial frame body.
func (t *txn) unsealInitial(f *wire.InboxFrame) (*wire.InitialPayload, error) {
	if len(f.Body) < 32+chacha20poly1305.Overhead {
		return nil, errNotForUs
	}
	spks, err := t.Prekeys(true)
	if err != nil {
		return nil, err
	}
	for i := len(spks) - 1; i >= 0; i-- {
		spk := new(x3dh.SignedPrekey)
		if spk.UnmarshalBinary(spks[i].Data) != nil {
			continue
		}
		p, err := unsealWith(spk.PrivateKey(), f)
		if errors.Is(err, errNotForUs) {
			continue
		}
		return p, err
	}
	return nil, errNotForUs
}

// unsealWith opens an initial frame with one signed prekey.
func unsealWith(spk *ecdh.PrivateKey, f *wire.InboxFrame) (*wire.InitialPayload, error) {
	if len(f.Body) < 32+chacha20poly1305.Overhead {
		return nil, errNotForUs
	}
	ephPub, err := ecdh.X25519().NewPublicKey(f.Body[:32])
	if err != nil {
		return nil, errNotForUs
	}
	shared, err := spk.ECDH(ephPub)
	if err != nil {
		return nil, errNotForUs
	}
	key, err := initialSealKey(shared, f.Body[:32], spk.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	header := (&wire.InboxFrame{Kind: wire.KindInitial}).Marshal()
	inner, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), f.Body[32:], header)
	if err != nil {
		return nil, errNotForUs
	}
	p, err := wire.ParseInitialPayload(inner)
	if err != nil {
		return nil, errBadInitial
	}
	return p, nil
}

// respond handles an X3DH header addressed to us: it returns the existing session with
// that base key, or a new responder session (not yet stored). The initiator's identity
// must match the installation we know by that id; requireKnown demands that we know it
// (rotation slots: group members only). usedOTK is the one-time
// prekey to delete once the first message authenticates.
func (t *txn) respond(hb []byte, requireKnown bool) (s *sess, hdr *x3dh.Header, usedOTK *uint32, err error) {
	hdr, err = x3dh.ParseHeader(hb)
	if err != nil {
		return nil, nil, nil, errBadInitial
	}
	return t.respondHeader(hdr, requireKnown)
}

// respondHeader is respond for a parsed header (a compact slot's, its initiator filled in
// from the block's author).
func (t *txn) respondHeader(hdr *x3dh.Header, requireKnown bool) (s *sess, _ *x3dh.Header, usedOTK *uint32, err error) {
	me := t.me()
	remote := InstallationID(hdr.Initiator.ID)
	if remote == me.inst {
		return nil, nil, nil, errBadInitial
	}
	// An installation id we know must come with the keys we know for it: X3DH
	// authenticates the DH key the header names, not the id, so without this check anyone
	// could open a session in another installation's name.
	if in, err := t.installationView(remote); err == nil {
		if in.DH != hdr.Initiator.DH || in.Signing != hdr.Initiator.Signing || in.Revoked {
			return nil, nil, nil, errBadInitial
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil, err
	} else if requireKnown {
		return nil, nil, nil, errBadInitial
	}
	if rec, err := t.SessionByBaseKey(remote, hdr.Ephemeral); err == nil {
		s, err := t.loadSession(rec)
		return s, hdr, nil, err
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, nil, nil, err
	}
	lookup := prekeyLookup{t}
	secret, ad, err := x3dh.Respond(me.ident, lookup, hdr, t.c.now())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", errBadInitial, err)
	}
	spk, ok := lookup.SignedPrekey(hdr.SignedPrekeyID)
	if !ok {
		return nil, nil, nil, errBadInitial
	}
	dr, err := doubleratchet.NewResponder(secret, spk.PrivateKey())
	if err != nil {
		return nil, nil, nil, err
	}
	send, recv := sessionHints(secret, false)
	now := t.c.now()
	rec := &storage.SessionRecord{Remote: remote, BaseKey: hdr.Ephemeral, SendHint: send, RecvHint: recv, AD: ad, CreatedAt: now, UpdatedAt: now}
	hc := newHintChain(secret, false)
	if hdr.HasOneTimePrekey {
		id := hdr.OneTimePrekeyID
		usedOTK = &id
	}
	return &sess{rec: rec, dr: dr, hc: hc}, hdr, usedOTK, nil
}

// adoptResponder stores a new responder session after its first message authenticated,
// applying the simultaneous-initiation tie-break: a session we initiated that the peer
// has not confirmed stays active only if our installation id is the smaller one.
func (t *txn) adoptResponder(s *sess, usedOTK *uint32) error {
	if usedOTK != nil {
		if err := t.DeletePrekey(false, *usedOTK); err != nil {
			return err
		}
	}
	act, err := t.activeSession(s.rec.Remote)
	if err != nil {
		return err
	}
	makeActive := true
	if act != nil && act.rec.Initiator && !act.rec.Confirmed && bytes.Compare(t.c.acct.inst[:], s.rec.Remote[:]) < 0 {
		makeActive = false
	}
	return t.saveSession(s, makeActive)
}

// decryptOn decrypts msg on a copy of s; on success s holds the advanced state (not yet
// stored) and is marked confirmed.
func (t *txn) decryptOn(s *sess, msg []byte, purpose byte, ctx []byte) ([]byte, error) {
	cp := s.dr.Clone()
	pt, err := cp.Decrypt(t.c.rand, msg, drAD(s.rec.AD, purpose, ctx))
	if err != nil {
		return nil, err
	}
	s.dr = cp
	if s.rec.Initiator && !s.rec.Confirmed {
		s.rec.Confirmed = true
		s.rec.InitialHeader = nil
	}
	return pt, nil
}

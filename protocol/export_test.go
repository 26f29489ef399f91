package protocol

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
)

// SetStoredHook installs a hook run after an outbound message is stored and before it is
// published; if it returns an error the publish is skipped (a simulated crash).
func SetStoredHook(c *Client, f func() error) { c.hookStored = f }

// Inject processes a payload as if it had arrived on topic.
func Inject(c *Client, topic string, payload []byte) { c.process(context.Background(), topic, payload) }

// StateDigest hashes every piece of state an inbound message can change: sessions,
// receivers, groups, messages, pending envelopes and the prekeys.
func StateDigest(c *Client) string {
	h := sha256.New()
	err := c.tx(context.Background(), func(t *txn) error {
		gs, err := t.Groups()
		if err != nil {
			return err
		}
		for _, g := range gs {
			fmt.Fprintf(h, "g %x %x %x %d %v %v %x %d\n", g.ID, g.Events, g.Sender, g.Clock, g.Rotate, g.Distribute, g.History, g.Status)
			rs, err := t.Receivers(g.ID)
			if err != nil {
				return err
			}
			for _, r := range rs {
				fmt.Fprintf(h, "r %x %x\n", r.Installation, r.State)
			}
			fmt.Fprintf(h, "e %x %x\n", g.Schedule, g.EpochMeta)
			scs, err := t.SenderChains(g.ID)
			if err != nil {
				return err
			}
			for _, sc := range scs {
				fmt.Fprintf(h, "sc %x %x %d\n", sc.Epoch, sc.State, sc.Lease)
			}
			rcs, err := t.ReceiverChains(g.ID)
			if err != nil {
				return err
			}
			for _, rc := range rcs {
				fmt.Fprintf(h, "rc %x %x %x\n", rc.Epoch, rc.Installation, rc.State)
			}
			ms, err := t.Messages(g.ID, MessageFilter{})
			if err != nil {
				return err
			}
			for _, m := range ms {
				fmt.Fprintf(h, "m %x\n", m.ID)
			}
		}
		hints, err := t.RecvHints()
		if err != nil {
			return err
		}
		for _, e := range hints {
			s, err := t.Session(e.SessionID)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "s %d %x %v\n", s.ID, s.State, s.Confirmed)
		}
		p, err := t.Pending(1 << 20)
		fmt.Fprintf(h, "p %d\n", len(p))
		otks, _ := t.Prekeys(false)
		fmt.Fprintf(h, "k %d\n", len(otks))
		return err
	})
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// GroupFrameInfo opens a group payload with c's key for group g and returns the sender-key
// header of the message it carries (ok false if none or not decryptable).
func GroupFrameInfo(c *Client, g GroupID, payload []byte) (key [8]byte, iteration uint32, ok bool) {
	c.mu.Lock()
	gc := c.groups[g]
	c.mu.Unlock()
	if gc == nil {
		return key, 0, false
	}
	if gc.v2 {
		f, ep, ok := openFrameV2(gc, payload)
		if !ok || f.Message == nil {
			return key, 0, false
		}
		h, err := epoch.ParseMessageHeader(f.Message)
		if err != nil {
			return key, 0, false
		}
		copy(key[:], ep.ID[:8])
		return key, h.Iteration, true
	}
	f, ok := openFrame(gc, payload)
	if !ok || f.Message == nil {
		return key, 0, false
	}
	h, err := senderkeys.ParseHeader(f.Message)
	if err != nil {
		return key, 0, false
	}
	return h.KeyID, h.Iteration, true
}

// Reframe re-encrypts the inner frame of a group payload under the group key with a
// fresh nonce after applying mutate to the inner plaintext — what an insider who knows
// the group secret (e.g. a removed member) can do.
func Reframe(c *Client, g GroupID, payload []byte, mutate func(inner []byte)) []byte {
	c.mu.Lock() // the cache's epochs change at commit, under c.mu
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc.v2 {
		pt, ep, err := epoch.OpenOuter(gc.live, gc.topic, payload)
		if err != nil {
			panic(err)
		}
		if mutate != nil {
			mutate(pt)
		}
		out, err := epoch.SealOuter(bytes.NewReader(append([]byte("reframed-nonce-012345678"), byte(len(pt)))), &ep, gc.topic, pt)
		if err != nil {
			panic(err)
		}
		return out
	}
	pt, err := gc.aead.Open(nil, payload[1:25], payload[25:], frameAD(gc.topic))
	if err != nil {
		panic(err)
	}
	if mutate != nil {
		mutate(pt)
	}
	out := make([]byte, 25, 25+len(pt)+16)
	out[0] = payload[0]
	copy(out[1:], []byte("reframed-nonce-0123456789")[:24])
	out[24] ^= byte(len(pt))
	return gc.aead.Seal(out, out[1:25], pt, frameAD(gc.topic))
}

// SetFrameLimit lowers the size of a group frame (to split rotation blocks with few members).
func SetFrameLimit(c *Client, n int) { c.frameLimit = n }

// SetLiveBatch sets how many queued live envelopes share a batch (1: none); before Run.
func SetLiveBatch(c *Client, n int) { c.liveBatch = n }

// RespondForTest runs the X3DH responder checks of a rotation slot (known installation
// required) on an encoded header, without storing anything.
func RespondForTest(c *Client, hdr []byte) error {
	return c.tx(context.Background(), func(t *txn) error {
		_, _, _, err := t.respond(hdr, true)
		if err == nil {
			return nil
		}
		return err
	})
}

// SetWelcomeLimit lowers the size of a Welcome (to split Welcomes with few members).
func SetWelcomeLimit(c *Client, n int) { c.welcomeLimit = n }

// SlotTries returns how many rotation-block slots c has tried to decrypt (each costs a
// session clone and a Double Ratchet decryption, an initial slot also an X3DH).
func SlotTries(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slotTries
}

// PendingStats returns the number and total payload bytes of c's pending envelopes.
func PendingStats(c *Client) (n, bytes int) {
	err := c.tx(context.Background(), func(t *txn) error {
		list, err := t.Pending(1 << 20)
		for _, p := range list {
			bytes += len(p.Payload)
		}
		n = len(list)
		return err
	})
	if err != nil {
		panic(err)
	}
	return n, bytes
}

// RetryPending retries c's pending envelopes (what Run does when new keys arrive).
func RetryPending(c *Client) { c.retryPending(context.Background()) }

// RetryDueForTest runs one turn of the publish retry loop now (what Run's maintenance does
// on its tick): every outbox record due attempted.
func RetryDueForTest(c *Client) {
	c.mu.Lock()
	c.noteDue(c.now())
	c.mu.Unlock()
	c.retryDue(context.Background())
}

// InnerFrame returns the decrypted inner frame of a group payload (nil if c cannot open it).
func InnerFrame(c *Client, g GroupID, payload []byte) []byte {
	c.mu.Lock() // the cache's epochs change at commit, under c.mu
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc == nil || len(payload) < groupOverhead {
		return nil
	}
	if gc.v2 {
		pt, _, err := epoch.OpenOuter(gc.live, gc.topic, payload)
		if err != nil {
			return nil
		}
		return pt
	}
	pt, err := gc.aead.Open(nil, payload[1:25], payload[25:], frameAD(gc.topic))
	if err != nil {
		return nil
	}
	return pt
}

// SealInner encrypts an inner frame (any bytes) under the group key with a fresh nonce:
// what anyone holding the group secret can publish.
func SealInner(c *Client, g GroupID, inner []byte) []byte {
	c.mu.Lock() // the cache's epochs change at commit, under c.mu
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc.v2 {
		ep := gc.live[len(gc.live)-1]
		out, err := epoch.SealOuter(cryptorand.Reader, &ep, gc.topic, inner)
		if err != nil {
			panic(err)
		}
		return out
	}
	out := make([]byte, 1+wire.NonceSize, 1+wire.NonceSize+len(inner)+16)
	out[0] = wire.Version
	if _, err := io.ReadFull(cryptorand.Reader, out[1:]); err != nil {
		panic(err)
	}
	return gc.aead.Seal(out, out[1:1+wire.NonceSize], inner, frameAD(gc.topic))
}

// ForgeSenderKeyID replaces c's sender key in group g by a fresh one under key id key (a
// misbehaving member's client); its next message distributes it.
func ForgeSenderKeyID(c *Client, g GroupID, key [8]byte) {
	err := c.tx(context.Background(), func(t *txn) error {
		gr, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := senderkeys.NewSender(io.MultiReader(bytes.NewReader(key[:]), cryptorand.Reader), g[:])
		if err != nil {
			return err
		}
		if gr.Sender, err = s.MarshalBinary(); err != nil {
			return err
		}
		gr.Distribute, gr.Rotate = true, false
		if err := t.ClearDistributed(g); err != nil {
			return err
		}
		return t.PutGroupState(gr)
	})
	if err != nil {
		panic(err)
	}
}

var errForgeDone = errors.New("forged")

// ForgedRotation builds the inner frame of a publish a member (attacker) can make to cost
// victim work: a rotation block under a public distribution of a fresh sender key of the
// attacker's (validly signed, or with a flipped signature if badSig) holding as many
// slots addressed to victim as fit a frame of size bytes (each a copy of a genuine slot in
// the attacker's session with victim, its ciphertext tampered), and a message under the
// fresh key (unknown to victim) filling the rest.
func ForgedRotation(attacker, victim *Client, g GroupID, badSig bool, size int) []byte {
	victim.mu.Lock()
	vinst := victim.acct.inst
	victim.mu.Unlock()
	var out []byte
	err := attacker.tx(context.Background(), func(t *txn) error {
		c := t.c
		sender, err := senderkeys.NewSender(cryptorand.Reader, g[:])
		if err != nil {
			return err
		}
		d, err := sender.Distribution(c.acct.ident.SigningKey(), c.acct.inst)
		if err != nil {
			return err
		}
		pub := wire.PublicDistribution{Group: d.Group, Installation: d.Installation, KeyID: d.KeyID, SigningKey: d.SigningKey,
			HasPrev: d.HasPrev, PrevKeyID: d.PrevKeyID, PrevLastIteration: d.PrevLastIteration, Signature: d.Signature}
		if badSig {
			pub.Signature[7] ^= 1
		}
		pubBytes, err := pub.Marshal()
		if err != nil {
			return err
		}
		in, err := t.Installation(vinst)
		if err != nil {
			return err
		}
		s, err := t.sessionTo(in)
		if err != nil {
			return err
		}
		var pt [wire.SlotPlaintextSize]byte
		copy(pt[:32], d.ChainKey[:])
		msg, err := s.dr.Encrypt(pt[:], drAD(s.rec.AD, adSlot, slotContext(pubBytes)))
		if err != nil {
			return err
		}
		msg[len(msg)-1] ^= 1
		sl := wire.Slot{Kind: wire.SlotSession, Hint: s.rec.SendHint, Message: msg}
		if s.pendingInitial() {
			_, hdr := s.x3dhHeader()
			sl = wire.Slot{Kind: wire.SlotInitial, Hint: initialSlotHint(in.ID), Header: hdr, Message: msg}
		}
		body := make([]byte, 1000)
		sealed, err := sender.Seal(body)
		if err != nil {
			return err
		}
		rb := &wire.RotationBlock{Public: pub, Part: 0, Parts: 1}
		room := size - wire.RotationOverhead(&pub) - 4 - len(sealed) - 16
		for n := sl.Size(); room >= n && len(rb.Slots) < wire.MaxSlots; room -= n {
			rb.Slots = append(rb.Slots, sl)
		}
		f := &wire.GroupFrame{Rotation: rb, Message: sealed}
		if out, err = f.Marshal(); err != nil {
			return err
		}
		return errForgeDone // roll back: the attacker's session is not advanced
	})
	if !errors.Is(err, errForgeDone) {
		panic(err)
	}
	return out
}

// GroupFrameMessage opens a group payload with c's key for group g and returns the
// senderkeys message it carries (nil if none).
func GroupFrameMessage(c *Client, g GroupID, payload []byte) []byte {
	c.mu.Lock()
	gc := c.groups[g]
	c.mu.Unlock()
	if gc == nil {
		return nil
	}
	if gc.v2 {
		f, _, ok := openFrameV2(gc, payload)
		if !ok {
			return nil
		}
		return f.Message
	}
	f, ok := openFrame(gc, payload)
	if !ok {
		return nil
	}
	return f.Message
}

// ClearPending deletes every pending envelope of c.
func ClearPending(c *Client) {
	err := c.tx(context.Background(), func(t *txn) error {
		list, err := t.Pending(1 << 20)
		for _, p := range list {
			if err := t.DeletePending(p.Hash); err != nil {
				return err
			}
		}
		return err
	})
	if err != nil {
		panic(err)
	}
}

// AccountKeyForTest returns c's account key (nil on a linked installation).
func AccountKeyForTest(c *Client) *ecdsa.PrivateKey { return c.acct.key }

// SendMembershipForTest sends an encoded MembershipUpdateMessage to group g as a group
// membership message, without checking it against the rules first (what a misbehaving
// member can send), and publishes it.
func SendMembershipForTest(c *Client, g GroupID, update []byte) error {
	body, err := (&wire.Membership{Update: update}).Marshal()
	if err != nil {
		return err
	}
	var outs []*storage.OutboxRecord
	err = c.tx(context.Background(), func(t *txn) error {
		gr, gc, err := t.group(g)
		if err != nil {
			return err
		}
		_, outs, err = t.sealGroup(gr, gc, wire.ContentMembership, body)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(context.Background(), outs)
	return nil
}

// StoredEventsForTest returns the size of group g's stored event log and its number of
// applied and pending events.
func StoredEventsForTest(c *Client, g GroupID) (size, applied, pending int) {
	err := c.tx(context.Background(), func(t *txn) error {
		gr, gc, err := t.group(g)
		if err != nil {
			return err
		}
		size, applied, pending = len(gr.Events), len(gc.state.Events), len(gc.state.Pending)
		return nil
	})
	if err != nil {
		panic(err)
	}
	return size, applied, pending
}

// WelcomeBodiesForTest builds c's Welcome bodies for group g (what a newcomer would get).
func WelcomeBodiesForTest(c *Client, g GroupID) ([][]byte, error) {
	var bodies [][]byte
	err := c.tx(context.Background(), func(t *txn) error {
		gr, gc, err := t.group(g)
		if err != nil {
			return err
		}
		st := gc.state
		bodies, err = t.welcomeBodies(gr, &st)
		return err
	})
	return bodies, err
}

// HeadsForTest returns the heads of c's membership state for group g.
func HeadsForTest(c *Client, g GroupID) []membership.EventID {
	var heads []membership.EventID
	err := c.tx(context.Background(), func(t *txn) error {
		_, gc, err := t.group(g)
		if err == nil {
			heads = gc.state.Heads
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	return heads
}

// LiveEpochsForTest copies c's live epochs of group g: what an installation that departs
// keeps if it does not erase them.
func LiveEpochsForTest(c *Client, g GroupID) []epoch.Epoch {
	c.mu.Lock()
	defer c.mu.Unlock()
	gc := c.groups[g]
	if gc == nil {
		return nil
	}
	return append([]epoch.Epoch(nil), gc.live...)
}

// OpenWithEpochsForTest opens a v2 group payload of topic with the given epochs, outer
// layer and message (the signature is not checked: only who can read matters), and
// returns the message plaintext, or nil.
func OpenWithEpochsForTest(live []epoch.Epoch, topic string, payload []byte) []byte {
	pt, ep, err := epoch.OpenOuter(live, topic, payload)
	if err != nil {
		return nil
	}
	f, err := wire.ParseFrameV2(pt)
	if err != nil || f.Message == nil {
		return nil
	}
	h, err := epoch.ParseMessageHeader(f.Message)
	if err != nil {
		return nil
	}
	out, err := epoch.NewReceiverChain(&ep, h.Installation).OpenWith(func(_, _, _ []byte) bool { return true }, nil, f.Message)
	if err != nil {
		return nil
	}
	return out
}

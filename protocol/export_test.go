package protocol

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"

	"github.com/chorus-im/chorus/membership"
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
			ms, err := t.Messages(MessageQuery{Group: g.ID})
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
	c.mu.Lock()
	gc := c.groups[g]
	c.mu.Unlock()
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
	var outs []*OutboxRecord
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

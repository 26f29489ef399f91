package protocol

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// EpochInfo reports a v2 group's schedule at c: whether it is v2, its frontier and the
// current epoch id (zero while seeds are missing or when c holds no schedule).
func EpochInfo(c *Client, g GroupID) (v2 bool, frontier []epoch.ID, current epoch.ID) {
	_ = c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		v2 = isV2(rec)
		s, err := loadSchedule(rec)
		if err != nil {
			return nil
		}
		frontier = s.Frontier()
		if ep, err := s.Current(); err == nil {
			current = ep.ID
		}
		return nil
	})
	return
}

// RekeysForTest returns how many rekeys c authored.
func RekeysForTest(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rekeys
}

// ForgedKeyBlock builds the payload of a publish a member (attacker) can make to cost
// victim work under key schedule v2: a rekey key block of the attacker's (a valid header,
// prev = its frontier) holding as many slots with victim's hint as fit size bytes, each a
// copy of a genuine slot sealed in the attacker's session with victim and then tampered;
// sealed under the attacker's current epoch. Nothing of the attacker's state is kept.
func ForgedKeyBlock(attacker, victim *Client, g GroupID, size int) []byte {
	victim.mu.Lock()
	vinst := victim.acct.inst
	victim.mu.Unlock()
	var out []byte
	err := attacker.tx(context.Background(), func(t *txn) error {
		c := t.c
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		ep, err := s.Current()
		if err != nil {
			return err
		}
		var nonce [epoch.NonceSize]byte
		nonce[0] = 1
		kb := epoch.NewRekey(epoch.ID(g), epoch.Installation(c.acct.inst), nonce, s.Frontier())
		in, err := t.Installation(vinst)
		if err != nil {
			return err
		}
		var seed epoch.Seed
		slots, _, err := t.buildKeySlots(rec, &kb, &seed, []storage.InstallationRecord{*in})
		if err != nil || len(slots) != 1 {
			return fmt.Errorf("no slot: %v", err)
		}
		sl := slots[0]
		sl.Message = append([]byte{}, sl.Message...)
		sl.Message[len(sl.Message)-1] ^= 1
		kb.Parts = 1
		for {
			kb.Slots = append(kb.Slots, sl)
			b, err := kb.MarshalBinary()
			if err != nil {
				return err
			}
			if len(b)+200 > size {
				kb.Slots = kb.Slots[:len(kb.Slots)-1]
				break
			}
		}
		block, err := kb.MarshalBinary()
		if err != nil {
			return err
		}
		if err := t.c.blockSigner(g)(block); err != nil {
			return err
		}
		frame, err := (&wire.FrameV2{Block: block}).Marshal()
		if err != nil {
			return err
		}
		if out, err = epoch.SealOuter(cryptorand.Reader, &ep, rec.Topic, frame); err != nil {
			return err
		}
		return errForgeDone // roll back: the attacker's session is not advanced
	})
	if !errors.Is(err, errForgeDone) {
		panic(err)
	}
	return out
}

// ForgedRekeyForTest builds the payload of a rekey key block by c (no slots, prev = its
// frontier, the nonce's first byte set to nonce) sealed under c's current epoch: what an
// installation can publish before it is removed and replay after. Nothing of c's state
// is kept.
func ForgedRekeyForTest(c *Client, g GroupID, nonce byte) []byte {
	return slotlessRekey(c, g, c.acct.inst, [2]byte{nonce, 0xf0})
}

// slotlessRekey builds the payload of a rekey key block of group g naming author, with no
// slots, prev = c's frontier and a nonce starting with tag, signed by c and sealed under
// c's current epoch. Nothing of c's state is kept.
func slotlessRekey(c *Client, g GroupID, author InstallationID, tag [2]byte) []byte {
	var out []byte
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		ep, err := s.Current()
		if err != nil {
			return err
		}
		var n [epoch.NonceSize]byte
		copy(n[:], tag[:])
		kb := epoch.NewRekey(epoch.ID(g), epoch.Installation(author), n, s.Frontier())
		block, err := kb.MarshalBinary()
		if err != nil {
			return err
		}
		if err := t.c.blockSigner(g)(block); err != nil {
			return err
		}
		frame, err := (&wire.FrameV2{Block: block}).Marshal()
		if err != nil {
			return err
		}
		if out, err = epoch.SealOuter(cryptorand.Reader, &ep, rec.Topic, frame); err != nil {
			return err
		}
		return errForgeDone
	})
	if !errors.Is(err, errForgeDone) {
		panic(err)
	}
	return out
}

// JoinForTest returns a join c can claim for group g: one rekey of its own, prev = its
// frontier, with a seed it chose.
func JoinForTest(c *Client, g GroupID) (epoch.Join, error) {
	var j epoch.Join
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		var nonce [epoch.NonceSize]byte
		nonce[0] = 0xee
		var seed epoch.Seed
		seed[0] = 0xee
		r := epoch.RekeyID(epoch.ID(g), epoch.Installation(c.acct.inst), nonce, s.Frontier())
		j = epoch.Join{{Event: r, Prev: s.Frontier(), Kind: epoch.SlotSeed, Value: seed,
			Rekey: &epoch.RekeyOrigin{Author: epoch.Installation(c.acct.inst), Nonce: nonce}}}
		return nil
	})
	return j, err
}

// SendWelcomeV2ForTest has c send installation to a Welcome v2 of group g (c's stored
// record and log, whatever its status) carrying join, and publishes it: what an
// installation, removed or not, can send pairwise.
func SendWelcomeV2ForTest(c *Client, to InstallationID, g GroupID, join epoch.Join) error {
	var outs []*storage.OutboxRecord
	err := c.tx(context.Background(), func(t *txn) error {
		rec, gc, err := t.group(g)
		if err != nil {
			return err
		}
		st := gc.state
		in, err := t.Installation(to)
		if err != nil {
			return err
		}
		outs, err = t.welcomeV2To(rec, &st, []*storage.InstallationRecord{in}, join, "")
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(context.Background(), outs)
	return nil
}

// SetPrevHookForTest has c rewrite the prev set of the membership key events it authors.
func SetPrevHookForTest(c *Client, f func(prev epoch.Frontier) epoch.Frontier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookPrev = f
}

// SetMemberBlockPrevHookForTest has c publish, in the key block of each membership key
// event it authors, the prev set f returns once the event (id E) is signed; c applies the
// event with its real frontier.
func SetMemberBlockPrevHookForTest(c *Client, f func(E epoch.ID, prev epoch.Frontier) epoch.Frontier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookMemberBlockPrev = f
}

// SetMemberUncommittedForTest has c sign its membership key events without the epoch prev
// digest (field 103), as a version before it did.
func SetMemberUncommittedForTest(c *Client, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookMemberUncommitted = on
}

// SendCreationWelcomeForTest makes c send every installation of account to a creation
// Welcome (the join of a fresh creation event, no log, no card) for group g with chat id
// chatID, and publishes it.
func SendCreationWelcomeForTest(c *Client, to string, g GroupID, chatID string) error {
	ctx := context.Background()
	var outs []*storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		var E epoch.ID
		var seed epoch.Seed
		if _, err := cryptorand.Read(E[:]); err != nil {
			return err
		}
		if _, err := cryptorand.Read(seed[:]); err != nil {
			return err
		}
		s := epoch.NewSchedule(epoch.ID(g))
		if err := s.Apply(epoch.Event{ID: E}); err != nil {
			return err
		}
		if err := s.SetSeed(E, &seed); err != nil {
			return err
		}
		j, err := s.JoinFor(E, &seed)
		if err != nil {
			return err
		}
		jb, err := j.MarshalBinary()
		if err != nil {
			return err
		}
		var secret [32]byte
		if _, err := cryptorand.Read(secret[:]); err != nil {
			return err
		}
		body, err := (&wire.WelcomeV2{GroupID: g, ChatID: chatID, Secret: secret, Buckets: c.opt.buckets,
			SentAt: uint64(c.now().UnixMilli()), Join: jb}).Marshal()
		if err != nil {
			return err
		}
		ins, err := t.installationsOfAccounts([]string{to})
		if err != nil {
			return err
		}
		outs, err = t.sendWelcomesV2(ins, [][]byte{body}, "")
		return err
	})
	c.publishIDs(ctx, outs)
	return err
}

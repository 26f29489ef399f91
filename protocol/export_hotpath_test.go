package protocol

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// ForgeNextMessage builds a publish on g's topic claiming to be victim's next group
// message (the iteration victim seals next, under victim's current epoch) with text:
// chain keys and outer layer right (any member can derive them), but signed with
// forger's installation key instead of victim's. It returns the topic and the payload.
func ForgeNextMessage(forger, victim *Client, g GroupID, text string) (string, []byte) {
	ctx := context.Background()
	var topic string
	var ep epoch.Epoch
	var next uint32
	var inst InstallationID
	if err := victim.tx(ctx, func(t *txn) error {
		rec, err := t.GroupState(g)
		if err != nil {
			return err
		}
		s, err := loadSchedule(rec)
		if err != nil {
			return err
		}
		if ep, err = s.Current(); err != nil {
			return err
		}
		topic, inst = rec.Topic, t.c.acct.inst
		ch, err := t.SenderChain(g, ep.ID)
		if err != nil {
			return err
		}
		var sc epoch.SenderChain
		if err := sc.UnmarshalBinary(ch.State); err != nil {
			return err
		}
		next = sc.Iteration()
		return nil
	}); err != nil {
		panic(err)
	}
	forger.mu.Lock()
	key := forger.acct.ident.SigningKey()
	forger.mu.Unlock()
	typ, body, err := Text(text).encode()
	if err != nil {
		panic(err)
	}
	pt, err := (&wire.GroupPlaintextV2{Clock: 1 << 20, Timestamp: uint64(victim.now().UnixMilli()), Type: typ, Body: body}).Marshal()
	if err != nil {
		panic(err)
	}
	sc := epoch.NewSenderChain(&ep, epoch.Installation(inst))
	if err := sc.SkipTo(next); err != nil {
		panic(err)
	}
	msg, err := sc.Seal(key, pt)
	if err != nil {
		panic(err)
	}
	frame, err := (&wire.FrameV2{Message: msg}).Marshal()
	if err != nil {
		panic(err)
	}
	payload, err := epoch.SealOuter(cryptorand.Reader, &ep, topic, frame)
	if err != nil {
		panic(err)
	}
	return topic, payload
}

// CheckHotViews compares c's in-memory views of the message path (hotpath.go: group
// state, epoch chains) with what its store holds; nil when they agree.
func CheckHotViews(c *Client) error {
	var bad error
	_ = c.tx(context.Background(), func(t *txn) error {
		for id, v := range c.hot.groups {
			g, err := t.StoreTx.GroupState(id)
			if err != nil {
				bad = fmt.Errorf("group %s in view but not stored: %v", id, err)
				return nil
			}
			if !reflect.DeepEqual(groupStateView(g), v) {
				bad = fmt.Errorf("group %s: view differs from the store", id)
				return nil
			}
		}
		for k, v := range c.hot.chains {
			var r *storage.EpochChainRecord
			var err error
			if k.sender {
				r, err = t.StoreTx.SenderChain(k.group, k.epoch)
			} else {
				r, err = t.StoreTx.ReceiverChain(k.group, k.epoch, k.inst)
			}
			if err != nil {
				bad = fmt.Errorf("chain %x in view but not stored: %v", k.epoch[:4], err)
				return nil
			}
			if !reflect.DeepEqual(r, v) {
				bad = fmt.Errorf("chain %x: view differs from the store", k.epoch[:4])
				return nil
			}
		}
		for g, eps := range c.hot.recvEpochs {
			stored, err := t.StoreTx.ReceiverChains(g)
			if err != nil {
				bad = err
				return nil
			}
			for _, r := range stored {
				if !slices.Contains(eps, r.Epoch) {
					bad = fmt.Errorf("group %s: a receiving chain of epoch %x stored, known absent", g, r.Epoch[:4])
					return nil
				}
			}
		}
		for k, v := range c.hot.sessions {
			if r, err := t.StoreTx.SessionByBaseKey(k.remote, k.base); err != nil || !reflect.DeepEqual(r, v) {
				bad = fmt.Errorf("session %d: view differs from the store (%v)", v.ID, err)
				return nil
			}
		}
		if c.hot.pendingNone {
			if list, err := t.StoreTx.Pending(1); err != nil || len(list) > 0 {
				bad = fmt.Errorf("no pending envelope in view, %d stored (%v)", len(list), err)
				return nil
			}
		}
		for id, none := range c.hot.expectNone {
			if exp, err := t.StoreTx.Expected(id); none && (err != nil || len(exp) > 0) {
				bad = fmt.Errorf("group %s: no expected entry in view, %d stored (%v)", id, len(exp), err)
				return nil
			}
		}
		for g, eps := range c.senderEpochs {
			stored, err := t.StoreTx.SenderChains(g)
			if err != nil {
				bad = err
				return nil
			}
			for _, r := range stored {
				if !slices.Contains(eps, r.Epoch) {
					bad = fmt.Errorf("group %s: a sending chain of epoch %x stored, not among the epochs that may hold one", g, r.Epoch[:4])
					return nil
				}
			}
		}
		for id, v := range c.hot.insts {
			if v.gen != c.instGen {
				continue
			}
			if in, err := t.StoreTx.Installation(id); err != nil || !reflect.DeepEqual(slimInstallation(in), v.rec) {
				bad = fmt.Errorf("installation %s: view differs from the store (%v)", id, err)
				return nil
			}
		}
		return nil
	})
	return bad
}

// ExpectedCount returns how many causal-history entries c expects in g (read through
// the transaction's view, as checkMissing reads them).
func ExpectedCount(c *Client, g GroupID) int {
	var n int
	if err := c.tx(context.Background(), func(t *txn) error {
		exp, err := t.Expected(g)
		n = len(exp)
		return err
	}); err != nil {
		panic(err)
	}
	return n
}

// HotViewSizes returns how many groups and chains c holds in view.
func HotViewSizes(c *Client) (groups, chains int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.hot.groups), len(c.hot.chains)
}

// DeleteReceiverChainsOf deletes at c the receiver chains of sender's installation in g.
func DeleteReceiverChainsOf(c, sender *Client, g GroupID) error {
	sender.mu.Lock()
	inst := sender.acct.inst
	sender.mu.Unlock()
	return c.tx(context.Background(), func(t *txn) error { return t.DeleteReceiverChains(g, inst) })
}

// SetRevokedForTest stores sender's installation as revoked (revoked) at c, in a
// transaction that then fails if fail is set.
func SetRevokedForTest(c, sender *Client, revoked, fail bool) error {
	sender.mu.Lock()
	inst := sender.acct.inst
	sender.mu.Unlock()
	errFail := errors.New("fail")
	err := c.tx(context.Background(), func(t *txn) error {
		in, err := t.Installation(inst)
		if err != nil {
			return err
		}
		in.Revoked = revoked
		if err := t.PutInstallation(in); err != nil {
			return err
		}
		if fail {
			return errFail
		}
		return nil
	})
	if fail && errors.Is(err, errFail) {
		return nil
	}
	return err
}

// SetFrameScratch sets whether c opens large group frames into a lent scratch (the default)
// or as small ones (framescratch.go).
func SetFrameScratch(c *Client, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noScratch = !on
}

package protocol

import (
	"context"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// SealPingForTest seals a ping from c to every installation of account, committing the
// session state as a send does, and returns the inbox topic and one frame per
// installation. Nothing is published.
func SealPingForTest(c *Client, account string) (topic string, frames [][]byte, err error) {
	err = c.tx(context.Background(), func(t *txn) error {
		ins, err := t.InstallationsOf(account)
		if err != nil {
			return err
		}
		for i := range ins {
			if ins[i].Revoked {
				continue
			}
			tp, f, err := t.sealPairwise(&ins[i], &wire.PairwiseMessage{Type: wire.PairwisePing})
			if err != nil {
				return err
			}
			topic, frames = tp, append(frames, f)
		}
		return nil
	})
	return topic, frames, err
}

// OpenInboxForTest processes an inbound payload as process does, without a replay
// marker, and returns the outcome: nil when a key opened it and it was handled.
func OpenInboxForTest(c *Client, topic string, payload []byte) error {
	return c.txInbound(context.Background(), topic, payload, nil, func(t *txn) error { return t.dispatch(topic, payload) })
}

// IsNoKey reports whether err says that no key of ours opens the input.
func IsNoKey(err error) bool { return err != nil && (err == errNoKey || err == errNoHint) }

// ExpectedHintsForTest returns how many inbox hints c expects, and how many hashes its
// junk filter holds.
func ExpectedHintsForTest(c *Client) (hints, junk int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.junk.mu.Lock()
	defer c.junk.mu.Unlock()
	return c.inbox.count(), len(c.junk.cur) + len(c.junk.old)
}

// SessionSendHintForTest returns the constant send hint of c's active session with the
// (first) installation of account.
func SessionSendHintForTest(c *Client, account string) (hint [16]byte) {
	err := c.tx(context.Background(), func(t *txn) error {
		ins, err := t.InstallationsOf(account)
		if err != nil || len(ins) == 0 {
			return storage.ErrNotFound
		}
		s, err := t.activeSession(ins[0].ID)
		if err != nil || s == nil {
			return storage.ErrNotFound
		}
		hint = s.rec.SendHint
		return nil
	})
	if err != nil {
		panic(err)
	}
	return hint
}

// SetPadHook makes f see every pairwise message c seals: type, plaintext, padded and
// frame sizes.
func SetPadHook(c *Client, f func(typ wire.PairwiseType, plain, padded, frame int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hookPad = f
}

package protocol

import (
	"context"
	"errors"
	"sync"

	"github.com/chorus-im/chorus/protocol/wire"
)

// Floods (spec "Observers", issue 19 item 5): input that fails before any key is found
// — other accounts' frames on our inbox partition, junk anyone publishes on an inbox or
// group topic, frames on topics we do not read — gets no stored state. It is recognised
// without the store where possible (keyless), and remembered in a bounded in-memory
// filter instead of a replay marker, so that a replay (or history fetched again) is
// skipped for the price of a hash.

// errNoKey: no key we hold opens the input (no stored state is kept for it).
var errNoKey = errors.New("protocol: no key opens it")

// JunkFilterSize bounds the in-memory filter of keyless input: two generations of at
// most JunkFilterSize hashes each (≈ 1.3 MB at most).
const JunkFilterSize = 8192

// junkFilter is a bounded set of envelope hashes: when the current generation is full it
// becomes the old one and the oldest generation is dropped.
type junkFilter struct {
	mu       sync.Mutex
	cur, old map[[32]byte]struct{}
	// keys is the number of receive hints and groups when the filter was last cleared:
	// a new session or group can open input that no key opened before.
	keys int
}

func (f *junkFilter) has(h [32]byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, a := f.cur[h]
	_, b := f.old[h]
	return a || b
}

func (f *junkFilter) add(h [32]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == nil {
		f.cur = make(map[[32]byte]struct{}, 256)
	}
	if len(f.cur) >= JunkFilterSize {
		f.old, f.cur = f.cur, make(map[[32]byte]struct{}, 256)
	}
	f.cur[h] = struct{}{}
}

// sync clears the filter when the number of keys changed since it was last cleared.
func (f *junkFilter) sync(keys int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if keys != f.keys {
		f.cur, f.old, f.keys = nil, nil, keys
	}
}

// preopened is a group frame opened by keyless before the transaction.
type preopened struct {
	gc *groupCache
	f  *wire.GroupFrame
}

// keyless reports whether no key we hold can open payload on topic, deciding without
// the store: unknown topics, inbox frames that do not parse or carry an unknown session
// hint, group frames no group key on the topic opens. An opened group frame is returned
// for the transaction. Initial inbox frames need the signed prekeys (the store): they are
// decided in the transaction (errNoKey). Called with c.mu held.
func (c *Client) keyless(topic string, payload []byte) (bool, *preopened) {
	if c.acct == nil {
		return !(c.link != nil && topic == c.link.topic), nil
	}
	gids := c.topics[topic] // group topics first: the inbox topic is derived on each call
	if len(gids) == 0 {
		if topic != c.acct.inboxTopic() && (c.linkTopic == "" || topic != c.linkTopic) {
			return true, nil
		}
		f, err := wire.ParseInboxFrame(payload)
		if err != nil {
			return true, nil
		}
		if f.Kind == wire.KindSession {
			_, ok := c.hints[f.Hint]
			return !ok, nil
		}
		return false, nil
	}
	for _, id := range gids {
		cand := c.groups[id]
		if cand == nil || cand.status != GroupActive {
			continue
		}
		if fr, ok := openFrame(cand, payload); ok {
			return false, &preopened{gc: cand, f: fr}
		}
	}
	return true, nil
}

// txInbound is tx for one inbound envelope: under c.mu it first asks keyless, and
// returns errNoKey without touching the store if no key can open the envelope.
func (c *Client) txInbound(ctx context.Context, topic string, payload []byte, fn func(t *txn) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	var sends []*OutboxRecord
	c.mu.Lock()
	c.junk.sync(len(c.hints) + len(c.groups))
	none, pre := c.keyless(topic, payload)
	var err error
	if none {
		err = errNoKey
	} else {
		err = c.txLocked(ctx, func(t *txn) error {
			t.pre = pre
			t.onCommit(func() { sends = t.sends })
			return fn(t)
		})
	}
	c.mu.Unlock()
	if len(sends) > 0 {
		c.publishIDs(ctx, sends)
	}
	return err
}

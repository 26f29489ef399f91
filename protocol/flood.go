package protocol

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"sync"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/x3dh"
)

// Floods (spec "Observers", issue 19 item 5): input that fails before any key is found
// — other accounts' frames on our inbox partition, junk anyone publishes on an inbox or
// group topic, frames on topics we do not read — gets no stored state. It is recognised
// without the store where possible (keyless), and remembered in a bounded in-memory
// filter instead of a replay marker, so that a replay (or history fetched again) is
// skipped for the price of a hash.

// errNoKey: no key we hold opens the input (no stored state is kept for it).
var errNoKey = errors.New("protocol: no key opens it")

// errNoHint: an inbox session frame whose hint we do not expect. Like errNoKey nothing is
// stored, and it does not enter the junk filter either: the lookup costs no more than the
// filter's, and the expected hints move with every frame received (a frame beyond the
// window now can be expected later, when history brings it again).
var errNoHint = fmt.Errorf("%w: unknown hint", errNoKey)

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

// reset clears the filter (a new epoch can open what no key opened before).
func (f *junkFilter) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur, f.old = nil, nil
}

// sync clears the filter when the number of keys changed since it was last cleared.
func (f *junkFilter) sync(keys int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if keys != f.keys {
		f.cur, f.old, f.keys = nil, nil, keys
	}
}

// preopened is what keyless opened before the transaction: a group frame, or the sealed
// part of an initial inbox frame (with unsealWith's error, if a prekey matched but the
// content is bad).
type preopened struct {
	gc *groupCache
	f  *wire.GroupFrame
	f2 *wire.FrameV2 // a v2 frame, opened under ep
	ep epoch.Epoch
	// inner is f2's message decrypted ahead (ahead.go), or nil.
	inner *epoch.Opened
	// scratch holds f2 (its plaintext, its block's slots once parsed) when it was opened
	// into one (framescratch.go): lent until the transaction is over.
	scratch *frameScratch

	initialDone bool
	initial     *wire.InitialPayload
	initialErr  error
}

// spkCache holds the private keys of our signed prekeys (store order) so that keyless can
// try an initial frame without the store. Every write to signed prekeys drops it
// (txn.PutPrekey, txn.DeletePrekey); it is reloaded on demand. Guarded by c.mu.
type spkCache struct {
	owner *account // the account the keys were loaded for
	keys  []*ecdh.PrivateKey
}

// PutPrekey stores a prekey; a signed one drops the signed-prekey cache.
func (t *txn) PutPrekey(r *storage.PrekeyRecord) error {
	if r.Signed {
		t.c.spks = spkCache{}
	}
	return t.StoreTx.PutPrekey(r)
}

// DeletePrekey deletes a prekey; a signed one drops the signed-prekey cache.
func (t *txn) DeletePrekey(signed bool, id uint32) error {
	if signed {
		t.c.spks = spkCache{}
	}
	return t.StoreTx.DeletePrekey(signed, id)
}

// signedPrekeys returns our signed prekeys' private keys in store order, loading them
// if needed. Called with c.mu held.
func (c *Client) signedPrekeys(ctx context.Context) ([]*ecdh.PrivateKey, error) {
	if c.spks.owner == c.acct && c.spks.owner != nil {
		return c.spks.keys, nil
	}
	var keys []*ecdh.PrivateKey
	err := c.txLocked(ctx, func(t *txn) error {
		recs, err := t.Prekeys(true)
		if err != nil {
			return err
		}
		for _, r := range recs {
			spk := new(x3dh.SignedPrekey)
			if spk.UnmarshalBinary(r.Data) == nil {
				keys = append(keys, spk.PrivateKey())
			}
		}
		return errNoKey // read only: roll back
	})
	if !errors.Is(err, errNoKey) {
		return nil, err
	}
	c.spks = spkCache{owner: c.acct, keys: keys}
	return keys, nil
}

// keyless reports whether no key we hold can open payload on topic, deciding without
// the store (but for loading the signed prekeys once): unknown topics, inbox frames that
// do not parse, carry a hint we do not expect, or are initial frames none of our signed
// prekeys opens, group frames no group key on the topic opens. What it opened is
// returned for the transaction. Called with c.mu held.
func (c *Client) keyless(ctx context.Context, topic string, payload []byte) (bool, *preopened) {
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
			return !c.inbox.has(f.Hint), nil
		}
		keys, err := c.signedPrekeys(ctx)
		if err != nil {
			return false, nil // undecided: the transaction tries the prekeys itself
		}
		for i := len(keys) - 1; i >= 0; i-- {
			p, err := unsealWith(keys[i], f)
			if errors.Is(err, errNotForUs) {
				continue
			}
			return false, &preopened{initialDone: true, initial: p, initialErr: err}
		}
		return true, nil
	}
	var sc *frameScratch // a large frame is opened into a lent scratch (framescratch.go)
	for _, id := range gids {
		cand := c.groups[id]
		if cand == nil || cand.status != GroupActive {
			continue
		}
		if cand.v2 {
			if o, ok := c.hot.takeOpened(cand, topic, payload); ok {
				if sc != nil {
					c.frames.put(sc)
				}
				return false, &preopened{gc: cand, f2: o.f, ep: o.ep, inner: o.inner} // opened ahead (ahead.go)
			}
			if sc == nil && len(payload) > largeFrame && !c.noScratch {
				sc = c.frames.get()
			}
			if fr, ep, ok := openFrameV2Into(cand, payload, sc); ok {
				return false, &preopened{gc: cand, f2: fr, ep: ep, scratch: sc}
			}
			continue
		}
		if fr, ok := openFrame(cand, payload); ok {
			if sc != nil {
				c.frames.put(sc)
			}
			return false, &preopened{gc: cand, f: fr}
		}
	}
	if sc != nil {
		c.frames.put(sc)
	}
	return true, nil
}

// txInbound is tx for one inbound envelope: under c.mu it first asks keyless, and
// returns errNoKey without touching the store if no key can open the envelope. With a, the
// outcome is settled before the locks are released (settleInbound).
func (c *Client) txInbound(ctx context.Context, topic string, payload []byte, a *attempt, fn func(t *txn) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	var sends []*storage.OutboxRecord
	err := c.inboundTurn(ctx, topic, payload, a, fn, &sends) // the locks released before publishing: publishClaimed runs its own transaction
	c.publishQueued(ctx, sends)
	c.afterInternal(ctx, err)
	return err
}

// inboundTurn is txInbound's part under the batch's turn and c.mu, both released by
// deferred calls: a panic past runTx's recover (an after-commit action, settleInbound, the
// junk filter) goes on to the caller with no lock held. The committed transactions' queued
// publishes are added to sends.
func (c *Client) inboundTurn(ctx context.Context, topic string, payload []byte, a *attempt, fn func(t *txn) error, sends *[]*storage.OutboxRecord) error {
	leave := c.enter(ctx)
	defer leave()
	err := c.ready(ctx)
	c.mu.Lock()
	done := false
	defer c.endTurn(&done)
	if err == nil {
		err = c.attemptLocked(ctx, topic, payload, fn, sends)
	}
	if a != nil && err != nil {
		err = c.settleInbound(ctx, topic, payload, a, err, sends)
	}
	done = true
	return err
}

// attemptLocked is one inbound envelope's attempt: keyless, then fn's transaction (c.mu
// held).
func (c *Client) attemptLocked(ctx context.Context, topic string, payload []byte, fn func(t *txn) error, sends *[]*storage.OutboxRecord) error {
	c.junk.sync(len(c.hints) + len(c.groups))
	none, pre, err := c.keylessContained(ctx, topic, payload)
	switch {
	case err != nil:
		// keyless panicked (contain.go): no key tried, nothing to store but the marker
	case none:
		err = errNoKey
		if isSessionFrame(topic, payload, c) {
			err = errNoHint
		}
	default:
		// The committed transaction's queued publishes, read once it returns (no
		// after-commit closure, no variable of this frame moved to the heap for it).
		var t *txn
		if t, err = c.runTx(ctx, func(t *txn) error {
			t.pre = pre
			return fn(t)
		}); err == nil {
			*sends = t.sends
		}
		if pre != nil && pre.scratch != nil {
			c.frames.put(pre.scratch) // the transaction is over: nothing refers to the frame
			pre.scratch = nil
		}
	}
	return err
}

// isSessionFrame reports whether payload on topic is an inbox session frame (kind and
// topic only; the hint is not looked at). Called with c.mu held.
func isSessionFrame(topic string, payload []byte, c *Client) bool {
	if c.acct == nil || len(payload) <= wire.InboxHeaderSize || payload[0] != wire.Version || payload[1] != byte(wire.KindSession) {
		return false
	}
	return topic == c.acct.inboxTopic() || (c.linkTopic != "" && topic == c.linkTopic)
}

// attempt is what an inbound envelope's transaction leaves for its outcome.
type attempt struct {
	hash    [32]byte
	claim   []byte // the claimed sender of an envelope kept pending
	newKeys bool
}

// settleInbound records the outcome of an attempt that ended with err, in the same hold of
// the engine's locks as the attempt (txInbound), and returns what the caller sees: an
// envelope that cannot open yet is stored pending, one no key opens enters the junk filter,
// one that failed after a key opened it gets its replay marker. Nothing that changes keys
// (a key event applied, an epoch made live, a device list stored, and the retry of pending
// envelopes that follows them) can run between the attempt and its outcome: a pending
// envelope stored after that retry read the pending list waited for the next change of
// keys, for good if none came (TestPendingRaceKeys); an envelope added to the junk filter
// after a new epoch cleared it was skipped when history brought it again (TestJunkRaceEpoch).
// Called with c.mu held (and the batch's turn, txInbound); what its transactions queue
// to publish is added to sends.
func (c *Client) settleInbound(ctx context.Context, topic string, payload []byte, a *attempt, err error, sends *[]*storage.OutboxRecord) error {
	if errors.Is(err, errPending) {
		err = c.settleTx(ctx, sends, func(t *txn) error { return t.keepPending(a.hash, topic, payload, a.claim) })
	}
	switch {
	case err == nil, errors.Is(err, errSeen), errors.Is(err, ErrClosed), ctx.Err() != nil:
	case errors.Is(err, errStore):
		// Not the envelope's failure: no marker, and it must come again. In a batch, the
		// batch fails (storeFailed), and with it the Sync or the live burst that fetches
		// it again; alone (a live envelope), its topic is caught up.
		if batchOf(ctx) == nil {
			c.askCatchUpLocked(topic)
			wake(c.subsWake)
		}
	case errors.Is(err, errNoHint):
		// nothing stored, not even in the junk filter (flood.go)
	case errors.Is(err, errNoKey):
		c.junk.add(a.hash) // no stored state for keyless input (flood.go)
	default:
		c.log.Debug("inbound message dropped", "err", err)
		_ = c.settleTx(ctx, sends, func(t *txn) error {
			if err := t.DeletePending(a.hash); err != nil {
				return err
			}
			return t.MarkSeen(a.hash, c.now())
		})
	}
	return err
}

// settleTx runs fn as a transaction of settleInbound (c.mu held) and adds what it queued
// to publish to sends.
func (c *Client) settleTx(ctx context.Context, sends *[]*storage.OutboxRecord, fn func(t *txn) error) error {
	t, err := c.runTx(ctx, fn)
	if err == nil {
		*sends = append(*sends, t.sends...)
	}
	return err
}

// keepPending stores an envelope that cannot open yet, within the bounds on pending
// envelopes (spec: protocol, "Delivery"); one beyond them is not kept, and gets no replay
// marker: a sync may bring it again.
func (t *txn) keepPending(hash [32]byte, topic string, payload []byte, claim []byte) error {
	c := t.c
	u, err := t.PendingUsage(hash, claim)
	if err != nil {
		return err
	}
	size := int64(len(payload))
	if !u.Exists && (u.Count >= MaxPending || u.Bytes+size > MaxPendingBytes || u.ClaimedBytes+size > MaxPendingBytesPerSender) {
		c.log.Debug("pending envelopes full: not kept", "bytes", u.Bytes, "claimed", u.ClaimedBytes)
		return nil
	}
	return t.PutPending(&storage.PendingRecord{Hash: hash, Topic: topic, Payload: payload, ReceivedAt: c.now(), Claim: claim})
}

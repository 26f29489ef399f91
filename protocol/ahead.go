// Work run ahead of Sync's batches (issue 16): the outer layer of every v2 group
// envelope of a batch opened, its message signature checked and the message decrypted on
// other goroutines while the batch before it is processed, so that the sequential
// processing (replay markers, state, rows) does none of it.

package protocol

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
)

// openedAhead is an outer layer opened ahead: payload on topic is frame f of group,
// under epoch ep. hotPath.opened finds it by the payload's nonce (openedKey).
type openedAhead struct {
	payload []byte
	group   GroupID
	topic   string
	f       *wire.FrameV2
	ep      epoch.Epoch
	inner   *epoch.Opened // f's message decrypted (nil: not done ahead)
}

// takeOpened returns the frame opened ahead for payload on topic in gc, if any, and
// forgets it (a frame is handed out once: processing may keep it). It is used only if
// its epoch is still one of gc's live epochs (a key event processed since may have
// retired it); otherwise the caller opens the payload itself, as without it.
func (h *hotPath) takeOpened(gc *groupCache, topic string, payload []byte) (openedAhead, bool) {
	k, ok := openedKey(payload)
	if !ok {
		return openedAhead{}, false
	}
	o, ok := h.opened[k]
	if !ok || o.group != gc.id || o.topic != topic || !bytes.Equal(o.payload, payload) {
		return openedAhead{}, false
	}
	delete(h.opened, k)
	if !slices.Contains(gc.live, o.ep) {
		o.forget()
		return openedAhead{}, false
	}
	h.aheadUsed[0]++
	return o, true
}

// outerNonceSize is the size of the nonce after a group payload's version byte (epoch,
// "outer layer": version ‖ 24-byte XChaCha20 nonce ‖ ciphertext).
const outerNonceSize = chacha20poly1305.NonceSizeX

// openedKey is the key of payload in hotPath.opened: its nonce (a payload too short to
// carry one never opens).
func openedKey(payload []byte) ([outerNonceSize]byte, bool) {
	if len(payload) < 1+outerNonceSize {
		return [outerNonceSize]byte{}, false
	}
	return [outerNonceSize]byte(payload[1 : 1+outerNonceSize]), true
}

type aheadJob struct {
	group   GroupID
	live    *aheadLive
	topic   string
	payload []byte
}

// aheadLive is a group's live epochs and their outer keys, derived once per batch (not
// once per envelope, as epoch.OpenOuter does).
type aheadLive struct {
	epochs []epoch.Epoch
	keys   [][epoch.IDSize]byte
}

type aheadResult struct {
	f        *wire.FrameV2 // nil: not opened under the group's live epochs
	ep       epoch.Epoch
	sig      sigCheck
	verified bool
	inner    *epoch.Opened
	noKey    InstallationID // the signer, whose key was not known (set: noKeyOf)
	noKeyOf  bool
}

// ahead is one batch's work in flight: jobs are taken in order by the workers started
// with it and by whoever settles it (the sequential processing, when it is done with the
// batch before: no core waits while jobs are left).
type ahead struct {
	jobs    []aheadJob
	out     []aheadResult
	keys    map[InstallationID][]byte
	lives   map[GroupID]*aheadLive
	cursors *aheadCursors
	next    atomic.Int64
	wg      sync.WaitGroup
}

// checkAhead starts opening the v2 group envelopes among envs and checking their
// signatures on workers goroutines (none: settleAhead does it all). Which key a message
// needs is guessed from memory (the key last seen for its installation); a wrong guess
// only costs the check again in order. Nothing is remembered that does not verify: a
// message whose check failed is checked again in order, and rejected there alone.
func (c *Client) checkAhead(envs []transport.Envelope, workers int) *ahead {
	a := &ahead{}
	lives := map[GroupID]*aheadLive{}
	c.mu.Lock()
	for _, e := range envs {
		for _, id := range c.topics[e.Topic] {
			gc := c.groups[id]
			if gc == nil || !gc.v2 || gc.status != GroupActive || len(gc.live) == 0 {
				continue
			}
			l := lives[id]
			if l == nil {
				l = &aheadLive{epochs: slices.Clone(gc.live)}
				lives[id] = l
			}
			a.jobs = append(a.jobs, aheadJob{group: id, live: l, topic: e.Topic, payload: e.Payload})
		}
	}
	a.keys = make(map[InstallationID][]byte, len(c.hot.instKeys))
	for inst, sk := range c.hot.instKeys {
		if k, ok := c.hot.keys[sk]; ok {
			a.keys[inst] = k
		}
	}
	if c.hot.cursors == nil {
		c.hot.cursors = &aheadCursors{m: map[chainKey]*aheadCursor{}}
	}
	a.cursors = c.hot.cursors
	a.cursors.snapshot(c.hot.chains)
	c.mu.Unlock()
	for _, l := range lives {
		l.keys = make([][epoch.IDSize]byte, len(l.epochs))
		for i := range l.epochs {
			l.keys[i] = l.epochs[i].OuterKey()
		}
	}
	a.lives = lives
	a.out = make([]aheadResult, len(a.jobs))
	for range min(workers, len(a.jobs)) {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.run()
		}()
	}
	return a
}

// run takes jobs until none is left.
func (a *ahead) run() {
	for {
		i := int(a.next.Add(1)) - 1
		if i >= len(a.jobs) {
			return
		}
		a.do(&a.jobs[i], &a.out[i])
	}
}

// do opens j's payload as epoch.OpenOuter would (the live epochs tried newest first) and
// checks the signature of the message it carries.
func (a *ahead) do(j *aheadJob, r *aheadResult) {
	defer func() {
		// A panic here (network input, on a worker goroutine) leaves the envelope to the
		// sequential processing, where a panic is contained (contain.go).
		if recover() != nil {
			*r = aheadResult{}
		}
	}()
	var frame []byte
	var ep epoch.Epoch
	for i := len(j.live.epochs) - 1; i >= 0 && frame == nil; i-- {
		if f, err := epoch.OpenWithKey(&j.live.keys[i], j.topic, j.payload); err == nil {
			frame, ep = f, j.live.epochs[i]
		}
	}
	if frame == nil {
		return
	}
	f, err := wire.ParseFrameV2(frame)
	if err != nil {
		return
	}
	r.f, r.ep = f, ep
	if f.Message == nil {
		return
	}
	hd, err := epoch.ParseMessageHeader(f.Message)
	if err != nil {
		return
	}
	pub := a.keys[InstallationID(hd.Installation)]
	if pub == nil {
		r.noKey, r.noKeyOf = InstallationID(hd.Installation), true
		return
	}
	d, sig, err := epoch.MessageSignature(ep.ID, f.Message)
	if pub == nil || err != nil || !crypto.VerifySignature(pub, d[:], sig) {
		return
	}
	if r.sig, r.verified = newSigCheck(pub, d[:], sig); r.verified {
		r.inner = a.cursors.open(chainKey{group: j.group, epoch: ep.ID, inst: InstallationID(hd.Installation)}, &ep, hd, f.Message)
	}
}

// wait takes the jobs left and waits for those in flight.
func (a *ahead) wait() {
	a.run()
	a.wg.Wait()
}

// abandon waits for a's work and forgets it.
func (a *ahead) abandon() {
	a.wait()
	a.forget()
}

// forget clears the outer keys a derived.
func (a *ahead) forget() {
	for _, l := range a.lives {
		for i := range l.keys {
			clear(l.keys[i][:])
		}
	}
}

// settleAhead finishes a's work (taking part in it) and hands its results to the
// sequential processing, in place of the batch before's. Messages whose signing key was
// not in memory when the work began (a fresh client's first batches) are checked again,
// on workers goroutines and this one, with the keys learnt since or read now.
func (c *Client) settleAhead(ctx context.Context, a *ahead, workers int) {
	a.wait()
	if redo, at := c.aheadAgain(ctx, a); redo != nil {
		for range min(workers, len(redo.jobs)) {
			redo.wg.Add(1)
			go func() {
				defer redo.wg.Done()
				redo.run()
			}()
		}
		redo.wait()
		for i, r := range redo.out {
			a.out[at[i]] = r
		}
	}
	a.forget()
	verified := make(map[sigCheck]struct{}, len(a.out))
	opened := make(map[[outerNonceSize]byte]openedAhead, len(a.out))
	for i := range a.out {
		r, j := &a.out[i], &a.jobs[i]
		if r.f == nil {
			continue
		}
		if k, ok := openedKey(j.payload); ok {
			if _, dup := opened[k]; !dup { // a nonce used twice: the second is opened in order
				opened[k] = openedAhead{payload: j.payload, group: j.group, topic: j.topic, f: r.f, ep: r.ep, inner: r.inner}
			}
		}
		if r.verified {
			verified[r.sig] = struct{}{}
		}
	}
	c.mu.Lock()
	forgetOpened(c.hot.opened) // the batch before's, not taken
	c.hot.verified, c.hot.opened = verified, opened
	c.mu.Unlock()
}

// forgetOpened clears the chain keys and plaintext of the messages opened ahead in m
// (those not taken: a message taken is no longer in m).
func forgetOpened(m map[[outerNonceSize]byte]openedAhead) {
	for _, o := range m {
		o.forget()
	}
}

// forget clears the chain keys and plaintext of o's message opened ahead, if any.
func (o *openedAhead) forget() {
	if o.inner != nil {
		clear(o.inner.Before[:])
		clear(o.inner.After[:])
		clear(o.inner.Plaintext)
	}
}

// aheadAgain returns the jobs of a whose signing key was missing, with the keys of their
// signers now (learnt by the processing since, or read from the store), and their
// positions in a; nil if there are none or no key is known now.
func (c *Client) aheadAgain(ctx context.Context, a *ahead) (*ahead, []int) {
	var at []int
	for i := range a.out {
		if a.out[i].noKeyOf {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return nil, nil
	}
	keys := map[InstallationID][]byte{}
	err := c.tx(ctx, func(t *txn) error {
		for _, i := range at {
			inst := a.out[i].noKey
			if _, ok := keys[inst]; ok {
				continue
			}
			keys[inst] = nil
			in, err := t.installationView(inst)
			if err != nil {
				continue // not met yet: checked in order (pending)
			}
			if k, err := t.c.hot.signingKey(in); err == nil {
				keys[inst] = k
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil
	}
	redo := &ahead{keys: keys, lives: a.lives, cursors: a.cursors}
	var kept []int
	for _, i := range at {
		if keys[a.out[i].noKey] != nil {
			redo.jobs = append(redo.jobs, a.jobs[i])
			kept = append(kept, i)
		}
	}
	if len(redo.jobs) == 0 {
		return nil, nil
	}
	redo.out = make([]aheadResult, len(redo.jobs))
	return redo, kept
}

// aheadMaxStep bounds the chain steps the work ahead takes for one message (beyond, the
// message is decrypted in order, as without it).
const aheadMaxStep = 2 * SyncBatch

// aheadCursors are the work ahead's positions in the receiver chains it met during one
// Sync (hotPath.cursors, dropped by endVerify): a message's key is a pure function of the
// chain key of any iteration before it, so each chain is stepped once, in whatever order
// its messages are taken, and a message decrypted in parallel with other senders'. The
// sequential processing applies a result only where it fits its own chain
// (epoch.OpenTrackedAhead): a wrong position costs the work again, never a wrong state.
type aheadCursors struct {
	mu        sync.Mutex
	m         map[chainKey]*aheadCursor
	committed map[chainKey][]byte // receiver chains in view when the batch's work began
}

// aheadCursor is a chain's position: the chain key of iteration next, and those of
// iterations stepped over and not used yet.
type aheadCursor struct {
	mu    sync.Mutex
	chain [epoch.IDSize]byte
	next  uint32
	keys  map[uint32][epoch.IDSize]byte
}

// snapshot records the committed receiver chains in view (called with Client.mu held).
func (cs *aheadCursors) snapshot(chains map[chainKey]*storage.EpochChainRecord) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.committed = make(map[chainKey][]byte, len(chains))
	for k, r := range chains {
		if !k.sender {
			cs.committed[k] = slices.Clone(r.State)
		}
	}
}

// forget clears the chain keys of the cursors and the chain states copied for them (the
// Sync is over): a cursor behind its chain, or a stepped-over iteration's chain key,
// derives the keys of messages already read.
func (cs *aheadCursors) forget() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, cur := range cs.m {
		cur.mu.Lock()
		clear(cur.chain[:])
		for i := range cur.keys {
			cur.keys[i] = [epoch.IDSize]byte{}
		}
		clear(cur.keys)
		cur.mu.Unlock()
	}
	for _, st := range cs.committed {
		clear(st)
	}
}

// cursor returns k's cursor, starting one from the committed chain, or from the epoch
// (iteration 0) if the chain is not in view.
func (cs *aheadCursors) cursor(k chainKey, ep *epoch.Epoch) *aheadCursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cur := cs.m[k]; cur != nil {
		return cur
	}
	rc := epoch.NewReceiverChain(ep, epoch.Installation(k.inst))
	if st, ok := cs.committed[k]; ok {
		if err := rc.UnmarshalBinary(st); err != nil {
			return nil
		}
	}
	cur := &aheadCursor{keys: map[uint32][epoch.IDSize]byte{}}
	cur.chain, cur.next = rc.Cursor()
	cs.m[k] = cur
	return cur
}

// open decrypts msg (of chain k at hd.Iteration) ahead, or returns nil.
func (cs *aheadCursors) open(k chainKey, ep *epoch.Epoch, hd epoch.MessageHeader, msg []byte) *epoch.Opened {
	cur := cs.cursor(k, ep)
	if cur == nil {
		return nil
	}
	i := hd.Iteration
	cur.mu.Lock()
	if before, ok := cur.keys[i]; ok { // stepped over: open it outside the lock
		delete(cur.keys, i)
		cur.mu.Unlock()
		o, err := epoch.OpenAhead(ep.ID, i, &before, msg)
		if err != nil {
			cur.mu.Lock()
			cur.keys[i] = before // not this iteration's message (forged): its own may come
			cur.mu.Unlock()
			return nil
		}
		return o
	}
	defer cur.mu.Unlock()
	if i < cur.next || i-cur.next > aheadMaxStep {
		return nil
	}
	if len(cur.keys) > 4*aheadMaxStep {
		clear(cur.keys) // iterations never seen: forgotten
	}
	for ; cur.next < i; cur.next++ {
		cur.keys[cur.next] = cur.chain
		_, cur.chain = epoch.ChainStep(&cur.chain)
	}
	o, err := epoch.OpenAhead(ep.ID, i, &cur.chain, msg)
	if err != nil {
		return nil // the cursor stays at i: its own message may come
	}
	cur.chain, cur.next = o.After, i+1 // the chain step OpenAhead took
	return o
}

// openedInner returns msg (the message of the frame being processed) as decrypted ahead,
// or nil.
func (t *txn) openedInner(msg []byte) *epoch.Opened {
	if t.pre == nil || t.pre.inner == nil || t.pre.f2 == nil || !bytes.Equal(t.pre.f2.Message, msg) {
		return nil
	}
	t.c.hot.aheadUsed[1]++
	return t.pre.inner
}

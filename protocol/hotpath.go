// The ordinary group-message path's in-memory state (issue 16): what a received message
// would otherwise read from the store or recompute, kept only for what is committed.

package protocol

import (
	"bytes"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
)

// recentMax bounds the short causal-history entries the hot path remembers (16 bytes
// each plus their index): a sender's last HistoryLength messages stay in it while fewer
// than recentMax / HistoryLength installations speak in between.
const recentMax = 2048

// keyCacheMax bounds the decompressed signing keys kept (per installation met).
const keyCacheMax = 4096

// hotPath is guarded by Client.mu. Everything in it follows committed transactions only
// (onCommit), and Client.reload drops it with the other caches.
type hotPath struct {
	// recent indexes the short entries of the last recentMax group messages we stored
	// (received, across groups: a message id binds its group): a v2 message's history
	// naming one of them needs no store lookup (expectShortHistory).
	recent    map[[wire.ShortEntrySize]byte]int // entry -> its latest position in ring
	ring      [][wire.ShortEntrySize]byte
	ringPos   int
	keys      map[[33]byte][]byte // compressed signing key -> uncompressed (a pure function)
	instKeys  map[InstallationID][33]byte
	verified  map[sigCheck]struct{}                // signatures checked ahead of a batch (ahead.go)
	opened    map[[outerNonceSize]byte]openedAhead // outer layers opened ahead of a batch
	cursors   *aheadCursors                        // receiver chains as the work ahead stepped them (one Sync)
	aheadUsed [2]uint64                            // frames, messages the processing took from the work ahead
	verifying bool
	// groups is the committed GroupState view of groups (write-through, see GroupState).
	groups map[GroupID]*storage.GroupRecord
	// chains is the committed view of recently used epoch chains (see SenderChain).
	chains map[chainKey]*storage.EpochChainRecord
	// recvEpochs: per group, a superset of the epochs of its stored receiving chains
	// (epochs_chains.go).
	recvEpochs map[GroupID][][32]byte
	// sessions is the committed view of sessions looked up by base key (hotpath_sessions.go).
	sessions map[sessKey]*storage.SessionRecord
	// sendEpochs: per group, the epoch sends seal under (prepareV2).
	sendEpochs map[GroupID]sendEpoch
	// logs marks the groups whose stored event log is known (membership_log.go).
	logs map[GroupID]logMark
	// events: per group, the id index of its applied events (event_memo.go).
	events map[GroupID]*eventMemo
	// pendingNone: the store holds no pending envelope (a committed read found none and
	// none was put since), so a processed envelope has no pending record to delete.
	// pendingPuts counts PutPending calls (committed or not).
	pendingNone bool
	pendingPuts uint64
	// learned: a Sync read the flags above for the groups it fetched (learnEmpty).
	learned bool
	// expectNone: groups the store holds no expected entry of (a committed read found
	// none and none was put since), so a received message has none to clear.
	// expectPuts counts PutExpected calls (committed or not).
	expectNone map[GroupID]bool
	expectPuts uint64
	// insts is the committed view of installation records read by the message path
	// (installationView), each valid while Client.instGen is its gen.
	insts map[InstallationID]instView
	// inbox is inboxFor's inbox topic (an HKDF of the account key, derived once instead
	// of for every envelope dispatched).
	inbox    string
	inboxFor *account
}

// inboxTopic returns a's inbox topic.
func (h *hotPath) inboxTopic(a *account) string {
	if h.inboxFor != a {
		h.inbox, h.inboxFor = a.inboxTopic(), a
	}
	return h.inbox
}

// sigCheck names one signature check: key, digest and signature.
type sigCheck struct {
	pub    [65]byte
	digest [32]byte
	sig    [64]byte
}

func newSigCheck(pub, digest, sig []byte) (sigCheck, bool) {
	var k sigCheck
	if len(pub) != len(k.pub) || len(digest) != len(k.digest) || len(sig) != len(k.sig) {
		return k, false
	}
	copy(k.pub[:], pub)
	copy(k.digest[:], digest)
	copy(k.sig[:], sig)
	return k, true
}

// addRecent records the short entry of a stored message.
func (h *hotPath) addRecent(e [wire.ShortEntrySize]byte) {
	if h.recent == nil {
		h.recent = map[[wire.ShortEntrySize]byte]int{}
	}
	if len(h.ring) < recentMax {
		h.recent[e] = len(h.ring)
		h.ring = append(h.ring, e)
		return
	}
	old := h.ring[h.ringPos]
	if h.recent[old] == h.ringPos {
		delete(h.recent, old)
	}
	h.ring[h.ringPos] = e
	h.recent[e] = h.ringPos
	h.ringPos = (h.ringPos + 1) % recentMax
}

// hasRecent reports whether e names a message stored recently.
func (h *hotPath) hasRecent(e [wire.ShortEntrySize]byte) bool {
	_, ok := h.recent[e]
	return ok
}

// signingKey returns in's signing key uncompressed (cached: decompression is a square
// root on the curve) and remembers it as in's for verifyAhead.
func (h *hotPath) signingKey(in *storage.InstallationRecord) ([]byte, error) {
	if k, ok := h.keys[in.Signing]; ok {
		h.rememberInst(in)
		return k, nil
	}
	k, err := signingKey65(in)
	if err != nil {
		return nil, err
	}
	if h.keys == nil || len(h.keys) >= keyCacheMax {
		h.keys = map[[33]byte][]byte{}
	}
	h.keys[in.Signing] = k
	h.rememberInst(in)
	return k, nil
}

func (h *hotPath) rememberInst(in *storage.InstallationRecord) {
	if k, ok := h.instKeys[in.ID]; ok && k == in.Signing {
		return
	}
	if h.instKeys == nil || len(h.instKeys) >= keyCacheMax {
		h.instKeys = map[InstallationID][33]byte{}
	}
	h.instKeys[in.ID] = in.Signing
}

// verify is the epoch.Verifier of received v2 messages: a signature checked ahead (ahead.go)
// (under the same key, over the same digest) is valid; anything else is checked here.
func (h *hotPath) verify(pub, digest, sig []byte) bool {
	if h.verified != nil {
		if k, ok := newSigCheck(pub, digest, sig); ok {
			if _, ok := h.verified[k]; ok {
				return true
			}
		}
	}
	return crypto.VerifySignature(pub, digest, sig)
}

// beginVerify claims the set of signatures verified ahead (one Sync at a time: false if
// another holds it); endVerify drops the set.
func (c *Client) beginVerify() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hot.verifying {
		return false
	}
	c.hot.verifying = true
	return true
}

func (c *Client) endVerify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	forgetOpened(c.hot.opened)
	if c.hot.cursors != nil {
		c.hot.cursors.forget()
	}
	c.hot.verified, c.hot.opened, c.hot.cursors, c.hot.verifying = nil, nil, nil, false
}

// Group state, write-through (hotPath.groups): the GroupState view (no image, no event
// log) of groups as committed, so that a message does not read its group's row back.
// Within a transaction, its own writes (txn.gs) come first; the shared map takes them at
// commit. A write the view cannot follow (PutGroupState of a group not in view: the
// columns it leaves alone are unknown) drops the group from it.

// groupStateView returns a copy of g as GroupState returns it: no image, no event log,
// times as the store keeps them (nanoseconds, UTC). The schedule and the bookkeeping
// (tens of KiB in a large group, read and written on every key event) are shared, not
// copied: those two byte slices are only ever replaced in a record, never written in
// place (storeSchedule, epochMeta.store; the memos of epochs_hints.go rely on it too),
// and CheckHotViews compares every view with the store after the tests that use it.
func groupStateView(g *storage.GroupRecord) *storage.GroupRecord {
	v := *g
	v.Image, v.Events = nil, nil
	v.Sender, v.History, v.Repeat = slices.Clone(g.Sender), slices.Clone(g.History), slices.Clone(g.Repeat)
	v.JoinedAt, v.UpdatedAt = storedTime(g.JoinedAt), storedTime(g.UpdatedAt)
	return &v
}

func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.Unix(0, t.UnixNano()).UTC()
}

// knownGroup returns the group state as of this transaction if in view (not a copy).
func (t *txn) knownGroup(id GroupID) (*storage.GroupRecord, bool) {
	if g, ok := t.gs[id]; ok {
		return g, g != nil
	}
	g := t.c.hot.groups[id]
	return g, g != nil
}

// setGroupView records v as id's state for the rest of the transaction and, at commit,
// for the client (nil: not in view).
func (t *txn) setGroupView(id GroupID, v *storage.GroupRecord) {
	if t.gs == nil {
		t.gs = t.c.spare.takeGS()
	}
	t.gs[id] = v
	c := t.c
	t.onCommit(func() {
		if v == nil {
			delete(c.hot.groups, id)
			return
		}
		if c.hot.groups == nil {
			c.hot.groups = map[GroupID]*storage.GroupRecord{}
		}
		c.hot.groups[id] = v
	})
}

// GroupState is StoreTx.GroupState through the view.
func (t *txn) GroupState(id GroupID) (*storage.GroupRecord, error) {
	if g, ok := t.knownGroup(id); ok {
		return groupStateView(g), nil
	}
	if err := t.flushKeysOf(id); err != nil {
		return nil, err
	}
	g, err := t.StoreTx.GroupState(id)
	if err != nil {
		return nil, err
	}
	t.setGroupView(id, groupStateView(g)) // what the store holds as of this transaction
	return g, nil
}

// PutGroupState is StoreTx.PutGroupState of what changed, followed by the view: the
// group's row if one of its per-message fields changed, its keys (Schedule, EpochMeta:
// StoreTx.PutGroupKeys, before the commit: putKeysLater) if they did — an ordinary
// message leaves the keys, which grow with the group, unwritten. A group not in view is
// written whole (both).
func (t *txn) PutGroupState(g *storage.GroupRecord) error {
	base, ok := t.knownGroup(g.ID)
	switch {
	case ok && sameGroupState(base, g):
	case ok && sameButClock(base, g):
		// An ordinary message: only its clock, history and time to write.
		if err := t.StoreTx.PutGroupClock(g.ID, g.Clock, g.History, g.UpdatedAt); err != nil {
			return err
		}
	default:
		if err := t.StoreTx.PutGroupState(g); err != nil {
			return err
		}
	}
	if !ok || !sameKeys(base, g) {
		t.putKeysLater(g.ID, g.Schedule, g.EpochMeta)
	}
	if !ok {
		t.setGroupView(g.ID, nil)
		return nil
	}
	// The columns PutGroupState writes, copied from g; the others stay as they were (a
	// view is never modified: v shares them with base).
	v := *base
	v.Sender, v.History, v.Repeat = slices.Clone(g.Sender), slices.Clone(g.History), slices.Clone(g.Repeat)
	v.Schedule, v.EpochMeta = g.Schedule, g.EpochMeta // shared: replaced, never written (groupStateView)
	v.Rotate, v.Distribute, v.Clock, v.UpdatedAt = g.Rotate, g.Distribute, g.Clock, storedTime(g.UpdatedAt)
	v.RepeatLeft, v.SenderLease = g.RepeatLeft, g.SenderLease
	t.setGroupView(g.ID, &v)
	return nil
}

// PutGroup is StoreTx.PutGroup, followed by the view (the log written is not known to
// be any state's: see storeLog).
func (t *txn) PutGroup(g *storage.GroupRecord) error {
	if err := t.StoreTx.PutGroup(g); err != nil {
		return err
	}
	delete(t.keys, g.ID) // written with the group
	t.setGroupView(g.ID, groupStateView(g))
	t.setLogMark(g.ID, nil)
	return nil
}

// PutGroupExceptLog is StoreTx.PutGroupExceptLog, with the keys (putKeysLater) if they
// changed (or the group is not in view), followed by the view.
func (t *txn) PutGroupExceptLog(g *storage.GroupRecord) error {
	if err := t.StoreTx.PutGroupExceptLog(g); err != nil {
		return err
	}
	if base, ok := t.knownGroup(g.ID); !ok || !sameKeys(base, g) {
		t.putKeysLater(g.ID, g.Schedule, g.EpochMeta)
	}
	t.setGroupView(g.ID, groupStateView(g))
	return nil
}

// Epoch chains, write-through (hotPath.chains): our sending chains and the receiver
// chains of the installations that spoke last, as committed, so that a message reads
// neither back. Within a transaction its own writes come first (txn.chains); a
// DeleteEpochChains or DeleteReceiverChains drops the group from view (txn.chainsDropped,
// then at commit).

// chainsMax bounds the chains in view (each a chain's encoding; a receiver chain's
// skipped keys are not in it but in the store's epoch_skipped, read when used); beyond it
// one is evicted at random.
const chainsMax = 64

// chainKey names a chain: Sender set for our own (Installation unset).
type chainKey struct {
	group  GroupID
	epoch  [32]byte
	inst   InstallationID
	sender bool
}

func copyChain(r *storage.EpochChainRecord) *storage.EpochChainRecord {
	c := *r
	c.State = slices.Clone(r.State)
	return &c
}

func (t *txn) knownChain(k chainKey) (*storage.EpochChainRecord, bool) {
	if r, ok := t.chains[k]; ok {
		return r, r != nil
	}
	if t.chainsDropped[k.group] {
		return nil, false
	}
	r := t.c.hot.chains[k]
	return r, r != nil
}

func (t *txn) setChain(k chainKey, r *storage.EpochChainRecord) {
	if t.chains == nil {
		t.chains = t.c.spare.takeChains()
	}
	t.chains[k] = r
	c := t.c
	t.onCommit(func() {
		if c.hot.chains == nil {
			c.hot.chains = map[chainKey]*storage.EpochChainRecord{}
		}
		if _, ok := c.hot.chains[k]; !ok && len(c.hot.chains) >= chainsMax {
			for old := range c.hot.chains {
				delete(c.hot.chains, old)
				break
			}
		}
		c.hot.chains[k] = r
	})
}

func (t *txn) chainRead(k chainKey, load func() (*storage.EpochChainRecord, error)) (*storage.EpochChainRecord, error) {
	if r, ok := t.knownChain(k); ok {
		return copyChain(r), nil
	}
	r, err := load()
	if err != nil {
		return nil, err
	}
	t.setChain(k, copyChain(r))
	return r, nil
}

// SenderChain is StoreTx.SenderChain through the view.
func (t *txn) SenderChain(group GroupID, eid [32]byte) (*storage.EpochChainRecord, error) {
	return t.chainRead(chainKey{group: group, epoch: eid, sender: true}, func() (*storage.EpochChainRecord, error) {
		return t.StoreTx.SenderChain(group, eid)
	})
}

// senderChainShared is SenderChain without its copy: the record returned is the view's
// own and must not be modified (sealMessageV2 reads it and writes a new one).
func (t *txn) senderChainShared(group GroupID, eid [32]byte) (*storage.EpochChainRecord, error) {
	k := chainKey{group: group, epoch: eid, sender: true}
	if r, ok := t.knownChain(k); ok {
		return r, nil
	}
	r, err := t.StoreTx.SenderChain(group, eid)
	if err != nil {
		return nil, err
	}
	t.setChain(k, r)
	return r, nil
}

// ReceiverChain is StoreTx.ReceiverChain through the view.
func (t *txn) ReceiverChain(group GroupID, eid [32]byte, inst InstallationID) (*storage.EpochChainRecord, error) {
	return t.chainRead(chainKey{group: group, epoch: eid, inst: inst}, func() (*storage.EpochChainRecord, error) {
		if t.recvAbsent(group, eid) {
			return nil, storage.ErrNotFound
		}
		return t.StoreTx.ReceiverChain(group, eid, inst)
	})
}

// receiverChainShared is ReceiverChain without its copy: the record returned is the view's
// own and must not be modified (the receive path reads it and stores a new one,
// putReceiverChainOwned).
func (t *txn) receiverChainShared(group GroupID, eid [32]byte, inst InstallationID) (*storage.EpochChainRecord, error) {
	k := chainKey{group: group, epoch: eid, inst: inst}
	if r, ok := t.knownChain(k); ok {
		return r, nil
	}
	if t.recvAbsent(group, eid) {
		return nil, storage.ErrNotFound // no SELECT (epochs_chains.go)
	}
	r, err := t.StoreTx.ReceiverChain(group, eid, inst)
	if err != nil {
		return nil, err
	}
	t.setChain(k, r)
	return r, nil
}

// PutSenderChain is StoreTx.PutSenderChain, followed by the view.
func (t *txn) PutSenderChain(r *storage.EpochChainRecord) error {
	if err := t.StoreTx.PutSenderChain(r); err != nil {
		return err
	}
	t.noteSenderChain(r.Group, r.Epoch)
	v := copyChain(r)
	v.Installation = InstallationID{} // as the store returns it
	t.setChain(chainKey{group: r.Group, epoch: r.Epoch, sender: true}, v)
	return nil
}

// putSenderChainOwned is PutSenderChain of a record its caller hands over: the view keeps
// r itself, not a copy (nobody modifies it after).
func (t *txn) putSenderChainOwned(r *storage.EpochChainRecord) error {
	if err := t.StoreTx.PutSenderChain(r); err != nil {
		return err
	}
	t.noteSenderChain(r.Group, r.Epoch)
	r.Installation = InstallationID{} // as the store returns it
	t.setChain(chainKey{group: r.Group, epoch: r.Epoch, sender: true}, r)
	return nil
}

// PutReceiverChain is StoreTx.PutReceiverChain, followed by the view.
func (t *txn) PutReceiverChain(r *storage.EpochChainRecord) error {
	if err := t.StoreTx.PutReceiverChain(r); err != nil {
		return err
	}
	t.noteRecvEpoch(r.Group, r.Epoch)
	v := copyChain(r)
	v.Lease = 0 // as the store returns it
	t.setChain(chainKey{group: r.Group, epoch: r.Epoch, inst: r.Installation}, v)
	return nil
}

// putReceiverChainOwned is PutReceiverChain of a record its caller hands over: the view
// keeps r itself, not a copy (nobody modifies it after).
func (t *txn) putReceiverChainOwned(r *storage.EpochChainRecord) error {
	if err := t.StoreTx.PutReceiverChain(r); err != nil {
		return err
	}
	t.noteRecvEpoch(r.Group, r.Epoch)
	r.Lease = 0 // as the store returns it
	t.setChain(chainKey{group: r.Group, epoch: r.Epoch, inst: r.Installation}, r)
	return nil
}

// DeleteEpochChains is StoreTx.DeleteEpochChains; the group leaves the view.
func (t *txn) DeleteEpochChains(group GroupID, keep [][32]byte) error {
	if err := t.StoreTx.DeleteEpochChains(group, keep); err != nil {
		return err
	}
	t.dropChains(group)
	t.retireRecvEpochs(group, keep)
	return nil
}

// DeleteReceiverChains is StoreTx.DeleteReceiverChains; the group leaves the view.
func (t *txn) DeleteReceiverChains(group GroupID, inst InstallationID) error {
	if err := t.StoreTx.DeleteReceiverChains(group, inst); err != nil {
		return err
	}
	t.dropChains(group)
	return nil
}

// dropChains takes group's chains out of the view (for the rest of the transaction, and
// from the client's at commit).
func (t *txn) dropChains(group GroupID) {
	if t.chainsDropped == nil {
		t.chainsDropped = map[GroupID]bool{}
	}
	t.chainsDropped[group] = true
	for k := range t.chains {
		if k.group == group {
			delete(t.chains, k)
		}
	}
	c := t.c
	t.onCommit(func() {
		for k := range c.hot.chains {
			if k.group == group {
				delete(c.hot.chains, k)
			}
		}
	})
}

// sendEpoch is the epoch a send seals under, as last computed from the group's stored
// schedule and bookkeeping (key: their bytes; a pure function of them). It holds the
// record's slices, not a copy (issue 16: a copy of both was ≈ 30 KiB per speaking client
// in a group of 1000, beside the group view's same bytes): a record's schedule and
// bookkeeping are only ever replaced, never written in place (groupStateView).
type sendEpoch struct {
	schedule, meta []byte
	ep             epoch.Epoch
	outer          *epoch.OuterSealer // ep's, set up by the first send under it (or nil)
}

// outerSealer returns the sealer of ep's outer key if ep is g's send epoch (made once per
// send epoch: the outer key's derivation and cipher set-up are not repeated per send), or
// nil. A pure function of ep's secret, so it is kept whatever becomes of the transaction.
func (h *hotPath) outerSealer(g GroupID, ep *epoch.Epoch) *epoch.OuterSealer {
	se, ok := h.sendEpochs[g]
	if !ok || se.ep.ID != ep.ID || se.ep.Secret != ep.Secret {
		return nil
	}
	if se.outer == nil {
		s, err := epoch.NewOuterSealer(ep)
		if err != nil {
			return nil
		}
		se.outer = s
		h.sendEpochs[g] = se
	}
	return se.outer
}

func (h *hotPath) sendEpoch(g GroupID, schedule, meta []byte) (sendEpoch, bool) {
	se, ok := h.sendEpochs[g]
	if !ok || !bytes.Equal(se.schedule, schedule) || !bytes.Equal(se.meta, meta) {
		return sendEpoch{}, false
	}
	return se, true
}

func (h *hotPath) setSendEpoch(g GroupID, schedule, meta []byte, ep epoch.Epoch) {
	if h.sendEpochs == nil {
		h.sendEpochs = map[GroupID]sendEpoch{}
	}
	h.sendEpochs[g] = sendEpoch{schedule: schedule, meta: meta, ep: ep}
}

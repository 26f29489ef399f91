// Package protocol is the Chorus engine and its Go API: accounts and installations,
// contacts, pairwise X3DH + Double Ratchet sessions, groups with Sender Keys and
// Status-format membership events, delivery tracking and history catch-up.
//
// A Client runs on a store (storage.Store; persistence.Store implements it on sqlite) and
// a Transport (transport/memory or transport/waku). Every state change happens in one
// store transaction; outbound messages are stored, with their advanced key state, before
// they are published, so no key or nonce is ever used twice, even across a crash. Inbound
// messages are authenticated on copies of the state and committed together with the
// replay marker and the plaintext.
//
// The wire formats are specified in spec/README.md, section "protocol".
//
// # Reading this index
//
// This index is the application's API: [New] and the [Client] methods, its options
// ([Option]), the events ([Event] and the types it lists), the content and id types
// ([Content], [Message], [GroupID], [MessageID], [InstallationID], [Contact],
// [GroupInfo], [Installation]), the limits and the errors. The storage contract is in
// package [storage]: Store, StoreTx and the interfaces it is made of (AccountStore …
// InboundStore), and the records they hold (AccountRecord … ExpectedRecord). Only a store
// implements it (persistence does, on sqlite); an application opens a store, passes it to
// New and never touches the records. The id and status types are defined there too
// (storage is below protocol and cannot import it); GroupID, MessageID, InstallationID,
// DeliveryStatus, GroupStatus and MessageFilter here are the same types.
package protocol

import (
	"context"
	"crypto/rand"
	"errors"
	"github.com/chorus-im/chorus/membership"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
)

// Transport is what the engine needs from the network. transport/memory.Node and
// transport/waku.Node implement it.
type Transport interface {
	// Publish sends payload on the content topic and returns the message hash.
	Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error)
	// Subscribe delivers messages on topics until ctx ends (the channel is then closed).
	Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error)
	// History returns stored messages on topics with since <= timestamp <= until.
	History(ctx context.Context, topics []string, since, until time.Time) ([]transport.Envelope, error)
}

// Errors returned by the Client.
var (
	ErrNoAccount      = errors.New("protocol: no account (CreateAccount or ImportAccount first)")
	ErrAccountExists  = errors.New("protocol: the store already holds an account")
	ErrClosed         = errors.New("protocol: client closed")
	ErrUnknownGroup   = errors.New("protocol: unknown group")
	ErrNotMember      = errors.New("protocol: not a member of the group")
	ErrNotAdmin       = errors.New("protocol: not allowed by the group's rules (admin only)")
	ErrUnknownContact = errors.New("protocol: unknown contact (AddContact or FetchContact first)")
	ErrBadContactCode = errors.New("protocol: invalid contact code")
	ErrRunning        = errors.New("protocol: Run is already running")
	ErrInvalidContent = errors.New("protocol: invalid message content")
	// ErrInternal: the call's transaction hit a bug in the engine (a panic, recovered and
	// logged with its stack at Error level): nothing of it was stored.
	ErrInternal = errors.New("protocol: internal error (recovered panic; see the log)")
	// ErrUnsupportedGroup is returned for an operation of key schedule v2 on a group of
	// the v1 schedule.
	ErrUnsupportedGroup = errors.New("protocol: not available for a group of the v1 key schedule")
	// ErrLegacySchedule is returned by New for WithEpochs(false): new groups are always of
	// key schedule v2.
	ErrLegacySchedule = errors.New("protocol: key schedule v1 is kept for stored groups only; new groups are v2 (WithEpochs(false) is refused)")
)

// Client is one installation of one account. Its methods are safe for concurrent use.
type Client struct {
	store storage.Store
	tr    Transport
	log   *slog.Logger
	rand  io.Reader
	now   func() time.Time
	opt   options

	// mu serialises every state change (each is one store transaction) and guards the
	// caches below.
	mu   sync.Mutex
	acct *account
	// joins counts each topic's Welcome joins (markJoinSync), for a running Sync (movedBack).
	joins map[string]uint64
	// batchMu is held by an open batch (batch.go) for its whole length, and taken before
	// mu by every transaction outside it.
	batchMu sync.Mutex
	// unlockBatch is batchMu.Unlock, bound once (under batchMu) for enter to return.
	unlockBatch func()
	// stale: the caches may disagree with the store (a reload that failed, a panic past
	// runTx's recover); the next transaction rebuilds them first (reload.go).
	stale atomic.Bool
	// healScan: the caches were built (a start, a reload); healDue looks at every
	// active group once, the overdue heals noted in memory being lost (epochs_heal.go).
	healScan atomic.Bool
	// healRetry: the groups whose last heal by healDue failed, and when it is tried
	// again (under mu; kept across reloads, which rebuild the group caches).
	healRetry map[GroupID]healBackoff
	// parents: the missing parents of pending membership events already fetched for, and
	// when the last such fetch was asked (missing_parents.go; under mu).
	parents missingParents
	// notDurable: a commit's sync failed (storage.ErrNotDurable) and no transaction has
	// committed since (the store syncs before the next one begins): nothing is published
	// meanwhile, the outbox records wait for the retry loop (publishClaimed, publishSole).
	notDurable atomic.Bool
	hints      map[[16]byte]int64 // constant receive hint -> session id (rotation slots)
	// inbox holds the expected hints of inbox session frames (hintchain.go).
	inbox       inboxHints
	groups      map[GroupID]*groupCache
	topics      map[string][]GroupID // group topic -> groups on it
	dueAt       time.Time            // earliest time an outbox record may be due (zero: none)
	spreadUntil map[string]time.Time // topic -> latest not-before of a delayed record (spread.go)
	// nextAnnounce is when our next scheduled announcement is due (zero: none; announce.go).
	nextAnnounce time.Time

	// Multi-device (devices.go, link.go): link is set while we wait to be linked
	// (LinkCode, no account yet); linkTopic/linkUntil while link traffic may still arrive.
	link      *pendingLink
	linkTopic string
	linkUntil time.Time

	decoyFallback []byte // decoy seed while there is no installation key (queryset.go)

	events   *bus
	subsWake chan struct{}   // the set of topics changed
	catchUp  map[string]bool // topics to sync at once (catchUpFromWelcome), under mu
	outWake  chan struct{}   // new outbox records
	runMu    sync.Mutex
	running  bool
	runDone  chan struct{} // closed when the current Run returns
	closed   chan struct{}
	closeOne sync.Once

	inflightMu sync.Mutex
	inflight   map[int64]struct{} // outbox records being published

	rl transport.RateLimiter // the transport's rate limit (quota.go); nil: none
	q  quotaQueue            // outbox records waiting for quota (quota.go)

	junk junkFilter // keyless inbound input seen recently (flood.go)
	// taken counts inbound envelopes processed and stored as new (process): how a Sync
	// tells a truncated answer that brought something from one that did not.
	taken atomic.Uint64
	spks  spkCache // our signed prekeys' private keys, guarded by mu (flood.go)

	// hashers lend BLAKE3 hashers to the replay markers of large envelopes (delivery.go).
	hashers hasherPool
	// frames lend buffers to the receive of large group frames (framescratch.go).
	frames framePool

	// test hooks (export_test.go)
	hookStored   func() error // after an outbound message is stored, before it is published
	frameLimit   int          // MaxFrame; smaller in tests to exercise split rotation blocks
	welcomeLimit int          // welcomeBudget; smaller in tests to exercise split Welcomes
	slotTries    int          // rotation-block slots we tried to decrypt (under mu)
	noScratch    bool         // large group frames opened as small ones: no lent scratch
	// hookPad sees every pairwise message sealed: type, plaintext, padded and frame sizes.
	hookPad func(typ wire.PairwiseType, plain, padded, frame int)
	// hookPrev rewrites the prev set of the membership key events we author (what a
	// misbehaving installation could put in its key block).
	hookPrev func(prev epoch.Frontier) epoch.Frontier
	// hookMemberBlockPrev rewrites the prev set published in the key block of a membership
	// key event we author, after the event (id E) is signed (applied locally with our real
	// frontier): a modified client choosing the prev once the event's id is known (review
	// 14's cycles of prev).
	hookMemberBlockPrev func(E epoch.ID, prev epoch.Frontier) epoch.Frontier
	// hookMemberUncommitted: the membership key events we author carry no epoch prev digest
	// (field 103), as a version before it made them.
	hookMemberUncommitted bool
	// hookRekeyPrev rewrites the prev set published in the rekeys we author (applied
	// locally with our real frontier): a member naming made-up prev ids
	// (TestSecRekeyUnknownPrev).
	hookRekeyPrev func(prev epoch.Frontier) epoch.Frontier
	// hookSlotSeed rewrites the seed we seal in one recipient's slot of the key blocks we
	// author (what a misbehaving installation could send: TestKeyConfirmSlot).
	hookSlotSeed func(to InstallationID, seed epoch.Seed) epoch.Seed
	// hookSlotTargets rewrites the installations the key blocks we author have a slot for
	// (a misbehaving author: TestRemovalSlotToRemoved).
	hookSlotTargets func(targets []storage.InstallationRecord) []storage.InstallationRecord
	// hookLegacyBlocks has the key blocks we author made as version 2 blocks (SHA-256 slot
	// hints: an older version's, TestLegacyKeyBlockReceived).
	hookLegacyBlocks bool
	// hookLegacyIDs has the rekeys we author made as version 3 blocks (the legacy rekey id,
	// committing to no prev: an older version's, TestLegacyRekeyReceived).
	hookLegacyIDs bool
	// hookCommit runs last in every transaction: an error makes it fail (rolled back).
	hookCommit func() error
	// hookAttempted runs after an inbound envelope's attempt released the engine's locks,
	// before process returns: what another goroutine may do there (TestPendingRaceKeys).
	hookAttempted func(topic string, payload []byte)
	// liveBatch overrides LiveBatch when > 0 (1: every live envelope its own transaction,
	// as before live batching; BenchmarkLiveBurst compares the two).
	liveBatch int

	// resumed holds the groups whose sender lease this process has checked (under mu):
	// the first seal of a process resumes above the lease (spec: persistence, "Durability").
	resumed map[GroupID]bool
	// resumedSessions: the same for the sending chains of pairwise sessions (by id).
	resumedSessions map[int64]bool
	// resumedEpochs: the same for our v2 sending chains (epoch id -> group).
	resumedEpochs map[[32]byte]GroupID
	// rekeys counts the rekeys we authored (tests).
	rekeys int
	// hot is the ordinary group-message path's in-memory state (hotpath.go; under mu).
	hot hotPath
	// spare: the maps of the last transaction, emptied, for the next (guarded by mu).
	spare txnSpares
	// marks: sends published and not recorded yet, recorded by the next transaction or
	// after markDelay by markTimer (delivery.go; under mu).
	marks     []soleMark
	markTimer *time.Timer
	markArmed bool // markTimer will fire
	// markTxs counts the transactions that recorded marks; markTxsArmed is its value
	// when markTimer was armed (marksDue).
	markTxs, markTxsArmed uint64
	// ownSent: the envelopes of our group messages published recently (with no replay
	// marker: queueMessageFrame); their copies coming back are dropped unopened (own lock).
	ownSent ownSent
	// metas remembers the decoded epoch bookkeeping of each v2 group (epochs.go; under mu).
	metas map[GroupID]metaMemo
	// scheds remembers the decoded schedule of each v2 group (epochs_hints.go; under mu).
	scheds map[GroupID]schedMemo
	// candidates remembers the candidate epochs of each v2 group's kept seeds (epochs.go).
	candidates map[epoch.ID]candidateMemo
	// senderEpochs: the epochs that may hold a sending chain of ours, per group (epochs_chains.go).
	senderEpochs map[GroupID][][32]byte
	// departNow: departV2 records a removal's departure at once, not with its key block
	// (tests compare the two).
	departNow bool
	// instGen moves with every write of an installation record (membership_installs.go).
	instGen uint64
}

// New returns a client on store and t. If the store holds an account it is loaded;
// otherwise call CreateAccount or ImportAccount.
func New(ctx context.Context, store storage.Store, t Transport, opts ...Option) (*Client, error) {
	o := options{retryBase: 2 * time.Second, syncInterval: time.Minute, historyWindow: 24 * time.Hour, repeats: RotationRepeats, epochs: true, spread: DefaultBurstSpread}
	for _, f := range opts {
		f(&o)
	}
	if !o.epochs && !o.v1 {
		return nil, ErrLegacySchedule
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.rand == nil {
		o.rand = rand.Reader
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.retryBase <= 0 {
		o.retryBase = 2 * time.Second
	}
	if o.syncInterval == 0 {
		o.syncInterval = time.Minute
	}
	if o.historyWindow <= 0 {
		o.historyWindow = 24 * time.Hour
	}
	if o.healGrace == 0 {
		o.healGrace = DefaultHealGrace
	}
	if o.platform == "" {
		o.platform = runtime.GOOS
	}
	c := &Client{
		store: store, tr: t, log: o.logger, rand: o.rand, now: o.now, opt: o,
		hints: map[[16]byte]int64{}, inbox: newInboxHints(), groups: map[GroupID]*groupCache{}, topics: map[string][]GroupID{},
		events: newBus(), subsWake: make(chan struct{}, 1), outWake: make(chan struct{}, 1),
		closed: make(chan struct{}), inflight: map[int64]struct{}{}, frameLimit: MaxFrame, welcomeLimit: welcomeBudget,
		resumed: map[GroupID]bool{}, resumedSessions: map[int64]bool{}, resumedEpochs: map[[32]byte]GroupID{},
		metas: map[GroupID]metaMemo{}, scheds: map[GroupID]schedMemo{}, candidates: map[epoch.ID]candidateMemo{},
	}
	c.rl = rateLimiterOf(t)
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	if err := c.loadParked(ctx); err != nil {
		return nil, err
	}
	if err := c.loadSpread(ctx); err != nil {
		return nil, err
	}
	c.dueAt = c.now() // records left by a previous run
	return c, nil
}

// Subscribe returns the event stream; it is closed when ctx ends or the client closes.
// See EventBuffer for what happens when the consumer is slow.
func (c *Client) Subscribe(ctx context.Context) <-chan Event { return c.events.subscribe(ctx) }

// Close stops the client: Run returns (Close waits for it), event streams close. It does
// not close the store or the transport (their owner does, after Close). Close is
// idempotent.
func (c *Client) Close() error {
	c.closeOne.Do(func() {
		c.flushMarks()
		c.releaseLeases()
		close(c.closed)
		c.events.close()
	})
	c.runMu.Lock()
	done, running := c.runDone, c.running
	c.runMu.Unlock()
	if running {
		<-done
	}
	return nil
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// tx runs fn in a store transaction under c.mu and runs the after-commit actions fn
// registered (cache updates, events) only if the commit succeeded.
func (c *Client) tx(ctx context.Context, fn func(t *txn) error) error {
	if c.isClosed() {
		return ErrClosed
	}
	t, err := c.txTurn(ctx, fn) // the locks released before publishing: publishClaimed runs its own transaction
	if err == nil {
		c.publishQueued(ctx, t.sends) // messages the transaction queued on its own (multi-device relays)
	}
	c.afterInternal(ctx, err)
	return err
}

// txTurn is runTx with the batch's turn and c.mu taken, both released by deferred calls:
// a panic past runTx's recover (an after-commit action) goes on to the caller with no lock
// held (review 18, TestReview18PanicPastRecoverInBatchFreezes: a batch's deferred handler,
// taking c.mu again, blocked for good).
func (c *Client) txTurn(ctx context.Context, fn func(t *txn) error) (*txn, error) {
	leave := c.enter(ctx)
	defer leave()
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	done := false
	defer c.endTurn(&done)
	t, err := c.runTx(ctx, fn)
	done = true
	return t, err
}

// endTurn releases c.mu at the end of a transaction's turn (txTurn, inboundTurn); a turn
// that did not get to its end (a panic past runTx's recover: after-commit actions half run)
// leaves the caches marked stale, rebuilt before the next transaction (reload.go).
func (c *Client) endTurn(done *bool) {
	if !*done {
		c.stale.Store(true)
	}
	c.mu.Unlock()
}

func (c *Client) txLocked(ctx context.Context, fn func(t *txn) error) error {
	_, err := c.runTx(ctx, fn)
	return err
}

// runTx is txLocked, returning the transaction once committed (its after-commit
// actions run).
func (c *Client) runTx(ctx context.Context, fn func(t *txn) error) (*txn, error) {
	var t *txn
	err := c.store.WithTx(ctx, func(st storage.StoreTx) (err error) {
		// A panic below (a bug, maybe reached by network input) fails this transaction
		// instead of the process: rolled back like any failure (contain.go).
		defer func() {
			if r := recover(); r != nil {
				err = c.recovered(r)
			}
			if t != nil {
				t.workFailed = err != nil
			}
		}()
		t = &txn{StoreTx: st, c: c}
		t.after = t.afterBuf[:0]
		if err := t.recordMarks(ctx); err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		if t.healing { // a heal's own transaction; any other's heals run once it commits (healAfter)
			if err := t.runHeals(); err != nil {
				return err
			}
		}
		if err := t.spreadBurst(); err != nil {
			return err
		}
		if err := t.flushKeys(); err != nil {
			return err
		}
		if c.hookCommit != nil {
			return c.hookCommit()
		}
		return nil
	})
	if err != nil && t != nil && !t.workFailed {
		// The store's error after the work: committed but not durable yet, the
		// transaction stands (its after-commit actions run), and nothing it queued leaves
		// the process before a later commit is durable (persistence: "Durability").
		err = c.durableLater(err)
	} else if err == nil && batchOf(ctx) == nil {
		c.notDurable.Store(false) // durable: every commit syncs what an earlier one could not
	}
	if err != nil {
		if t == nil || !t.workFailed || errors.Is(err, storage.ErrUnavailable) {
			// Not the transaction's own error: the store failed it, at its begin (t nil),
			// its commit, or a statement of its work (a full disk: review 21,
			// TestReview21StoreWriteErrorSkipsMessage).
			err = c.storeFailed(ctx, t != nil, err)
		}
		if t != nil {
			t.marksDone(false)
			for _, f := range t.rollback {
				f()
			}
			c.spare.keep(t)
		}
		return nil, err
	}
	t.marksDone(true)
	c.runAfter(t)
	c.spare.keep(t)
	if b := batchOf(ctx); b != nil {
		// Inside a batch (batch.go): the commit is the batch's; what leaves the process
		// waits for it.
		b.events = append(append(b.events, t.late...), t.events...)
		b.outbox = b.outbox || t.outbox
		b.topicsChanged = b.topicsChanged || t.topicsChanged
		if !t.healing {
			b.heals.add(t) // once for the batch, after its commit (batch)
		}
		return t, nil
	}
	if len(t.late) > 0 {
		c.events.emitLate(t.late...) // before t.events (recordMarks runs first)
	}
	if len(t.events) > 0 {
		c.events.emit(t.events...)
	}
	if t.outbox {
		wake(c.outWake)
	}
	if t.topicsChanged {
		wake(c.subsWake)
	}
	if len(t.heal) > 0 && !t.healing {
		// Each in its own transaction: a heal that fails fails alone (healAfter). What
		// they queue to publish goes out with the transaction's own.
		var q healQueue
		q.add(t)
		t.sends = append(t.sends, c.healAfter(ctx, q)...)
	}
	return t, nil
}

// durableLater takes the error of a committed transaction (runTx's, or of one run on the
// store directly: loadParked, loadSpread) for nil when it says only that the store's
// commits are not durable yet (storage.ErrNotDurable): what leaves the process waits
// (notDurable).
func (c *Client) durableLater(err error) error {
	if errors.Is(err, storage.ErrNotDurable) {
		c.log.Warn("commit not durable yet: publishes wait for the store's sync", "err", err)
		c.notDurable.Store(true)
		return nil
	}
	return err
}

// runAfter runs a committed transaction's after-commit actions. If one panics, the claims
// they took on what the transaction queued to publish (t.claimed: its own sends and a
// caller's, as Send's) are released first: the caller never gets to publish them, and the
// retry loop skips a claimed record (review 21, TestReview21PanicAfterCommitStrandsOutbox;
// review 22, TestReview22PanicAfterCommitStrandsCallerRecord: unpublished until a restart).
func (c *Client) runAfter(t *txn) {
	done := false
	defer func() {
		if !done {
			for _, id := range t.claimed {
				c.release(id)
			}
		}
	}()
	for _, f := range t.after {
		f()
	}
	done = true
}

// txn is one engine transaction: the store view plus actions deferred to commit.
type txn struct {
	// resumedSess: sessions this transaction already resumed above their lease and saved
	// (the client's resumedSessions takes them at commit). A second load in the same
	// transaction — a Sync batch can hold several envelopes that each send on one session —
	// must not skip to the lease again (each skip was SessionLease messages: 40 in one batch
	// outran the receiver's skipped-key bound; TestLinkCost under -race).
	resumedSess map[int64]bool
	storage.StoreTx
	c             *Client
	after         []func()
	afterBuf      [8]func() // after's first slots (a message's transaction registers a few)
	events        []Event
	late          []Event // events that may wait (bus.emitLate), before events
	lateBuf       [1]Event
	marks         []soleMark // the publishes recordMarks recorded (marksDone)
	outbox        bool
	topicsChanged bool
	newKeys       bool   // a session or sender key arrived: retry pending envelopes
	claim         []byte // who an envelope that cannot be opened yet claims to be from
	rollback      []func()
	// self overrides the local account for the X3DH responder while we are not linked
	// yet (link.go); nil otherwise.
	self *account
	// sends are publishes queued as a side effect (e.g. while processing an inbound
	// message); tx publishes them after commit.
	sends []*storage.OutboxRecord
	// ownDelta accumulates the changes to our own account's device list in this
	// transaction (devices_effects.go, applyDeviceDelta).
	ownDelta deviceDelta
	// quietResign: the caller tells our installations itself after a re-signed list.
	quietResign bool
	// pre is the inbound group frame opened before the transaction (flood.go).
	pre *preopened
	// claimed: the outbox records its after-commit actions claimed (queueRecord).
	claimed []int64
	// workFailed: the transaction's work returned an error (or panicked); an error of the
	// store's WithTx without it is the store's (storeFailed).
	workFailed bool
	// states holds the membership states this transaction moved groups to (the cache
	// takes them at commit).
	states map[GroupID]*membership.State
	// updated is the membership update a key event's check applied (receiveMembership
	// takes it instead of applying the same update again).
	updated *updateMemo
	// decoded is the last of them (kept: messageReceived takes its decoded events).
	decoded *updateMemo
	// instWritten: this transaction wrote an installation record (membership_installs.go).
	instWritten bool
	// heal lists the v2 groups whose epoch may need a healing rekey once the
	// transaction's changes are all applied (epochs_rekey.go): checked in a transaction
	// of their own once this one commits (healAfter; a batch's, once after the batch).
	heal []GroupID
	// healing: this transaction is a heal's own (healAfter, healDue): the heals it names
	// run in it, before its commit (runHeals).
	healing bool
	// refused lists the seeds we refused (key confirmation, epochs_confirm.go): their
	// groups' heal may rekey at once.
	refused []refusal
	// unhealedEps: the epochs this transaction found a departed installation may
	// compute; only a rekey's frame is sealed under them (sealFrameV2).
	unhealedEps map[epoch.ID]bool
	// burst: the publishes queued are one burst, spread in time (spread.go);
	// burstRecs are its records so far.
	burst      bool
	burstRecs  []*storage.OutboxRecord
	burstKeep  string               // a topic whose records the burst does not delay (keepOutOfBurst)
	spreadLast map[string]time.Time // not-before times this transaction gave per topic
	// gs is the group state this transaction wrote or read (hotpath.go; nil: not in view).
	gs map[GroupID]*storage.GroupRecord
	// keys: group keys written in this transaction but not yet stored (hotpath_keys.go,
	// flushKeys: once, before the commit).
	keys map[GroupID]groupKeys
	// chains and chainsDropped: the epoch chains this transaction wrote or read, and the
	// groups whose chains it deleted (hotpath.go).
	chains        map[chainKey]*storage.EpochChainRecord
	chainsDropped map[GroupID]bool
	// retiredIn: the groups whose chains this transaction retired (epochs_chains.go).
	retiredIn map[GroupID]bool
	// recvEps: receiving chains' epochs as of this transaction (epochs_chains.go).
	recvEps map[GroupID][][32]byte
	// sess: the sessions by base key this transaction read or wrote (hotpath_sessions.go).
	sess map[sessKey]*storage.SessionRecord
	// senderPut: the epochs of the sending chains this transaction stored (epochs_chains.go).
	senderPut map[GroupID][][32]byte
	// departLater and departing: the group whose removal's departure its key block, in the
	// same publish, records, and the accounts removed (departV2, processKeyBlock).
	departLater *groupCache
	departing   []string
	// blockOuter: the epoch the publish of the key block processKeyBlock judges was sealed
	// under (zero: not known), set by handleGroupV2 (lackedPrevSeed).
	blockOuter epoch.ID
	// logs: the stored event logs this transaction wrote or learnt (membership_log.go).
	logs map[GroupID]txnLogMark
	// eventMemos: the event id indexes built in this transaction (event_memo.go).
	eventMemos map[GroupID]*eventMemo
}

// updateMemo is a membership update (encoded) applied to base, giving next.
type updateMemo struct {
	base   *membership.State
	update []byte
	next   membership.State
	msg    *membership.Message // update decoded (leniently: entries that do not parse left out)
}

// stateOf returns the membership state of a group as of this transaction.
func (t *txn) stateOf(gc *groupCache) *membership.State {
	if st := t.states[gc.id]; st != nil {
		return st
	}
	return &gc.state
}

func (t *txn) onCommit(f func()) { t.after = append(t.after, f) }
func (t *txn) emit(ev Event)     { t.events = append(t.events, ev) }
func (t *txn) emitLate(ev Event) {
	if t.late == nil {
		t.late = t.lateBuf[:0]
	}
	t.late = append(t.late, ev)
}

// onRollback registers f to undo an in-memory change if the transaction fails.
func (t *txn) onRollback(f func()) { t.rollback = append(t.rollback, f) }

// me is the local installation: the account, or the pending link's identity.
func (t *txn) me() *account {
	if t.self != nil {
		return t.self
	}
	return t.c.acct
}

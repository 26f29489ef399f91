package storage

import (
	"context"
	"time"
)

// Store is the persistence the engine needs. persistence.Store implements it on sqlite;
// any other implementation must give WithTx the usual transaction guarantees: fn's
// writes are committed together if fn returns nil and discarded otherwise, and
// transactions are serialisable with respect to each other, also when WithTx is called
// from several goroutines at once (an embedder may read the store beside a running
// client).
type Store interface {
	// WithTx runs fn in a transaction. Reads also go through WithTx.
	WithTx(ctx context.Context, fn func(tx StoreTx) error) error
	// Close releases the store.
	Close() error
}

// BatchStore is a Store that can group many transactions into one commit (the catch-up
// path: Sync). Between BeginBatch and EndBatch, each WithTx is a nested transaction
// (fn's writes are kept if it returns nil and undone otherwise) of one outer transaction
// that only EndBatch(true) commits, then makes durable if any of them called
// SyncOnCommit; EndBatch(false), or a crash before EndBatch, loses all of them together.
// Only WithTx calls given the context BeginBatch returned (or one derived from it) are
// part of the batch, and only until its EndBatch; a WithTx with any other context, from
// any goroutine, waits for EndBatch. The engine acts outside the process (publishes, events) only after the
// commit.
type BatchStore interface {
	Store
	BeginBatch(ctx context.Context) (context.Context, error)
	EndBatch(commit bool) error
}

// StoreTx is the view of the store inside one transaction.
type StoreTx interface {
	// SyncOnCommit asks for this transaction to be durable (on stable storage, surviving
	// a power loss) when WithTx returns nil. Other transactions may be lost by a power
	// loss after they commit (the store need not sync each one), but only ever a suffix:
	// a transaction that survives implies every earlier one did.
	SyncOnCommit()
	AccountStore
	PrekeyStore
	ContactStore
	SessionStore
	GroupStore
	ReceiverStore
	EpochStore
	MessageStore
	OutboxStore
	InboundStore
}

// ErrNotFound is returned by store lookups of a single record that does not exist.
var ErrNotFound = errorString("protocol: not found")

// ErrUnavailable is wrapped by a StoreTx method's error when the store itself failed, not
// the data it was given: a full disk, an I/O error, the database busy, locked, read-only or
// corrupt, out of memory. The engine then retries the input that met it (an inbound envelope
// gets no replay marker and is fetched again) instead of giving up on it (spec: protocol ›
// Delivery, store failures). A store that cannot tell the two apart wraps nothing: the input
// is then treated as failing by itself.
var ErrUnavailable = errorString("protocol: store unavailable")

// ErrNotDurable is wrapped by WithTx's error (or EndBatch's) when a transaction committed
// but the store could not make it durable (it called SyncOnCommit, or an earlier commit is
// still not durable): its writes stand, and every later commit tries again and wraps
// ErrNotDurable until one succeeds. Nothing committed may leave the process before a
// commit returns without it (spec: persistence, "Durability").
var ErrNotDurable = errorString("protocol: committed, not durable yet")

// AccountRecord is the local account and its installation. One per store.
type AccountRecord struct {
	PrivateKey      []byte // 32-byte secp256k1 scalar; empty on a linked installation (no account key)
	PublicKey       []byte // 65-byte uncompressed account key; empty while waiting to be linked
	Identity        []byte // x3dh.Identity.MarshalBinary
	DeviceListClock uint64 // highest Lamport clock of our account's device list seen (or signed)
	DeviceList      []byte // our account's newest signed device list listing us (devicelist.List, no bundles)
	NextPrekeyID    uint32 // next free prekey id (signed and one-time share the space)
	CreatedAt       time.Time
	AnnouncedAt     time.Time // last announcement publish (zero: never, or due)
	LinkSecret      []byte    // pairing secret of our link code (LinkCode), empty if none
	LinkUntil       time.Time // listen on the link topic until then (zero: not linking)
	// AnnounceSecret opens our announcements (spec: protocol, "Identities",
	// "Announcement"); a holder derives it from the account key, a linked installation
	// gets it from a holder (contact sync). Empty while unknown.
	AnnounceSecret []byte
	// NextAnnounce is when the next scheduled announcement is due (zero: none scheduled).
	NextAnnounce time.Time
	// SecretShared: our announcement secret was sent to our added contacts once (the
	// migration from announcements readable with the account key alone).
	SecretShared bool
}

// AccountStore stores the account.
type AccountStore interface {
	Account() (*AccountRecord, error) // ErrNotFound if none
	PutAccount(*AccountRecord) error
}

// PrekeyRecord is one of our prekeys (signed or one-time).
type PrekeyRecord struct {
	ID        uint32
	Signed    bool
	Data      []byte // MarshalBinary of x3dh.SignedPrekey or x3dh.OneTimePrekey
	CreatedAt time.Time
	ExpiresAt time.Time // signed prekeys: when it stops being offered; zero for one-time
}

// PrekeyStore stores our prekeys.
type PrekeyStore interface {
	PutPrekey(*PrekeyRecord) error
	Prekey(signed bool, id uint32) (*PrekeyRecord, error) // ErrNotFound
	Prekeys(signed bool) ([]PrekeyRecord, error)          // ordered by id
	DeletePrekey(signed bool, id uint32) error
}

// ContactRecord is the newest verified device list of an account we know (a contact, or a
// member of one of our groups).
type ContactRecord struct {
	Account    string // membership.PublicKeyString form
	DeviceList []byte // devicelist.List, verified
	Clock      uint64
	Added      bool // explicitly added as a contact (AddContact)
	UpdatedAt  time.Time
	// Name is our local name for the account ("" none) and NameClock its Lamport clock,
	// shared by our installations (contact sync).
	Name      string
	NameClock uint64
	// AnnounceSecret opens the account's announcements (from its contact code, its
	// AnnounceKey message or our other installations); nil if unknown.
	AnnounceSecret []byte
}

// InstallationRecord is a remote (or own) installation taken from a verified device list.
type InstallationRecord struct {
	ID      InstallationID
	Account string
	DH      [32]byte
	Signing [33]byte
	Bundle  []byte // x3dh bundle, verified; one-time prekeys only if the owner gave them to us
	Revoked bool
	// Binding is the installation's signature binding it to Account (spec: protocol,
	// "Identities", installation binding); nil while not known (an installation we linked
	// ourselves before it confirmed, or a record from before bindings).
	Binding   []byte
	UpdatedAt time.Time
	// Metadata of our own account's installations (never sent outside them).
	Name     string
	Platform string
	AddedAt  time.Time
}

// ContactStore stores contacts and their installations.
type ContactStore interface {
	PutContact(*ContactRecord) error
	Contact(account string) (*ContactRecord, error) // ErrNotFound
	Contacts() ([]ContactRecord, error)
	PutInstallation(*InstallationRecord) error
	Installation(id InstallationID) (*InstallationRecord, error) // ErrNotFound
	InstallationsOf(account string) ([]InstallationRecord, error)
	// MemberInstallations returns the installations of the accounts with ID, Account and
	// Revoked set only (the rest zero), ordered by account, then id: one query for a
	// group's members, where InstallationsOf per account was one each (issue 13).
	MemberInstallations(accounts []string) ([]InstallationRecord, error)
	// InstallationsByPrefix returns the installations whose id starts with prefix (v2
	// causal-history entries name installations by 8 bytes), in id order.
	InstallationsByPrefix(prefix [8]byte) ([]InstallationRecord, error)
}

// SessionRecord is a pairwise Double Ratchet session with a remote installation.
type SessionRecord struct {
	ID            int64 // assigned by PutSession on insert (ID == 0)
	Remote        InstallationID
	RemoteAccount string
	Initiator     bool     // we ran X3DH as initiator
	Confirmed     bool     // we have decrypted at least one message from the peer on it
	Active        bool     // the session we send on (one per remote installation)
	BaseKey       [32]byte // the X3DH header's ephemeral key: identifies the session on both sides
	SendHint      [16]byte
	RecvHint      [16]byte
	AD            []byte // X3DH associated data
	InitialHeader []byte // our X3DH header while unconfirmed (initiator only)
	State         []byte // doubleratchet.Session.MarshalBinary
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Message numbers below SendLease of the sending chain of our ratchet key LeaseKey
	// are reserved (spec: persistence, "Durability").
	SendLease uint32
	LeaseKey  [32]byte
	// HintChain is the session's per-message inbox hint state (encoded by package
	// protocol); empty for a session stored before hint chains (it keeps its constant
	// hints; spec: protocol, "Pairwise messages (inbox)").
	HintChain []byte
}

// HintEntry maps a constant receive hint to a session, with the session's hint chain.
type HintEntry struct {
	Hint      [16]byte
	SessionID int64
	Chain     []byte
}

// SessionStore stores pairwise sessions.
type SessionStore interface {
	PutSession(*SessionRecord) error
	Session(id int64) (*SessionRecord, error) // ErrNotFound
	SessionByBaseKey(remote InstallationID, baseKey [32]byte) (*SessionRecord, error)
	SessionsWith(remote InstallationID) ([]SessionRecord, error) // newest first
	DeleteSession(id int64) error
	RecvHints() ([]HintEntry, error)
}

// GroupStatus says whether we are in a group.
type GroupStatus int

// Group statuses.
const (
	GroupActive  GroupStatus = 0
	GroupRemoved GroupStatus = 1 // removed by an admin
	GroupLeft    GroupStatus = 2 // we left
)

// GroupRecord is a group we are (or were) in.
type GroupRecord struct {
	ID          GroupID
	ChatID      string
	Secret      [32]byte // zeroed when we leave or are removed
	Buckets     uint32
	Topic       string
	Name        string
	Description string
	Color       string
	Image       []byte
	Events      []byte // membership.Message holding every accepted event
	Sender      []byte // our senderkeys.Sender (nil before our first send)
	Rotate      bool   // rotate before the next send (a member left)
	Distribute  bool   // some member installation may lack our current key
	Clock       uint64 // Lamport clock of group messages
	History     []byte // recent causal-history entries, 32 bytes each, newest last
	Status      GroupStatus
	JoinedAt    time.Time
	UpdatedAt   time.Time
	Repeat      []byte // our last rotation block (a wire.GroupFrame without message)
	RepeatLeft  int    // how many more messages repeat it
	SenderLease uint32 // iterations of Sender below it are reserved (spec: persistence, "Durability")
	// Schedule is the group's key schedule v2 (epoch.Schedule.MarshalBinary); nil for a
	// group of the v1 schedule (senderkeys).
	Schedule []byte
	// EpochMeta is the engine's bookkeeping of the v2 frontier (epochs.go).
	EpochMeta []byte
}

// EpochChainRecord is a sending or receiving chain of key schedule v2: our own sending
// chain of one epoch (Installation unset; Lease as for SenderLease), or a receiver chain
// of one sender installation in one epoch.
type EpochChainRecord struct {
	Group        GroupID
	Epoch        [32]byte
	Installation InstallationID
	State        []byte
	Lease        uint32
	// Skipped is a receiver chain's count of skipped keys, kept apart from State (its
	// encoding without them; UpdateSkippedKeys).
	Skipped int
}

// SkippedKey is the message key of an iteration a receiver chain skipped.
type SkippedKey struct {
	Iteration uint32
	Key       [32]byte
}

// SkippedKeysChange is what a receive changed of a receiver chain's skipped keys: the
// key of iteration Used deleted (if UsedSet), Add inserted, then the Evict lowest
// iterations deleted.
type SkippedKeysChange struct {
	Group        GroupID
	Epoch        [32]byte
	Installation InstallationID
	Add          []SkippedKey
	UsedSet      bool
	Used         uint32
	Evict        int
}

// SkippedIteration names a skipped key (not the key itself).
type SkippedIteration struct {
	Epoch        [32]byte
	Installation InstallationID
	Iteration    uint32
}

// EpochStore stores the chains of key schedule v2.
type EpochStore interface {
	PutSenderChain(*EpochChainRecord) error
	SenderChain(group GroupID, epoch [32]byte) (*EpochChainRecord, error) // ErrNotFound
	SenderChains(group GroupID) ([]EpochChainRecord, error)
	PutReceiverChain(*EpochChainRecord) error
	ReceiverChain(group GroupID, epoch [32]byte, inst InstallationID) (*EpochChainRecord, error) // ErrNotFound
	ReceiverChains(group GroupID) ([]EpochChainRecord, error)
	// DeleteEpochChains deletes the group's sending and receiving chains of every epoch
	// not in keep (all of them if keep is empty).
	DeleteEpochChains(group GroupID, keep [][32]byte) error
	// DeleteEpochReceivers is DeleteEpochChains of the receiving chains only.
	DeleteEpochReceivers(group GroupID, keep [][32]byte) error
	// DeleteReceiverEpochs deletes the group's receiving chains of the epochs given (at
	// least one).
	DeleteReceiverEpochs(group GroupID, epochs [][32]byte) error
	// DeleteReceiverChains deletes the receiver chains of one sender installation.
	DeleteReceiverChains(group GroupID, inst InstallationID) error
	// The skipped keys of receiver chains, one row each: deleted with their chain (by
	// the deletes above, and with the group).
	UpdateSkippedKeys(*SkippedKeysChange) error
	SkippedKey(group GroupID, epoch [32]byte, inst InstallationID, iteration uint32) ([32]byte, error) // ErrNotFound
	// SkippedIterations lists the group's skipped iterations ordered by epoch,
	// installation, iteration.
	SkippedIterations(group GroupID) ([]SkippedIteration, error)
}

// ReceiverRecord is our receiving state for one sender installation in one group.
type ReceiverRecord struct {
	Group        GroupID
	Installation InstallationID
	Account      string
	State        []byte // senderkeys.Receiver.MarshalBinary
}

// GroupStore stores groups.
type GroupStore interface {
	PutGroup(*GroupRecord) error
	// PutGroupState updates only the fields that change with every message: Sender,
	// Rotate, Distribute, Clock, History, UpdatedAt, Repeat, RepeatLeft and SenderLease
	// (the event log and the keys can be large; ErrNotFound if the group is not stored).
	PutGroupState(*GroupRecord) error
	// PutGroupClock updates only Clock, History and UpdatedAt, what an ordinary message
	// changes (ErrNotFound if the group is not stored).
	PutGroupClock(id GroupID, clock uint64, history []byte, updatedAt time.Time) error
	// PutGroupExceptLog updates every field of a stored group but its event log and its
	// keys (Schedule, EpochMeta: PutGroupKeys), which stay as stored (ErrNotFound if the
	// group is not stored).
	PutGroupExceptLog(*GroupRecord) error
	// PutGroupKeys sets a stored group's Schedule and EpochMeta, and only them: they grow
	// with the group and change only with its key events, so they are written apart from
	// the fields every message changes (ErrNotFound if the group is not stored).
	PutGroupKeys(id GroupID, schedule, meta []byte) error
	// AppendGroupLog appends tail to the group's stored event log (Events of Group is then
	// the old log followed by tail) without rewriting it; ErrNotFound if the group is not
	// stored.
	AppendGroupLog(id GroupID, tail []byte) error
	Group(id GroupID) (*GroupRecord, error) // ErrNotFound
	// GroupState reads a group without its event log and image (the hot path: its cost
	// does not grow with the group): every other field is filled.
	GroupState(id GroupID) (*GroupRecord, error) // ErrNotFound
	Groups() ([]GroupRecord, error)
	// Distributed records that these installations hold our current sender key.
	MarkDistributed(group GroupID, ids []InstallationID) error
	Distributed(group GroupID) ([]InstallationID, error)
	ClearDistributed(group GroupID) error
}

// ReceiverStore stores sender-key receivers and the key-id index routing messages to them.
type ReceiverStore interface {
	PutReceiver(*ReceiverRecord) error
	Receiver(group GroupID, installation InstallationID) (*ReceiverRecord, error) // ErrNotFound
	Receivers(group GroupID) ([]ReceiverRecord, error)
	DeleteReceiver(group GroupID, installation InstallationID) error
	// AddReceiverKey indexes key id as installation's in group. A key id is owned by the
	// first installation that gets it indexed: if another installation holds it,
	// AddReceiverKey changes nothing and returns ErrKeyIDTaken.
	AddReceiverKey(group GroupID, keyID [8]byte, installation InstallationID) error
	ReceiverByKey(group GroupID, keyID [8]byte) (*ReceiverRecord, error) // ErrNotFound
}

// ErrKeyIDTaken is returned by AddReceiverKey for a key id another installation holds.
var ErrKeyIDTaken = errorString("protocol: sender key id held by another installation")

// MessageRecord is a group message, sent or received.
type MessageRecord struct {
	ID                 MessageID
	Group              GroupID
	Seq                int64 // local order, assigned on insert
	SenderAccount      string
	SenderInstallation InstallationID
	Clock              uint64
	Timestamp          time.Time // sender's claim
	ReceivedAt         time.Time
	Outgoing           bool
	Status             DeliveryStatus
	Type               uint8 // wire.ContentType
	Body               []byte
}

// MessageStore stores group messages.
type MessageStore interface {
	// PutMessage inserts m (assigning m.Seq); it returns false and changes nothing if a
	// message with that id exists.
	PutMessage(m *MessageRecord) (bool, error)
	Message(id MessageID) (*MessageRecord, error)                     // ErrNotFound
	Messages(group GroupID, f MessageFilter) ([]MessageRecord, error) // newest first
	SetMessageStatus(id MessageID, s DeliveryStatus) error
	HasHistoryEntry(group GroupID, entry [32]byte) (bool, error)
}

// OutboxRecord is one publish to make: stored before it is attempted.
type OutboxRecord struct {
	ID         int64 // assigned on insert: increasing, never given to another record while the store is open (a claim or a deferred publish mark may name a deleted record)
	Message    MessageID
	HasMessage bool
	// Sole: the only record of Message, queued so (set on insert, stored, never changed):
	// OutboxOf does not return it, and its outcome is its message's status. A file store
	// keeps it out of its index of records by message (issue 16: one page fewer written by
	// a send and by its mark).
	Sole        bool
	Topic       string
	Payload     []byte
	Status      DeliveryStatus
	Attempts    int
	NextAttempt time.Time
	CreatedAt   time.Time
	// Delayed (protocol's, not stored): a spread record (spread.go) that waits for NextAttempt; the caller that
	// queued it does not publish it (not stored: the stored NextAttempt says it).
	Delayed bool
}

// OutboxStore stores publishes not yet made.
type OutboxStore interface {
	PutOutbox(*OutboxRecord) error
	Outbox(id int64) (*OutboxRecord, error)
	DueOutbox(now time.Time, limit int) ([]OutboxRecord, error) // unpublished, due, oldest first
	OutboxOf(msg MessageID) ([]OutboxRecord, error)             // msg's records not queued Sole
	// DeleteOutbox deletes a record (one published: nothing needs it any more).
	DeleteOutbox(id int64) error
	// PublishedSole records the publish of rec (ID, Message and Payload as queued), the
	// only outbox record of its message (the caller knows it: it queued every record of
	// the message): if the record is still unpublished it deletes it and sets the message
	// Published. It reports whether the message's status changed (false: the record was
	// not there unpublished, or the message is gone or already Published).
	PublishedSole(rec *OutboxRecord) (bool, error)
	// PruneOutbox deletes the published and failed records created before before, then
	// the oldest of the rest of them until their payloads total at most maxBytes.
	// Unpublished records are never pruned.
	PruneOutbox(before time.Time, maxBytes int64) error
	OutboxUsage() (OutboxUsage, error)
}

// OutboxUsage sums the outbox: records still to publish, and records kept after their
// last attempt (published or failed).
type OutboxUsage struct {
	Unpublished      int
	UnpublishedBytes int64
	Kept             int
	KeptBytes        int64
}

// PendingRecord is an inbound envelope that could not be processed yet (e.g. its key
// distribution has not arrived); it is retried when state changes.
type PendingRecord struct {
	Hash       [32]byte
	Topic      string
	Payload    []byte
	ReceivedAt time.Time
	Claim      []byte // claimed sender, for the per-sender bound (spec: protocol, "Delivery")
}

// PendingUsage describes the pending envelopes, for the bounds on them.
type PendingUsage struct {
	Exists       bool  // an envelope with the hash asked about is pending
	Count        int   // pending envelopes
	Bytes        int64 // their payload bytes
	ClaimedBytes int64 // payload bytes of those with the claim asked about
}

// ExpectedRecord is a causal-history entry we have not seen as a message yet.
type ExpectedRecord struct {
	Group  GroupID
	Entry  [32]byte
	Since  time.Time
	Report bool // already reported missing
}

// InboundStore stores replay markers, pending envelopes, expected messages and sync marks.
type InboundStore interface {
	Seen(hash [32]byte) (bool, error)
	MarkSeen(hash [32]byte, at time.Time) error
	// MarkSeenOnce records the replay marker of hash unless it is there already, and
	// reports whether it was new (one statement: the check and the mark of a receive).
	MarkSeenOnce(hash [32]byte, at time.Time) (bool, error)
	PutPending(*PendingRecord) error
	Pending(limit int) ([]PendingRecord, error) // oldest first
	DeletePending(hash [32]byte) error
	// PrunePending deletes the oldest pending envelopes beyond keep.
	PrunePending(keep int) error
	// PendingUsage reports whether hash is pending, and the pending totals overall and
	// for claim.
	PendingUsage(hash [32]byte, claim []byte) (PendingUsage, error)
	// PruneSeen deletes replay markers recorded before t.
	PruneSeen(before time.Time) error
	PutExpected(*ExpectedRecord) error
	DeleteExpected(group GroupID, entry [32]byte) error
	Expected(group GroupID) ([]ExpectedRecord, error)
	Reported(key string) (bool, error)
	MarkReported(key string, at time.Time) error
	LastSync(topic string) (time.Time, error) // zero if never
	SetLastSync(topic string, t time.Time) error
	// SyncPoints returns the stores' own sync points of topic (store name → point), as
	// SetSyncPoints left them (none: an empty map).
	SyncPoints(topic string) (map[string]time.Time, error)
	// SetSyncPoints replaces the stores' sync points of topic (none: deletes them).
	SetSyncPoints(topic string, points map[string]time.Time) error
	// PruneSyncPoints deletes the sync points (of every topic) before t.
	PruneSyncPoints(before time.Time) error
}

type errorString string

func (e errorString) Error() string { return string(e) }

package protocol

import (
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
)

// Specification constants of the engine: every bound, lease, window and policy figure,
// in one place (spec/README.md, section "protocol"; each block names its subsection). The
// bounds of the pure packages are in their own limits.go or doc.go (devicelist,
// doubleratchet, senderkeys, x3dh, membership, epoch); wire formats' bounds in
// protocol/wire/wire.go.

// Multi-device limits (spec: protocol, "Multi-device").
const (
	// MaxInstallations is the most active (unrevoked) installations an account may have;
	// a device list listing more is refused by every peer.
	MaxInstallations = devicelist.MaxActive
	// MaxDeviceListEntries is the most entries a device list may have over the account's
	// life, revoked ones included (revocations are never forgotten).
	MaxDeviceListEntries = devicelist.MaxEntries
)

// Prekey policy (spec: protocol, "Prekeys").
const (
	// SignedPrekeyRotation is how often a new signed prekey is made current.
	SignedPrekeyRotation = 7 * 24 * time.Hour
	// SignedPrekeyLifetime is how long a signed prekey is offered and accepted after it
	// was created (rotation period + 14 days for late initial messages).
	SignedPrekeyLifetime = SignedPrekeyRotation + 14*24*time.Hour
	// OneTimePrekeys is the number of one-time prekeys kept; refilled below OneTimePrekeyLow.
	OneTimePrekeys   = 100
	OneTimePrekeyLow = 20
	// AnnounceOneTimePrekeys is how many one-time prekeys an announcement offers.
	AnnounceOneTimePrekeys = 10
)

// Bounds of an announcement lookup (FetchContact).
const (
	// AnnounceLookback is how far back FetchContact asks for announcements.
	AnnounceLookback = 30 * 24 * time.Hour
	// MaxAnnounceVerify bounds the signature checks of one lookup: announcements are tried
	// newest first, each payload once.
	MaxAnnounceVerify = 64
)

// LinkListenWindow is how long a newly linked installation keeps listening on its link
// topic for the rest of the link traffic (group states, contacts) (spec: protocol,
// "Multi-device", "Linking").
const LinkListenWindow = 24 * time.Hour

// Group wire constants (spec: protocol, "Group messages").
const (
	// groupOverhead is the outer encryption's cost: version, nonce, tag.
	groupOverhead = 1 + wire.NonceSize + 16
	// MaxFrame is the largest group frame plaintext that fits one publish.
	MaxFrame = transport.MaxPayload - groupOverhead
	// HistoryLength is how many recent message ids each group message carries (R1).
	HistoryLength = 5
	// SenderLease is how many sender-key iterations are reserved ahead with one durable
	// write (spec: persistence, "Durability"): the store is synced once every SenderLease
	// messages, and a restart after a power loss skips at most SenderLease iterations.
	SenderLease = 256
)

// MaxSessionsPerInstallation bounds the sessions kept per remote installation (older
// ones, never the active one, are deleted).
const MaxSessionsPerInstallation = 3

// SessionLease is how many message numbers of a session's sending chain are reserved
// ahead with one durable write (spec: persistence, "Durability"); at most
// doubleratchet.MaxSkip, so that the peer accepts the skip after a power loss.
const SessionLease = 64

// Inbox hint chains (spec: protocol, "Pairwise messages (inbox)", **Hint chain**): the
// bounds of what a receiver expects per session, like the Double Ratchet's skipped keys.
const (
	// HintWindow is how many frame indices after the highest one received are expected.
	HintWindow = 64
	// HintAnchorStride: beyond the window, every HintAnchorStride-th index below the
	// highest received + MaxHintGap is expected too, so that a receiver that lost more than
	// HintWindow frames in a row finds the next anchor frame (and the window moves there).
	HintAnchorStride = 16
	// MaxHintGap is the largest jump ahead a receiver follows (cf. doubleratchet.MaxSkip).
	MaxHintGap = 1024
	// MaxSkippedHints bounds the indices below the highest received that are still
	// expected per session (frames skipped by a jump ahead; the newest are kept).
	MaxSkippedHints = 256
	// HintLease is how many hint indices of a session are reserved ahead with one durable
	// write (spec: persistence, "Durability"); below HintWindow, so that a peer that saw
	// everything finds the first frame after a restart in its window.
	HintLease = 48
)

// RotationRepeats is the default number of messages after a rotation (or any message
// handing our key to new recipients) that carry the same rotation block again.
const RotationRepeats = 2

// MaxAttempts is how many times an outbound publish is tried before it is Failed.
const MaxAttempts = 3

// MaxOutboxKeptBytes bounds the payload bytes of the outbox records kept after their last
// attempt (failed ones; published ones are deleted at once), oldest pruned first (spec:
// protocol, "Delivery, idempotence, R1", outbox bound).
const MaxOutboxKeptBytes = 1 << 20

// SyncBatch is how many inbound envelopes Sync processes per store commit (spec:
// protocol, "Delivery, idempotence, R1", catch-up batching). 256, not 64: the commit is on
// the catch-up's critical path (issue 16: 46.7–47.3 → 38.7–40.1 µs a message at 10 × 1000,
// quiet machine); the batch's envelopes are in memory anyway (the History answer).
const SyncBatch = 256

// LiveBatch is the most live envelopes the receive loop processes per store commit when
// they are already queued (spec: protocol, "Delivery, idempotence, R1", live batching):
// a burst pays one commit per LiveBatch envelopes, and an envelope waits for at most
// LiveBatch-1 others' processing before its events leave (≈ 4 ms on a file store here).
const LiveBatch = 64

// Bounds of the pending membership events a group keeps (spec: protocol, "Membership,
// rotation, removal"). Pending events are authentic events the rules did not apply yet;
// they are kept because a later event can make them valid, but anyone able to get a
// membership update delivered could otherwise grow every member's stored log forever.
const (
	// MaxPendingEventsPerAuthor is the most pending events kept per author (the newest).
	MaxPendingEventsPerAuthor = 16
	// MaxPendingEvents is the most pending events a group keeps in all (the newest).
	MaxPendingEvents = 256
)

// Bounds of inbound bookkeeping.
const (
	// PendingTTL is how long an envelope that cannot be opened yet (its key distribution
	// has not arrived) is kept for another try.
	PendingTTL = 24 * time.Hour
	// MaxPending bounds the number of envelopes kept for another try. Only holders of a
	// group secret can make us keep one; beyond a bound new envelopes are not kept (and
	// not marked seen, so a later sync can bring them again), older ones are never evicted
	// by newer ones, only by PendingTTL.
	MaxPending = 10000
	// MaxPendingBytes bounds the payload bytes of all pending envelopes.
	MaxPendingBytes = 16 << 20
	// MaxPendingBytesPerSender bounds the payload bytes of the pending envelopes that
	// claim one sender: for a group message, its sender-key id (in its group); for an
	// inbox message, the installation of the session it arrived in.
	MaxPendingBytesPerSender = 1 << 20
	// SeenRetention is how long replay markers are kept. Older replays are still refused
	// by the ratchets (consumed iterations and message keys); the markers only make
	// skipping them cheap.
	SeenRetention = 30 * 24 * time.Hour
)

// PreJoinLookback bounds how many iterations below a held sender key's position are
// checked when deciding that a causal-history entry names a message we were never meant
// to read (R1).
const PreJoinLookback = 1024

// JunkFilterSize bounds the in-memory filter of keyless input: two generations of at
// most JunkFilterSize hashes each (≈ 1.3 MB at most).
const JunkFilterSize = 8192

// EventBuffer is the capacity of each subscriber's queue. The engine never blocks on a
// subscriber: an event that does not fit is dropped for that subscriber and counted, and
// the subscriber receives an *EventsDropped with the count as soon as it has room.
const EventBuffer = 1024

// The query set (spec/README.md, ## sync, "Query set"): every History query and every
// Subscribe of a client asks for all of its own topics at once, padded with decoy
// topics, so that the store or first-hop peer sees one set per client, in which it
// cannot tell the client's inbox and announcement partitions from three (two) others
// and its groups from at least two decoy group topics, and the size of which only
// tells the number of topics to within QuerySetStep.
const (
	// DecoyInboxPartitions and DecoyAnnouncePartitions are the other inbox and
	// announcement partitions in every query set.
	DecoyInboxPartitions    = 3
	DecoyAnnouncePartitions = 2
	// DecoyMinGroups is the least number of decoy group topics in a query set.
	DecoyMinGroups = 2
	// QuerySetStep: query sets are padded with decoy group topics to a multiple of it
	// (also the content topics a Waku store v3 client puts in one request).
	QuerySetStep = 10
)

// SafetyNumberIterations is the number of SHA-512 iterations per account key.
const SafetyNumberIterations = 5200

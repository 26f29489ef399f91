// Package transport holds the types shared by Chorus transports: the Envelope a
// subscriber receives, payload bounds, counters and sentinel errors. It imports no
// network library; the implementations live in transport/memory (an in-process bus for
// tests and simulations) and transport/waku (an embedded go-waku node).
//
// Both implementations provide, with identical semantics:
//
//	Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error)
//	Subscribe(ctx context.Context, topics []string) (<-chan Envelope, error)
//	History(ctx context.Context, topics []string, since, until time.Time) ([]Envelope, error)
//	Stats() Stats
//	Close() error
//
// The engine declares the interface it consumes (protocol.Transport). A transport whose
// network limits how often a node may publish (Waku with RLN; transport/memory with
// Config.RateLimit) also implements RateLimiter; its Publish then fails with
// ErrRateLimited, without sending anything, when the current epoch's quota is used up.
//
// Semantics common to both transports (normative: spec/README.md, ## transport):
//   - Publish returns the message hash (MessageHash) once the message has left the node;
//     an error means it was not sent (no peers: ErrNoPeers; too large: ErrPayloadTooLarge).
//   - Subscribe delivers every message on the given content topics that reaches the node
//     after Subscribe returns, including the node's own publishes, each hash at most once
//     per node (de-duplicated over a window of DedupWindow hashes). The channel is closed
//     when ctx ends or the node closes. Each subscription has a bounded queue; a consumer
//     that falls QueueSize messages behind loses the newest ones, counted in
//     Stats.Overflows (never silently), and should catch up with History.
//   - History returns the stored messages on the topics with since <= Timestamp <= until
//     (a zero time is unbounded), de-duplicated by hash, ordered by (Timestamp, Hash).
//     A transport may bound one answer: it then returns an error that Is
//     ErrHistoryTruncated, with an answer complete up to a point (a *TruncatedError's
//     Complete, else the last returned timestamp) and possibly holding later messages
//     too; the caller continues from ResumeAt (and may see those later ones again),
//     passing back the error's Resume state, if any, with WithResume (transport/waku
//     then asks each store from its own cut). transport/memory never truncates.
//   - Every Envelope owns its Payload: the receiver may modify it.
package transport

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Envelope is a message as delivered to a subscriber or returned by History.
type Envelope struct {
	// Topic is the content topic.
	Topic string
	// Payload is the message body (owned by the receiver).
	Payload []byte
	// Hash is the Waku deterministic message hash (MessageHash) and identifies the message.
	Hash [32]byte
	// Timestamp is the sender's timestamp (nanosecond precision).
	Timestamp time.Time
}

// Bounds.
const (
	// MaxPayload is the largest payload Publish accepts: Waku's 150 KiB message limit
	// minus 4 KiB of headroom for the protobuf framing, topic and timestamp.
	MaxPayload = 150*1024 - 4096
	// MaxTopicLen is the longest content topic accepted.
	MaxTopicLen = 255
	// DedupWindow is the number of most recent delivered hashes a node remembers to
	// suppress duplicates.
	DedupWindow = 1 << 14
	// QueueSize is the default capacity of a subscription's queue.
	QueueSize = 4096
)

// Errors shared by the transports.
var (
	ErrClosed          = errors.New("transport: closed")
	ErrPayloadTooLarge = errors.New("transport: payload too large")
	// ErrEmptyPayload: Waku refuses messages without payload.
	ErrEmptyPayload = errors.New("transport: empty payload")
	ErrInvalidTopic = errors.New("transport: invalid topic")
	ErrNoTopics     = errors.New("transport: no topics")
	// ErrNoPeers: the node cannot reach the network (no relay peers, no service peer,
	// or offline in a simulation). The message was not sent; retry later.
	ErrNoPeers = errors.New("transport: not enough peers")
	// ErrNoHistory: no store is configured or reachable (ErrHistoryUnreachable).
	ErrNoHistory = errors.New("transport: history not available")
	// ErrHistoryUnreachable (errors.Is it ErrNoHistory too): stores are configured but
	// none answered this time (unreachable, failing or silent past its deadline). Unlike
	// an ErrNoHistory alone (no store at all), retry later.
	ErrHistoryUnreachable = fmt.Errorf("%w: no store answered", ErrNoHistory)
	// ErrHistoryTruncated: History found more messages than it returns at once. The
	// answer is complete up to a point — a *TruncatedError's Complete, or without one
	// the last returned timestamp — and may hold later messages as well; continue from
	// ResumeAt.
	ErrHistoryTruncated = errors.New("transport: history truncated")
	// ErrRateLimited: the node used up its publish quota for the current epoch (RLN).
	// Nothing was sent and no quota was consumed; retry at Quota(now).ResetAt.
	ErrRateLimited = errors.New("transport: publish quota of this epoch used up")
)

// Quota is a node's publish budget in one epoch (modelled on the Logos RLN module's
// EpochQuota{epoch, rate_limit, remaining}).
type Quota struct {
	// Epoch is the index of the epoch the quota is for (RLN: unix time / epoch length).
	Epoch uint64
	// Limit is the number of messages allowed per epoch.
	Limit int
	// Remaining is how many more messages may be published in Epoch.
	Remaining int
	// ResetAt is when the next epoch, and with it a full quota, begins.
	ResetAt time.Time
}

// RateLimiter is the capability of a rate-limited transport (consumer side: protocol).
// Exactly one counter decides: the quota Quota reports is the one Publish consumes (for
// RLN, the epochs proofs are generated for), and it is kept across restarts, so a node
// can never publish more than Limit messages in one epoch (RLN: never signal twice).
type RateLimiter interface {
	// RateLimit returns the number of messages allowed per epoch and the epoch length.
	RateLimit() (messages int, epoch time.Duration)
	// Quota returns the quota of the epoch containing now.
	Quota(now time.Time) Quota
}

// EpochOf returns the index of the epoch of length d containing t (unix time / d) and
// the start of the next epoch.
func EpochOf(t time.Time, d time.Duration) (epoch uint64, next time.Time) {
	if d <= 0 {
		d = time.Second
	}
	ns := t.UnixNano()
	if ns < 0 {
		ns = 0
	}
	e := uint64(ns / int64(d))
	return e, time.Unix(0, int64(e+1)*int64(d))
}

// Stats are a node's (or a simulated network's) counters since it started.
type Stats struct {
	// Publishes counts successful Publish calls.
	Publishes int64
	// Bytes counts the payload bytes of successful publishes.
	Bytes int64
	// Received counts messages that reached the node for a subscribed topic,
	// duplicates included.
	Received int64
	// Duplicates counts received messages suppressed because their hash was seen.
	Duplicates int64
	// Deliveries counts envelopes handed to subscription channels (one per subscription).
	Deliveries int64
	// Overflows counts envelopes discarded because a subscription's queue was full.
	Overflows int64
	// Lost counts messages the transport knows were lost. memory: copies the simulated
	// network dropped on their way to the node (drop rate, offline). waku: messages
	// libp2p-pubsub dropped on this node — incoming ones refused by a full validation
	// queue, and outbound copies to a peer whose queue was full (one per peer, so the
	// message may still arrive through another peer). Loss elsewhere in the network is
	// invisible to the node: catch up with History.
	Lost int64
}

// CheckPublish validates the arguments of Publish.
func CheckPublish(topic string, payload []byte) error {
	if topic == "" || len(topic) > MaxTopicLen {
		return ErrInvalidTopic
	}
	if len(payload) == 0 {
		return ErrEmptyPayload
	}
	if len(payload) > MaxPayload {
		return ErrPayloadTooLarge
	}
	return nil
}

// CheckTopics validates the topics of Subscribe and History.
func CheckTopics(topics []string) error {
	if len(topics) == 0 {
		return ErrNoTopics
	}
	for _, t := range topics {
		if t == "" || len(t) > MaxTopicLen {
			return ErrInvalidTopic
		}
	}
	return nil
}

// MessageHash is the Waku deterministic message hash (14/WAKU2-MESSAGE) of a message
// without meta: SHA-256(pubsubTopic || payload || contentTopic || timestamp as 8-byte
// big-endian unix nanoseconds).
func MessageHash(pubsubTopic, contentTopic string, payload []byte, timestamp int64) [32]byte {
	if n := len(pubsubTopic) + len(payload) + len(contentTopic) + 8; n <= messageHashStack {
		// A group message's envelope hashed in one call from the stack: no digest
		// allocated per publish (issue 16: the memory transport hashes every publish on
		// the sender's goroutine).
		var buf [messageHashStack]byte
		i := copy(buf[:], pubsubTopic)
		i += copy(buf[i:], payload)
		i += copy(buf[i:], contentTopic)
		binary.BigEndian.PutUint64(buf[i:], uint64(timestamp))
		return sha256.Sum256(buf[:n])
	}
	h := sha256.New()
	h.Write([]byte(pubsubTopic))
	h.Write(payload)
	h.Write([]byte(contentTopic))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(timestamp))
	h.Write(ts[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// messageHashStack is the largest input MessageHash hashes from a stack buffer.
const messageHashStack = 1024

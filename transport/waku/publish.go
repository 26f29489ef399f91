package waku

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/waku-org/go-waku/waku/v2/protocol"
	"github.com/waku-org/go-waku/waku/v2/protocol/lightpush"
	"github.com/waku-org/go-waku/waku/v2/protocol/pb"
	"github.com/waku-org/go-waku/waku/v2/protocol/relay"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/transport"
)

// Publish sends payload on the content topic and returns the Waku message hash. It
// waits for a token of the publish pacing (honouring ctx), then hands the message to
// the relay, or for a light node to one service peer through lightpush (trying the
// next peer on failure). No peers: an error wrapping transport.ErrNoPeers.
func (n *Node) Publish(ctx context.Context, topic string, payload []byte) ([32]byte, error) {
	if err := transport.CheckPublish(topic, payload); err != nil {
		return [32]byte{}, err
	}
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return [32]byte{}, err
	}
	defer done()
	if err := n.limiter.Wait(ctx); err != nil {
		return [32]byte{}, n.closedErr(err)
	}
	msg := &pb.WakuMessage{Payload: payload, ContentTopic: topic, Timestamp: proto.Int64(n.timestamp())}
	var h pb.MessageHash
	if n.cfg.Light {
		h, err = n.lightpush(ctx, msg)
	} else {
		if n.rln != nil {
			if err := n.rln.check(); err != nil {
				return [32]byte{}, err
			}
			// No proof (and no epoch spent) for a publish that cannot leave the node.
			if peers := len(n.w.Relay().PubSub().ListPeers(n.cfg.PubsubTopic)); peers < n.cfg.MinPeers {
				return [32]byte{}, fmt.Errorf("waku: relay publish: %w (%d of %d relay peers)", transport.ErrNoPeers, peers, n.cfg.MinPeers)
			}
			// The epoch is recorded as used before the proof: if the publish fails below,
			// the epoch is lost, never signalled twice.
			if err := n.rln.prove(msg); err != nil {
				return [32]byte{}, err
			}
		}
		h, err = n.w.Relay().Publish(ctx, msg, relay.WithPubSubTopic(n.cfg.PubsubTopic))
		if isNoPeers(err) {
			err = fmt.Errorf("waku: relay publish: %w (%v)", transport.ErrNoPeers, err)
		} else if err != nil {
			err = fmt.Errorf("waku: relay publish: %w", err)
		}
	}
	if err != nil {
		return [32]byte{}, n.closedErr(err)
	}
	n.counters.Published(len(payload))
	return h, nil
}

// timestamp returns the current unix time in nanoseconds with its sub-second part
// replaced by a uniformly random one: the sub-second digits of a sender's clock would
// tell publishers apart across topics (issue 19, spec "Observers"), while distinct
// timestamps keep hashes distinct and let a History answer cut at HistoryLimit continue
// from its last timestamp without skipping messages that share a second. Within one
// second the order of a node's publishes is not kept (receivers order by their own
// rules: sender-key iterations, causal history).
func (n *Node) timestamp() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return time.Now().UnixNano()
	}
	return time.Now().Truncate(time.Second).UnixNano() + int64(binary.BigEndian.Uint64(b[:])%uint64(time.Second))
}

func (n *Node) lightpush(ctx context.Context, msg *pb.WakuMessage) (pb.MessageHash, error) {
	peers := n.servicePeers(false)
	if len(peers) == 0 {
		return pb.MessageHash{}, fmt.Errorf("waku: lightpush: no service peer: %w", transport.ErrNoPeers)
	}
	n.mu.Lock()
	start := n.next % len(peers)
	n.next++
	n.mu.Unlock()
	// Round robin, connected peers first.
	order := append(slices.Clone(peers[start:]), peers[:start]...)
	slices.SortStableFunc(order, func(a, b peer.ID) int {
		return cmpBool(n.connected(b), n.connected(a))
	})
	var errs []error
	for _, p := range order {
		h, err := n.w.Lightpush().Publish(ctx, msg,
			lightpush.WithPubSubTopic(n.cfg.PubsubTopic), lightpush.WithPeer(p))
		if err == nil {
			return h, nil
		}
		if ctx.Err() != nil {
			return pb.MessageHash{}, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.ShortString(), err))
	}
	return pb.MessageHash{}, fmt.Errorf("waku: lightpush failed on every service peer: %w %v", transport.ErrNoPeers, errs)
}

// Subscribe returns a channel of the messages on topics that reach the node from now
// on (own publishes included), each hash once; it is closed when ctx ends or the node
// closes. A light node subscribes through filter before returning; if no service peer
// accepts, it logs and keeps retrying in the background.
func (n *Node) Subscribe(ctx context.Context, topics []string) (<-chan transport.Envelope, error) {
	if err := transport.CheckTopics(topics); err != nil {
		return nil, err
	}
	opCtx, done, err := n.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	ch, err := n.hub.Subscribe(ctx, topics)
	if err != nil {
		return nil, err
	}
	if n.filters != nil {
		n.filters.reconcile(opCtx)
	}
	return ch, nil
}

// deliver hands a go-waku envelope on our shard to the subscriptions.
func (n *Node) deliver(env *protocol.Envelope) {
	if env.PubsubTopic() != n.cfg.PubsubTopic {
		return
	}
	m := env.Message()
	ts := m.GetTimestamp()
	if ts == 0 {
		ts = env.Index().ReceiverTime
	}
	n.hub.Deliver(transport.Envelope{
		Topic:     m.ContentTopic,
		Payload:   m.Payload,
		Hash:      env.Hash(),
		Timestamp: time.Unix(0, ts),
	})
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func protocolFilter(pubsubTopic string, contentTopics ...string) protocol.ContentFilter {
	return protocol.NewContentFilter(pubsubTopic, contentTopics...)
}

package waku

import (
	"sync/atomic"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// dropTracer counts the messages libp2p-pubsub drops on this node, which it otherwise
// only logs at debug level: incoming messages refused because the validation queue is
// full or throttled, outbound messages dropped because a peer's queue is full, and
// messages our relay subscription did not read in time. The counts feed Stats.Lost
// and a warning, so that a drop is never silent.
type dropTracer struct {
	onDrop      func(kind string, n int)
	validation  atomic.Int64
	outbound    atomic.Int64
	subscribers atomic.Int64
}

var _ pubsub.RawTracer = (*dropTracer)(nil)

func (d *dropTracer) RejectMessage(_ *pubsub.Message, reason string) {
	if reason == pubsub.RejectValidationQueueFull || reason == pubsub.RejectValidationThrottled {
		d.validation.Add(1)
		d.onDrop("incoming message (validation queue full)", 1)
	}
}

func (d *dropTracer) DropRPC(rpc *pubsub.RPC, _ peer.ID) {
	if n := len(rpc.GetPublish()); n > 0 {
		d.outbound.Add(int64(n))
		d.onDrop("outbound message (peer queue full)", n)
	}
}

func (d *dropTracer) UndeliverableMessage(*pubsub.Message) {
	d.subscribers.Add(1)
	d.onDrop("incoming message (relay subscriber too slow)", 1)
}

func (d *dropTracer) AddPeer(peer.ID, protocol.ID)     {}
func (d *dropTracer) RemovePeer(peer.ID)               {}
func (d *dropTracer) Join(string)                      {}
func (d *dropTracer) Leave(string)                     {}
func (d *dropTracer) Graft(peer.ID, string)            {}
func (d *dropTracer) Prune(peer.ID, string)            {}
func (d *dropTracer) ValidateMessage(*pubsub.Message)  {}
func (d *dropTracer) DeliverMessage(*pubsub.Message)   {}
func (d *dropTracer) DuplicateMessage(*pubsub.Message) {}
func (d *dropTracer) ThrottlePeer(peer.ID)             {}
func (d *dropTracer) RecvRPC(*pubsub.RPC)              {}
func (d *dropTracer) SendRPC(*pubsub.RPC, peer.ID)     {}

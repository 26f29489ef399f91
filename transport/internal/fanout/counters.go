// Package fanout is the subscriber side shared by the transports: per-node
// de-duplication by hash, fan-out to subscriptions by content topic, and bounded
// per-subscription queues drained by one goroutine each, so that delivery never blocks
// the caller (a network reader or a publisher).
package fanout

import (
	"sync/atomic"

	"github.com/chorus-im/chorus/transport"
)

// Counters are atomic transport.Stats; an increment also goes to Parent if set, so a
// simulated network can total its nodes.
type Counters struct {
	Parent *Counters

	publishes, bytes, received, duplicates, deliveries, overflows, lost atomic.Int64
}

func (c *Counters) each(f func(*Counters)) {
	for ; c != nil; c = c.Parent {
		f(c)
	}
}

// Published records a successful publish of n payload bytes.
func (c *Counters) Published(n int) {
	c.each(func(c *Counters) { c.publishes.Add(1); c.bytes.Add(int64(n)) })
}

// AddLost records messages lost on their way to the node.
func (c *Counters) AddLost(n int64) { c.each(func(c *Counters) { c.lost.Add(n) }) }

func (c *Counters) addReceived()  { c.each(func(c *Counters) { c.received.Add(1) }) }
func (c *Counters) addDuplicate() { c.each(func(c *Counters) { c.duplicates.Add(1) }) }
func (c *Counters) addDelivery()  { c.each(func(c *Counters) { c.deliveries.Add(1) }) }
func (c *Counters) addOverflow()  { c.each(func(c *Counters) { c.overflows.Add(1) }) }

// Stats returns a snapshot.
func (c *Counters) Stats() transport.Stats {
	return transport.Stats{
		Publishes:  c.publishes.Load(),
		Bytes:      c.bytes.Load(),
		Received:   c.received.Load(),
		Duplicates: c.duplicates.Load(),
		Deliveries: c.deliveries.Load(),
		Overflows:  c.overflows.Load(),
		Lost:       c.lost.Load(),
	}
}

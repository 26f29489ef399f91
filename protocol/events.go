package protocol

import (
	"context"
	"sync"
)

// Event is something the engine reports on the stream returned by Client.Subscribe:
// one of *MessageReceived, *MembershipChanged, *MessageMissing, *DeliveryStatusChanged,
// *GroupJoined, *InstallationsChanged, *AccountLinked, *MessageQueued or *EventsDropped.
type Event interface{ isEvent() }

// MessageReceived reports a new inbound group message (already stored; see Messages).
type MessageReceived struct{ Message Message }

// MembershipChanged reports a change of a group's membership or metadata.
type MembershipChanged struct {
	Group                        GroupID
	MembersAdded, MembersRemoved []string
	AdminsAdded, AdminsRemoved   []string
	Removed                      bool // we were removed (or left)
	Name, Description, Color     string
}

// MessageMissing reports messages the engine knows it has not received and could not
// fetch from history (R1), in one of two forms: a gap, iterations [From, To) of one
// sender installation's chain (KeyID names the chain); or, with ByHistory set, one
// message named in another message's causal history (MessageIDPrefix).
type MessageMissing struct {
	Group GroupID
	// SenderAccount is the sender's account, "" if its installation is unknown to us.
	SenderAccount      string
	SenderInstallation InstallationID
	// KeyID names the chain of a gap: the sender key id, or under key schedule v2 the
	// first 8 bytes of the epoch id. Zero with ByHistory.
	KeyID [8]byte
	// From and To bound a gap: iterations From (included) to To (excluded). Zero with
	// ByHistory.
	From, To uint32
	// MessageIDPrefix is the first 16 bytes of the missing message's id (ByHistory only:
	// the causal history names a message by its sender installation and this prefix).
	MessageIDPrefix [16]byte
	ByHistory       bool
}

// DeliveryStatusChanged reports a new delivery status of an outbound message.
type DeliveryStatusChanged struct {
	Message MessageID
	Group   GroupID
	Status  DeliveryStatus
}

// GroupJoined reports that we were welcomed into a group.
type GroupJoined struct {
	Group   GroupID
	Name    string
	Inviter string
}

// EventsDropped is delivered to a subscriber that fell more than EventBuffer events
// behind: Count events were dropped for it. Everything they reported is in the store
// (Messages, Groups); re-read it.
type EventsDropped struct{ Count int }

func (*MessageReceived) isEvent()       {}
func (*MembershipChanged) isEvent()     {}
func (*MessageMissing) isEvent()        {}
func (*DeliveryStatusChanged) isEvent() {}
func (*GroupJoined) isEvent()           {}
func (*EventsDropped) isEvent()         {}

type subscriber struct {
	ch      chan Event
	dropped int
}

// bus fans events out to subscribers without ever blocking the publisher.
type bus struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	done   chan struct{}
	closed bool
}

func newBus() *bus { return &bus{subs: make(map[*subscriber]struct{}), done: make(chan struct{})} }

func (b *bus) subscribe(ctx context.Context) <-chan Event {
	s := &subscriber{ch: make(chan Event, EventBuffer)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(s.ch)
		return s.ch
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-b.done:
		}
		b.mu.Lock()
		if _, ok := b.subs[s]; ok {
			delete(b.subs, s)
			close(s.ch)
		}
		b.mu.Unlock()
	}()
	return s.ch
}

func (b *bus) emit(evs ...Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		for _, ev := range evs {
			if s.dropped > 0 {
				select {
				case s.ch <- &EventsDropped{Count: s.dropped}:
					s.dropped = 0
				default:
					s.dropped++
					continue
				}
			}
			select {
			case s.ch <- ev:
			default:
				s.dropped++
			}
		}
	}
}

// close closes every subscriber channel.
func (b *bus) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	close(b.done)
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}

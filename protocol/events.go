package protocol

import (
	"context"
	"sync"
	"time"
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
//
// Events emitted late (emitLate: a send's status, recorded by the next send's
// transaction) wait up to lateDelay, at most lateMax of them, and go out before the
// next event emitted at once (issue 16): a subscriber parked on its channel is woken
// once per burst of sends, not once per send, the wake-up (a futex call) being paid by
// the sending goroutine. Their order with every other event is kept, and close
// delivers them first.
type bus struct {
	mu        sync.Mutex
	subs      map[*subscriber]struct{}
	done      chan struct{}
	closed    bool
	late      []Event     // emitted late, not delivered yet
	lateTimer *time.Timer // delivers late after lateDelay (armed while late is not empty)
	lateDelay time.Duration
}

// lateMax bounds the events held back by emitLate (well within a subscriber's buffer;
// above the sends of a stream within lateDelay, ≈ 70, so that the timer delivers them,
// not the sending goroutine).
const lateMax = max(EventBuffer/8, 1)

// lateDelay is how long an event emitted late may wait.
const lateDelay = markDelay

func newBus() *bus {
	return &bus{subs: make(map[*subscriber]struct{}), done: make(chan struct{}), lateDelay: lateDelay}
}

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
	b.flushLateLocked()
	b.deliverLocked(evs)
}

// emitLate is emit of events that may wait (see bus): they go out with the next emit,
// lateMax of them, after lateDelay, or at close, whichever comes first.
func (b *bus) emitLate(evs ...Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || len(b.subs) == 0 {
		return // as emit: nobody to tell
	}
	b.late = append(b.late, evs...)
	if len(b.late) >= lateMax {
		b.flushLateLocked()
		return
	}
	if len(b.late) == len(evs) { // the first held: arm the timer
		if b.lateTimer == nil {
			b.lateTimer = time.AfterFunc(b.lateDelay, b.flushLate)
		} else {
			b.lateTimer.Reset(b.lateDelay)
		}
	}
}

// flushLate delivers the events held back (lateTimer's).
func (b *bus) flushLate() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLateLocked()
}

func (b *bus) flushLateLocked() {
	if len(b.late) == 0 {
		return
	}
	if b.lateTimer != nil {
		b.lateTimer.Stop()
	}
	b.deliverLocked(b.late)
	clear(b.late)
	b.late = b.late[:0]
}

// deliverLocked hands evs to every subscriber (b.mu held).
func (b *bus) deliverLocked(evs []Event) {
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
	b.flushLateLocked()
	b.closed = true
	close(b.done)
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}

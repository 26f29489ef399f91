package protocol_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestNothingSentUnhealed (issue 13): after a member left, an installation that changes
// the group before the designated installation's heal reached it — a key event (an add, a
// removal), a non-key change (a rename), a device list that revokes nothing or revokes
// one of its own devices, an explicit Rekey — puts nothing under the epoch the leaver
// still holds but the healing rekey's own minimum: its key block and, as its message,
// membership events the leaver already held.
// The installation that left keeps every epoch it held and opens every publish made on
// the group topic after its leave.
func TestNothingSentUnhealed(t *testing.T) {
	actions := []struct {
		name string
		do   func(ctx context.Context, e *unhealedEnv) error
	}{
		{"add", func(ctx context.Context, e *unhealedEnv) error {
			return e.sender.c.AddMembers(ctx, e.g, e.outsider.id)
		}},
		{"remove", func(ctx context.Context, e *unhealedEnv) error {
			return e.sender.c.RemoveMembers(ctx, e.g, e.other.id)
		}},
		{"rename", func(ctx context.Context, e *unhealedEnv) error {
			return e.sender.c.SetName(ctx, e.g, "renamed-after-the-leave")
		}},
		{"devices", func(_ context.Context, e *unhealedEnv) error {
			return protocol.AnnounceDevicesForTest(e.sender.c)
		}},
		// A device list that revokes the sender's own second device while the leave is
		// unhealed: the leaver must not read it (it rides with the rekey only when the
		// revoked installations are the only departed ones).
		{"revoke", func(ctx context.Context, e *unhealedEnv) error {
			return e.sender.c.RevokeInstallation(ctx, installationOf(e.sender.t, e.sibling))
		}},
		{"rekey", func(ctx context.Context, e *unhealedEnv) error {
			return e.sender.c.Rekey(ctx, e.g)
		}},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			// Three remaining members, one designated to heal: the sender must not be it,
			// so the two admins take turns as the one online (with the leaver), on fresh
			// installations, until one is not.
			for i := 0; i < 8; i++ {
				if unhealedAttempt(t, i%2, a.do) {
					return
				}
			}
			t.Fatal("setup: the sender healed the leave on receipt in every attempt")
		})
	}
}

// unhealedEnv is what an action of TestNothingSentUnhealed acts on: the group, the
// installation sending, a member it may remove, an account it may add, the sender's
// second device (stopped before the leave).
type unhealedEnv struct {
	g                                protocol.GroupID
	sender, other, outsider, sibling *peer
}

func unhealedAttempt(t *testing.T, s int, do func(ctx context.Context, e *unhealedEnv) error) bool {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 7, Tap: rec.tap}, 0)
	for i := 0; i < 5; i++ {
		tn.addPersistent(fmt.Sprintf("p%d", i))
	}
	ps := tn.peers
	leaver, sender, outsider := ps[2], ps[s], ps[4]
	tn.connect(ps...)
	sibling := tn.link(sender, sender.name+".1")
	ctx := context.Background()
	g, err := ps[0].c.CreateGroup(ctx, "heal", "", ps[1].id, ps[2].id, ps[3].id)
	must(t, err)
	tn.settle()
	must(t, ps[0].c.AddAdmins(ctx, g, ps[1].id))
	tn.settle()
	waitSameEpoch(tn, g, append(ps[:4:4], sibling)...)
	info, err := sender.c.Group(ctx, g)
	must(t, err)
	var others []*peer
	for i, p := range ps[:4] {
		if i != s && p != leaver {
			p.stop()
			others = append(others, p)
		}
	}
	sibling.stop()
	kept := protocol.LiveEpochsForTest(leaver.c, g)
	if len(kept) == 0 {
		t.Fatal("setup: the leaver holds no epoch")
	}
	must(t, leaver.c.Leave(ctx, g))
	tn.settle(sender)
	if protocol.RekeysForTest(sender.c) != 0 {
		t.Logf("%s is designated: it healed on receipt", sender.name)
		return false
	}
	known := protocol.EventIDsForTest(sender.c, g) // what the leaver held too (its leave included)
	rec.start()
	must(t, do(ctx, &unhealedEnv{g: g, sender: sender, other: ps[3], outsider: outsider, sibling: sibling}))
	tn.settle(sender)
	sent := rec.stop()
	n, bytes := 0, 0
	for _, env := range sent {
		if env.Topic != info.Topic {
			continue
		}
		n++
		bytes += len(env.Payload)
		f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload)
		switch {
		case !f.Opened:
		case f.Block == nil:
			t.Errorf("the leaver opens a publish that carries no key block (type %#x, %d bytes)", f.Type, len(f.Body))
		case f.Block.Kind != epoch.KindRekey:
			t.Errorf("the leaver opens a membership key event's publish (type %#x, %d events)", f.Type, len(f.Events))
		case f.Body != nil && f.Type != wire.ContentMembership:
			t.Errorf("the leaver reads a message of type %#x riding with the healing rekey", f.Type)
		default:
			for _, id := range f.Events {
				if !known[id] {
					t.Errorf("the leaver reads a membership event %x it did not hold", id[:4])
				}
			}
		}
	}
	t.Logf("sender %s: %d publishes, %d bytes on the group topic, %d rekeys", sender.name, n, bytes, protocol.RekeysForTest(sender.c))
	for _, p := range others {
		p.start(false)
	}
	tn.settle()
	stay := []*peer{sender}
	for _, p := range others {
		if info, err := p.c.Group(ctx, g); err == nil && info.Status == protocol.GroupActive {
			stay = append(stay, p)
		}
	}
	if info, err := outsider.c.Group(ctx, g); err == nil && info.Status == protocol.GroupActive {
		stay = append(stay, outsider)
	}
	waitSameEpoch(tn, g, stay...)
	return true
}

package protocol_test

import (
	"context"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// badSeedFor makes author seal a seed other than the event's in victim's slot of the key
// blocks it authors (nil: stop).
func badSeedFor(t *testing.T, author, victim *peer) {
	if victim == nil {
		protocol.SetSlotSeedHookForTest(author.c, nil)
		return
	}
	vi := installationOf(t, victim)
	protocol.SetSlotSeedHookForTest(author.c, func(to protocol.InstallationID, seed epoch.Seed) epoch.Seed {
		if to == vi {
			seed[0] ^= 0xff
		}
		return seed
	})
}

// TestKeyConfirmSlot (issue 13 security, key confirmation): a member authoring a key event
// (a rekey; an admin's removal) seals a made-up seed in one victim's slot. Without the
// confirmation the victim took it and derived an epoch nobody else had: it read nothing
// more and nobody read it, silently. With it the victim refuses the seed (it fails the
// block's confirmation), heals at once with its own rekey, and everybody converges and
// reads each other.
func TestKeyConfirmSlot(t *testing.T) {
	for _, kind := range []string{"rekey", "removal"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			tn := newEpochNet(t, memory.Config{Seed: 83}, 5)
			a, b, c, v, x := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3], tn.peers[4]
			tn.connect(a, b, c, v, x)
			g, err := a.c.CreateGroup(ctx, "confirm", "", b.id, c.id, v.id, x.id)
			must(t, err)
			tn.settle()
			waitSameEpoch(tn, g, a, b, c, v, x)
			author := b
			if kind == "removal" {
				author = a
			}
			rekeys := protocol.RekeysForTest(v.c)
			badSeedFor(t, author, v)
			if kind == "rekey" {
				must(t, b.c.Rekey(ctx, g))
			} else {
				must(t, a.c.RemoveMembers(ctx, g, x.id))
			}
			badSeedFor(t, author, nil)
			tn.settle()
			waitSameEpoch(tn, g, a, b, c, v)
			if protocol.RekeysForTest(v.c) == rekeys {
				t.Error("the victim did not heal with a rekey of its own")
			}
			mustSend(t, v, g, "v after the bad seed")
			mustSend(t, a, g, "a after the bad seed")
			waitTexts(t, tn, g, []string{"v after the bad seed"}, a, b, c)
			waitTexts(t, tn, g, []string{"a after the bad seed"}, v)
		})
	}
}

// TestKeyConfirmTampered: a slot whose seed fails the block's confirmation (a misbehaving
// author), and a slot of a block whose confirmation was changed in transit (by someone
// holding the outer key: the confirmation is in the slot context, so the Double Ratchet
// open fails), are refused with the recipient's state byte-identical (its session with the
// author not advanced either). The genuine slot of another recipient opens.
func TestKeyConfirmTampered(t *testing.T) {
	ctx := context.Background()
	tp := &pubLog{}
	tn := newEpochNet(t, memory.Config{Seed: 87, Tap: tp.record}, 4)
	a, b, c, v := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, v)
	g, err := a.c.CreateGroup(ctx, "confirm", "", b.id, c.id, v.id)
	must(t, err)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, v)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	tn.net.SetOffline(c.name, true)
	tn.net.SetOffline(v.name, true)
	mark := tp.len()
	badSeedFor(t, b, v)
	must(t, b.c.Rekey(ctx, g))
	badSeedFor(t, b, nil)
	pubs := tp.since(mark, b.name, info.Topic)
	if len(pubs) != 1 {
		t.Fatalf("rekey: %d publishes", len(pubs))
	}
	genuine, kb := keyBlockOf(t, a.c, g, pubs[0])
	changed := *kb
	changed.Confirmation[0] ^= 1
	tampered, err := changed.MarshalBinary()
	must(t, err)
	for _, tc := range []struct {
		name  string
		to    *peer
		block []byte
	}{
		{"seed failing the confirmation", v, genuine},
		{"confirmation changed", v, tampered},
		{"confirmation changed", c, tampered},
	} {
		before := protocol.StateDigest(tc.to.c)
		if err := protocol.OpenSlotForTest(tc.to.c, g, tc.block); err == nil {
			t.Errorf("%s, %s: the slot opened", tc.to.name, tc.name)
		}
		if protocol.StateDigest(tc.to.c) != before {
			t.Errorf("%s, %s: state changed", tc.to.name, tc.name)
		}
	}
	if err := protocol.OpenSlotForTest(c.c, g, genuine); err != nil {
		t.Fatalf("c: the genuine slot does not open: %v", err)
	}
	tn.net.SetOffline(c.name, false)
	tn.net.SetOffline(v.name, false)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, v)
	mustSend(t, v, g, "v after the tampered block")
	waitTexts(t, tn, g, []string{"v after the tampered block"}, a, b, c)
}

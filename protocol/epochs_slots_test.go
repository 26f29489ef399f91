package protocol_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport"
	"github.com/chorus-im/chorus/transport/memory"
)

// pubLog records every publish of a memory network.
type pubLog struct {
	mu   sync.Mutex
	pubs []tapped
}

type tapped struct {
	from, topic string
	payload     []byte
}

func (tp *pubLog) record(from string, env transport.Envelope) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.pubs = append(tp.pubs, tapped{from, env.Topic, bytes.Clone(env.Payload)})
}

// since returns the payloads from published on topic after the first n publishes.
func (tp *pubLog) since(n int, from, topic string) [][]byte {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var out [][]byte
	for _, p := range tp.pubs[n:] {
		if p.from == from && p.topic == topic {
			out = append(out, p.payload)
		}
	}
	return out
}

func (tp *pubLog) len() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return len(tp.pubs)
}

// keyBlockOf opens a group payload at c and returns its frame's key block (raw and parsed).
func keyBlockOf(t *testing.T, c *protocol.Client, g protocol.GroupID, payload []byte) ([]byte, *epoch.KeyBlock) {
	t.Helper()
	inner := protocol.InnerFrame(c, g, payload)
	if inner == nil {
		t.Fatal("payload does not open")
	}
	f, err := wire.ParseFrameV2(inner)
	if err != nil || f.Block == nil {
		t.Fatalf("no key block in the frame (%v)", err)
	}
	kb, err := epoch.ParseKeyBlock(epoch.ID(g), f.Block)
	if err != nil {
		t.Fatal(err)
	}
	return f.Block, kb
}

// TestEpochsInitialSlotSize (issue 13): right after creation no member has answered the
// creator pairwise, so every slot of its key blocks starts a session; such a slot carries
// the X3DH header without the initiator identity (the block's author), ≈ 150 B instead of
// ≈ 231 B with the full header. A removal right after creating a group of 50 one-device
// members (CHORUS_COST_MEMBERS sets N): every slot is a compact initial slot, block bytes
// per slot ≤ 160, at most 2 publishes, and everyone left reaches the removal's epoch.
func TestEpochsInitialSlotSize(t *testing.T) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CHORUS_COST_MEMBERS")); err == nil && v >= 4 {
		n = v
	}
	tp := &pubLog{}
	tn := newEpochNet(t, memory.Config{Seed: 13, Tap: tp.record}, n)
	tn.connect(tn.peers...)
	ctx := context.Background()
	admin, members := tn.peers[0], tn.peers[1:]
	g, err := admin.c.CreateGroup(ctx, "slots", "", ids(members...)...)
	must(t, err)
	tn.settle()
	info, err := admin.c.Group(ctx, g)
	must(t, err)
	victim := members[len(members)-1]
	mark := tp.len()
	must(t, admin.c.RemoveMembers(ctx, g, victim.id))
	pubs := tp.since(mark, admin.name, info.Topic)
	var wireBytes, blockBytes, msgBytes int
	var slots []epoch.Slot
	for _, p := range pubs {
		block, kb := keyBlockOf(t, admin.c, g, p)
		f, err := wire.ParseFrameV2(protocol.InnerFrame(admin.c, g, p))
		must(t, err)
		wireBytes += len(p)
		blockBytes += len(block) - kb.HeaderSize()
		msgBytes += len(f.Message)
		slots = append(slots, kb.Slots...)
	}
	if len(slots) == 0 {
		t.Fatal("no slots")
	}
	per := blockBytes / len(slots)
	t.Logf("removal right after creation, %d members x 1: %d publishes, %d B on the wire (message %d B), %d slots, %d B per slot",
		n, len(pubs), wireBytes, msgBytes, len(slots), per)
	if len(pubs) > 2 || len(slots) != n-2 {
		t.Fatalf("removal: %d publishes (want ≤ 2), %d slots (want %d)", len(pubs), len(slots), n-2)
	}
	if per > 160 {
		t.Fatalf("%d B per slot, want ≤ 160 (the X3DH header without the initiator identity)", per)
	}
	for i, sl := range slots {
		if sl.Kind != epoch.SlotInitialCompact {
			t.Fatalf("slot %d: kind %d, want a compact initial slot", i, sl.Kind)
		}
	}
	tn.settle()
	waitSameEpoch(tn, g, append([]*peer{admin}, members[:len(members)-1]...)...)
	mustSend(t, members[0], g, "after the removal")
	waitTexts(t, tn, g, []string{"after the removal"}, append([]*peer{admin}, members[1:len(members)-1]...)...)
}

// TestSecCompactSlotTampered: a compact initial slot with a wrong ephemeral key, a wrong
// signed-prekey id or one-time prekey, a broken header, or moved into another member's
// block (its X3DH header then completed with that author's identity) does not open and
// changes nothing at the recipient (no session, no prekey used). Recipient b has not
// processed its Welcome (offline during creation), so the slot's header must start the
// session; c holds it (its Welcome), where the header only names it by its base key. The
// genuine slot opens at b, which then joins and reaches the author's epoch.
func TestSecCompactSlotTampered(t *testing.T) {
	tp := &pubLog{}
	tn := newEpochNet(t, memory.Config{Seed: 31, Tap: tp.record}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	ctx := context.Background()
	tn.net.SetOffline(b.name, true) // b gets its Welcome and a's rekey only at the end
	g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id, d.id)
	must(t, err)
	tn.settle(a, c, d)
	info, err := a.c.Group(ctx, g)
	must(t, err)
	mark := tp.len()
	must(t, a.c.Rekey(ctx, g))
	pubs := tp.since(mark, a.name, info.Topic)
	if len(pubs) != 1 {
		t.Fatalf("rekey: %d publishes", len(pubs))
	}
	// c and d apply the rekey now, not during the checks below (a state digest taken
	// while it is being applied would change for a reason other than the tampered slot).
	tn.settle(a, c, d)
	waitSameEpoch(tn, g, a, c, d)
	genuine, kb := keyBlockOf(t, c.c, g, pubs[0])
	// Another member's block (d's rekey) to carry a's slot, its hint made the recipient's.
	_, other := keyBlockOf(t, d.c, g, protocol.ForgedRekeyForTest(d.c, g, 7))
	for _, to := range []*peer{b, c} {
		hint := epoch.SlotHint(kb.Event, epoch.Installation(installationOf(t, to)))
		sl, ok := kb.Find(hint)
		if !ok || sl.Kind != epoch.SlotInitialCompact {
			t.Fatalf("%s's slot: found %v, kind %d (want a compact initial slot)", to.name, ok, sl.Kind)
		}
		tampered := func(f func(h []byte) []byte) []byte {
			cp := *kb
			cp.Slots = slices.Clone(kb.Slots)
			s, _ := cp.Find(hint)
			s.X3DHHeader = f(bytes.Clone(s.X3DHHeader))
			enc, err := cp.MarshalBinary()
			must(t, err)
			return enc
		}
		moved := *sl
		moved.Hint = epoch.SlotHint(other.Event, epoch.Installation(installationOf(t, to)))
		mv := *other
		mv.Slots = []epoch.Slot{moved}
		movedEnc, err := mv.MarshalBinary()
		must(t, err)
		cases := []struct {
			name  string
			block []byte
		}{
			{"wrong ephemeral", tampered(func(h []byte) []byte { h[1] ^= 1; return h })},
			{"ephemeral of another point", tampered(func(h []byte) []byte { h[32] ^= 0x40; return h })},
			{"bad flag", tampered(func(h []byte) []byte { h[37] = 2; return h })},
			{"x3dh version 2", tampered(func(h []byte) []byte { h[0] = 2; return h })},
			{"truncated header", tampered(func(h []byte) []byte { return h[:len(h)-1] })},
			{"full-size header", tampered(func(h []byte) []byte { return append(make([]byte, 81), h...) })},
			{"moved into another author's block", movedEnc},
		}
		if to == b { // no session yet: the header's prekey ids are used
			cases = append(cases, []struct {
				name  string
				block []byte
			}{
				{"wrong spk id", tampered(func(h []byte) []byte { h[36] ^= 1; return h })},
				{"one-time prekey flag flipped", tampered(func(h []byte) []byte {
					if h[37] == 1 {
						return h[:38:38]
					}
					h[37] = 1
					return append(h, 0, 0, 0, 100)
				})},
			}...)
		}
		for _, tc := range cases {
			before := protocol.StateDigest(to.c)
			if err := protocol.OpenSlotForTest(to.c, g, tc.block); err == nil {
				t.Fatalf("%s, %s: the slot opened", to.name, tc.name)
			}
			if protocol.StateDigest(to.c) != before {
				t.Fatalf("%s, %s: state changed", to.name, tc.name)
			}
		}
		if to == b { // (c opened it when the rekey arrived)
			if err := protocol.OpenSlotForTest(to.c, g, genuine); err != nil {
				t.Fatalf("%s: the genuine slot does not open: %v", to.name, err)
			}
		}
	}
	tn.net.SetOffline(b.name, false)
	tn.settle()
	waitSameEpoch(tn, g, a, b, c, d)
	mustSend(t, a, g, "after the rekey")
	waitTexts(t, tn, g, []string{"after the rekey"}, b, c, d)
}

package protocol_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/transport/memory"
)

// welcomeBytes counts the Welcome v2 plaintext bytes c sends while f runs.
func welcomeBytes(c *protocol.Client, f func()) int {
	var mu sync.Mutex
	n := 0
	protocol.SetPadHook(c, func(typ wire.PairwiseType, plain, _, _ int) {
		if typ == wire.PairwiseWelcomeV2 {
			mu.Lock()
			n += plain
			mu.Unlock()
		}
	})
	f()
	protocol.SetPadHook(c, nil)
	mu.Lock()
	defer mu.Unlock()
	return n
}

// TestAddWelcomeNoHistory: the Welcome a member added to a group receives does not grow
// with the number of past membership events (issue 13; spec: "Welcome v2", snapshot add
// Welcome): adding X to a group with 40 add/remove cycles of another member behind it
// costs X's Welcome at most 10 % more than adding X to the same membership without that
// history. X then reads the group, and its membership is everyone's.
func TestAddWelcomeNoHistory(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 13}, 3)
	a, b, c := tn.peers[0], tn.peers[1], tn.peers[2]
	d := tn.add("d")
	if os.Getenv("SNAP_DEBUG") != "" {
		d = tn.addAt("d2", ":memory:", protocol.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	x := tn.addPersistent("x")
	tn.connect(a, b, c, d, x)
	tn.settle()
	old, err := a.c.CreateGroup(ctx, "history", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := a.c.CreateGroup(ctx, "fresh", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for i := 0; i < 40; i++ {
		must(t, a.c.AddMembers(ctx, old, d.id))
		must(t, a.c.RemoveMembers(ctx, old, d.id))
		if i%10 == 9 {
			tn.settle()
		}
	}
	tn.settle()
	withHistory := welcomeBytes(a.c, func() { must(t, a.c.AddMembers(ctx, old, x.id)) })
	without := welcomeBytes(a.c, func() { must(t, a.c.AddMembers(ctx, fresh, x.id)) })
	tn.settle()
	if !protocol.BasedForTest(x.c, old) {
		t.Error("X does not hold the group with history from a snapshot")
	}
	t.Logf("add Welcome to X: %d B after 80 past events, %d B without history", withHistory, without)
	if without == 0 || withHistory > without*11/10 {
		t.Errorf("add Welcome grows with the history: %d B with 80 past events, %d B without", withHistory, without)
	}
	for _, g := range []protocol.GroupID{old, fresh} {
		want, err := a.c.Group(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*peer{b, c, x} {
			tn.waitFor("same membership", func() bool {
				info, err := p.c.Group(ctx, g)
				return err == nil && slices.Equal(info.Members, want.Members) && slices.Equal(info.Admins, want.Admins)
			})
		}
		mustSend(t, b, g, "after X joined "+want.Name)
		waitTexts(t, tn, g, []string{"after X joined " + want.Name}, x)
	}
	// The based state survives a restart (stored as a snapshot).
	x.restart()
	if !protocol.BasedForTest(x.c, old) {
		t.Error("X no longer holds the group from its snapshot after a restart")
	}
	// Later changes extend X's state.
	must(t, a.c.RemoveMembers(ctx, old, c.id))
	must(t, a.c.AddMembers(ctx, old, d.id))
	must(t, a.c.SetName(ctx, old, "renamed"))
	tn.settle()
	want, err := a.c.Group(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("X follows later changes", func() bool {
		info, err := x.c.Group(ctx, old)
		return err == nil && info.Name == "renamed" && slices.Equal(info.Members, want.Members) && slices.Equal(info.Admins, want.Admins)
	})
	mustSend(t, d, old, "d is back")
	waitTexts(t, tn, old, []string{"d is back"}, a, b, x)
}

// TestSecSnapshotWelcome: a snapshot add Welcome is heard only from its inviter — an
// unrevoked installation of an admin of the snapshot whose signed MEMBERS_ADDED naming us
// it carries. A carried event whose signature does not recover, a snapshot relayed by a
// member that did not sign the add, one whose add is signed by a non-admin (even listing
// us as a member), and truncated snapshots are refused, our state unchanged; the
// inviter's own snapshot is accepted.
func TestSecSnapshotWelcome(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 31}, 3)
	a, b, x := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, x)
	g, err := a.c.CreateGroup(ctx, "snap", "", b.id)
	must(t, err)
	tn.waitFor("joined", func() bool { _, err := b.c.Group(ctx, g); return err == nil })
	tn.settle()
	xi := installationOf(t, x)
	genuine, err := protocol.SnapshotForTest(a.c, g, x.id, nil)
	must(t, err)
	badSig, err := protocol.SnapshotForTest(a.c, g, x.id, func(base *membership.Base) {
		e := base.Events[0]
		e.Signature = slices.Clone(e.Signature)
		e.Signature[64] = 9 // no recovery id
		base.Events[0] = e
	})
	must(t, err)
	byNonAdmin, err := protocol.SnapshotForTest(b.c, g, x.id, func(base *membership.Base) {
		base.Members = membership.MembersOf(append(base.Members.Strings(), x.id)...)
	})
	must(t, err)
	digest := protocol.StateDigest(x.c)
	cases := []struct {
		name string
		from *peer
		snap []byte
	}{
		{"bad head signature", a, badSig},
		{"relayed by a member that did not sign the add", b, genuine},
		{"add signed by a non-admin", b, byNonAdmin},
		{"truncated by one byte", a, genuine[:len(genuine)-1]},
		{"truncated to its half", a, genuine[:len(genuine)/2]},
	}
	for _, tc := range cases {
		must(t, protocol.SendSnapshotWelcomeForTest(tc.from.c, xi, g, tc.snap))
		tn.settle()
		if _, err := x.c.Group(ctx, g); err == nil {
			t.Fatalf("%s: joined", tc.name)
		}
		if d := protocol.StateDigest(x.c); d != digest {
			t.Fatalf("%s: state changed", tc.name)
		}
	}
	must(t, protocol.SendSnapshotWelcomeForTest(a.c, xi, g, genuine))
	tn.waitFor("the inviter's snapshot joins", func() bool {
		info, err := x.c.Group(ctx, g)
		return err == nil && slices.Contains(info.Members, x.id)
	})
}

// TestAddConcurrentSnapshot: an add whose newcomer joins from a snapshot, concurrent with
// another admin's rename and removal (the two admins offline while they act): the
// newcomer cannot judge the concurrent events from its snapshot; its inviter, applying
// them, sends it the full log, and everyone converges on the same membership, name and
// epoch, the newcomer reading the others.
func TestAddConcurrentSnapshot(t *testing.T) {
	for i, name := range []string{"rename", "remove", "rename-remove"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tn := newEpochNet(t, memory.Config{Seed: int64(300 + i)}, 0)
			a, b := tn.addPersistent("a"), tn.addPersistent("b")
			c, d, e, f := tn.add("c"), tn.add("d"), tn.add("e"), tn.add("f")
			tn.connect(a, b, c, d, e, f)
			g, err := a.c.CreateGroup(ctx, "g", "", b.id, c.id, d.id)
			must(t, err)
			tn.settle()
			must(t, a.c.AddAdmins(ctx, g, b.id))
			for range 3 { // some history: the add Welcome carries a snapshot
				must(t, a.c.AddMembers(ctx, g, e.id))
				must(t, a.c.RemoveMembers(ctx, g, e.id))
			}
			tn.settle()
			a.pause()
			b.pause()
			if name != "remove" {
				must(t, a.c.SetName(ctx, g, "renamed"))
			}
			if name != "rename" {
				must(t, a.c.RemoveMembers(ctx, g, d.id))
			}
			snap := welcomeBytes(b.c, func() { must(t, b.c.AddMembers(ctx, g, f.id)) })
			a.restart()
			b.restart()
			members := []*peer{a, b, c, f}
			if name == "rename" {
				members = append(members, d)
			}
			var want protocol.GroupInfo
			tn.waitFor("same membership, name and epoch", func() bool {
				var ep epoch.ID
				for i, q := range members {
					info, err := q.c.Group(ctx, g)
					if err != nil || info.Status != protocol.GroupActive {
						return false
					}
					_, _, cur := protocol.EpochInfo(q.c, g)
					if i == 0 {
						want, ep = info, cur
					}
					if cur == (epoch.ID{}) || cur != ep || info.Name != want.Name || !slices.Equal(info.Members, want.Members) ||
						!slices.Equal(info.Admins, want.Admins) {
						return false
					}
				}
				return true
			}, func() string {
				out := ""
				for _, q := range members {
					info, _ := q.c.Group(ctx, g)
					_, fr, cur := protocol.EpochInfo(q.c, g)
					out += fmt.Sprintf("%s: %q %d members, frontier %d, epoch %x; ", q.name, info.Name, len(info.Members), len(fr), cur[:4])
				}
				return out
			})
			if wantName := map[bool]string{true: "g", false: "renamed"}[name == "remove"]; want.Name != wantName || !slices.Contains(want.Members, f.id) ||
				slices.Contains(want.Members, d.id) == (name != "rename") {
				t.Fatalf("converged on %q %d members", want.Name, len(want.Members))
			}
			if snap == 0 {
				t.Fatal("no Welcome sent")
			}
			if protocol.BasedForTest(f.c, g) {
				t.Error("the newcomer still holds the group from its snapshot: the full log did not replace it")
			}
			var texts []string
			for _, q := range members {
				text := "final from " + q.name
				mustSend(t, q, g, text)
				texts = append(texts, text)
			}
			waitTexts(t, tn, g, texts, members...)
		})
	}
}

// TestSecSnapshotActiveMember: a snapshot Welcome never makes a member that holds the
// group re-join it. An admin (here still one; the same holds for one that has since
// left, its Welcome sent just before) signs a fresh add of a current member y and sends
// y a snapshot with a join of a rekey of its choosing: had y joined afresh (it did), y
// would hold the admin's state and seal under an epoch only that admin holds (its
// messages readable by it alone, and by it after it leaves). The re-add waits (y may
// have missed its removal) and y keeps its state; everyone still reads y and y reads them.
func TestSecSnapshotActiveMember(t *testing.T) {
	ctx := context.Background()
	tn := newEpochNet(t, memory.Config{Seed: 33}, 3)
	a, b, y := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, b, y)
	g, err := a.c.CreateGroup(ctx, "snap", "", b.id, y.id)
	must(t, err)
	tn.settle()
	must(t, a.c.AddAdmins(ctx, g, b.id))
	tn.settle()
	waitSameEpoch(tn, g, a, b, y)
	_, _, before := protocol.EpochInfo(y.c, g)
	forged, err := protocol.SnapshotForTest(b.c, g, y.id, nil)
	must(t, err)
	must(t, protocol.SendSnapshotWelcomeForTest(b.c, installationOf(t, y), g, forged))
	tn.settle()
	if _, _, now := protocol.EpochInfo(y.c, g); now != before {
		t.Fatalf("y moved to epoch %x on a snapshot Welcome (was %x)", now[:4], before[:4])
	}
	if protocol.BasedForTest(y.c, g) {
		t.Fatal("y holds the group from the forged snapshot")
	}
	mustSend(t, y, g, "from-y")
	mustSend(t, a, g, "from-a")
	waitTexts(t, tn, g, []string{"from-y", "from-a"}, a, y)
}

package protocol_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/internal/legacyv1"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// newEpochNet returns a test network of n peers whose groups use key schedule v2.
func newEpochNet(t testing.TB, cfg memory.Config, n int) *testNet {
	return newNetWith(t, cfg, n, protocol.WithEpochs(true))
}

// newV1Net returns a test network of n peers whose groups use key schedule v1 (what a
// group created by an older version runs): the tests of v1 internals use it.
func newV1Net(t testing.TB, cfg memory.Config, n int) *testNet {
	return newNetWith(t, cfg, n, protocol.WithKeyScheduleV1(legacyv1.Permit()))
}

func newNetWith(t testing.TB, cfg memory.Config, n int, opts ...protocol.Option) *testNet {
	cfg.History = cfg.HistoryLimit >= 0
	cfg.HistoryLimit = max(cfg.HistoryLimit, 0)
	tn := &testNet{t: t, net: memory.NewNetwork(cfg), opts: opts}
	t.Cleanup(func() {
		for _, p := range tn.peers {
			p.stop()
		}
		tn.net.Close()
	})
	for i := 0; i < n; i++ {
		tn.add(fmt.Sprintf("p%d", i))
	}
	return tn
}

func mustSend(t testing.TB, p *peer, g protocol.GroupID, text string) {
	t.Helper()
	if _, err := p.c.Send(context.Background(), g, protocol.Text(text)); err != nil {
		t.Fatalf("%s: send %q: %v", p.name, text, err)
	}
}

// waitSameEpoch waits until every peer is on the same, non-zero epoch of g. A message sent
// before that may be sealed under an epoch an installation brought in concurrently never
// holds (spec: a newcomer reads from its join on), so tests that expect every peer to read a
// message wait for this first.
func waitSameEpoch(tn *testNet, g protocol.GroupID, ps ...*peer) {
	tn.t.Helper()
	tn.waitFor("same epoch", func() bool {
		_, _, want := protocol.EpochInfo(ps[0].c, g)
		for _, p := range ps {
			if _, _, got := protocol.EpochInfo(p.c, g); got != want || got == (epoch.ID{}) {
				return false
			}
		}
		return true
	}, func() string {
		var out []string
		for _, p := range ps {
			_, f, cur := protocol.EpochInfo(p.c, g)
			out = append(out, fmt.Sprintf("%s: epoch %x frontier %x", p.name, cur[:4], f))
		}
		return strings.Join(out, "; ")
	})
}

// waitTexts waits until each peer has read every text.
func waitTexts(t testing.TB, tn *testNet, g protocol.GroupID, texts []string, ps ...*peer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ps {
		for _, text := range texts {
			for p.texts(g)[text] == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s did not read %q (has %v)", p.name, text, p.texts(g))
				}
				tn.settle(p)
			}
		}
	}
}

func TestEpochsBasic(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 41}, 4)
	a, b, c, d := tn.peers[0], tn.peers[1], tn.peers[2], tn.peers[3]
	tn.connect(a, b, c, d)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "v2", "", b.id, c.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.settle()
	for _, p := range []*peer{a, b, c} {
		if v2, _, cur := protocol.EpochInfo(p.c, g); !v2 || cur == (epoch.ID{}) {
			t.Fatalf("%s: group not under key schedule v2 (v2 %v, epoch %x)", p.name, v2, cur)
		}
	}
	mustSend(t, a, g, "hello-a")
	mustSend(t, b, g, "hello-b")
	mustSend(t, c, g, "hello-c")
	waitTexts(t, tn, g, []string{"hello-a", "hello-b", "hello-c"}, a, b, c)

	// Removal: one key event; c keeps running, reads nothing afterwards.
	if err := a.c.RemoveMembers(ctx, g, c.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, a, g, "post-remove-a")
	mustSend(t, b, g, "post-remove-b")
	waitTexts(t, tn, g, []string{"post-remove-a", "post-remove-b"}, a, b)

	// Add: d reads from its join on.
	if err := a.c.AddMembers(ctx, g, d.id); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, b, g, "post-add-b")
	mustSend(t, d, g, "post-add-d")
	waitTexts(t, tn, g, []string{"post-add-b", "post-add-d"}, a, b, d)
	for text := range d.texts(g) {
		if strings.HasPrefix(text, "hello-") || strings.HasPrefix(text, "post-remove-") {
			t.Errorf("newcomer read %q, sent before its join", text)
		}
	}

	// Leave: b leaves; the designated installation rekeys; b reads nothing afterwards.
	if err := b.c.Leave(ctx, g); err != nil {
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, a, g, "post-leave-a")
	mustSend(t, d, g, "post-leave-d")
	waitTexts(t, tn, g, []string{"post-leave-a", "post-leave-d"}, a, d)
	tn.settle()
	_, _, ea := protocol.EpochInfo(a.c, g)
	_, _, ed := protocol.EpochInfo(d.c, g)
	if ea != ed || ea == (epoch.ID{}) {
		t.Errorf("a and d on different epochs: %x %x", ea, ed)
	}
	if n := protocol.RekeysForTest(a.c) + protocol.RekeysForTest(d.c); n != 1 {
		t.Errorf("%d rekeys after the leave, want 1", n)
	}
	if v2, f, cur := protocol.EpochInfo(b.c, g); !v2 || f != nil || cur != (epoch.ID{}) {
		t.Errorf("the leaver kept a schedule: %v %v %x", v2, f, cur)
	}
	for text := range c.texts(g) {
		if strings.HasPrefix(text, "post-") {
			t.Errorf("removed installation read %q", text)
		}
	}
	for text := range b.texts(g) {
		if strings.HasPrefix(text, "post-leave-") {
			t.Errorf("left installation read %q", text)
		}
	}
}

// TestEpochsDepartedReadNothing: a removed member, a member that left and a revoked
// installation keep running, are fed every publish of the group topic (each one injected
// again after everything else), and read nothing sent under a later epoch.
func TestEpochsDepartedReadNothing(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 43}, 0)
	a, b, c, d := tn.add("a"), tn.add("b"), tn.add("c"), tn.add("d")
	tn.connect(a, b, c, d)
	d1 := tn.link(d, "d.1")
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "v2", "", b.id, c.id, d.id)
	if err != nil {
		t.Fatal(err)
	}
	tn.waitFor("everyone joined", func() bool {
		for _, p := range []*peer{b, c, d, d1} {
			if _, err := p.c.Group(ctx, g); err != nil {
				return false
			}
		}
		return true
	})
	// a created the group before it learnt of d.1 (d had no group when it linked d.1), so d
	// brings d.1 in with a rekey; a message a seals before it applied that rekey is under
	// the creation epoch, which d.1 never holds.
	waitSameEpoch(tn, g, a, b, c, d, d1)
	info, _ := a.c.Group(ctx, g)
	tp := newTapTB(t, tn.net, info.Topic)
	mustSend(t, a, g, "pre-a")
	mustSend(t, d1, g, "pre-d1")
	waitTexts(t, tn, g, []string{"pre-a", "pre-d1"}, a, b, c, d, d1)

	if err := a.c.RemoveMembers(ctx, g, c.id); err != nil { // c removed
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, a, g, "post-remove")
	if err := b.c.Leave(ctx, g); err != nil { // b leaves: the designated installation rekeys
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, d, g, "post-leave")
	if err := d.c.RevokeInstallation(ctx, installationOf(t, d1)); err != nil { // d.1 revoked
		t.Fatal(err)
	}
	tn.settle()
	mustSend(t, a, g, "post-revoke-a")
	mustSend(t, d, g, "post-revoke-d")
	waitTexts(t, tn, g, []string{"post-remove", "post-leave", "post-revoke-a", "post-revoke-d"}, a, d)

	// Feed the departed everything published on the topic, twice.
	for range 2 {
		for _, e := range tp.all() {
			for _, p := range []*peer{b, c, d1} {
				protocol.Inject(p.c, e.Topic, e.Payload)
			}
		}
	}
	tn.settle()
	check := func(p *peer, forbidden ...string) {
		t.Helper()
		got := p.texts(g)
		for _, f := range forbidden {
			if got[f] != 0 {
				t.Errorf("%s read %q, sent after it departed", p.name, f)
			}
		}
	}
	check(c, "post-remove", "post-leave", "post-revoke-a", "post-revoke-d")
	check(b, "post-leave", "post-revoke-a", "post-revoke-d")
	check(d1, "post-revoke-a", "post-revoke-d")
	_, _, ea := protocol.EpochInfo(a.c, g)
	for _, p := range []*peer{b, c, d1} {
		if _, f, cur := protocol.EpochInfo(p.c, g); f != nil || cur == ea {
			t.Errorf("%s holds key schedule state of the group after departing", p.name)
		}
	}
	if _, _, ed := protocol.EpochInfo(d.c, g); ed != ea {
		t.Errorf("a and d on different epochs")
	}
}

// TestEpochsConcurrent: two admins change the membership at the same time (each before
// seeing the other's change); every member converges on the same membership and epoch and
// reads every message sent under it; departed installations read none of them.
func TestEpochsConcurrent(t *testing.T) {
	type ops func(t *testing.T, g protocol.GroupID, p map[string]*peer)
	cases := []struct {
		name   string
		run    ops
		want   []string // members at the end
		gone   []string // installations that must not read the final messages
		others []string // peers outside the group at the start
	}{
		{"remove-remove", func(t *testing.T, g protocol.GroupID, p map[string]*peer) {
			must(t, p["a"].c.RemoveMembers(context.Background(), g, p["c"].id))
			must(t, p["b"].c.RemoveMembers(context.Background(), g, p["d"].id))
		}, []string{"a", "b", "e"}, []string{"c", "d"}, nil},
		{"remove-add", func(t *testing.T, g protocol.GroupID, p map[string]*peer) {
			must(t, p["a"].c.RemoveMembers(context.Background(), g, p["c"].id))
			must(t, p["b"].c.AddMembers(context.Background(), g, p["f"].id))
		}, []string{"a", "b", "d", "e", "f"}, []string{"c"}, []string{"f"}},
		{"add-add", func(t *testing.T, g protocol.GroupID, p map[string]*peer) {
			must(t, p["a"].c.AddMembers(context.Background(), g, p["f"].id))
			must(t, p["b"].c.AddMembers(context.Background(), g, p["h"].id))
		}, []string{"a", "b", "c", "d", "e", "f", "h"}, nil, []string{"f", "h"}},
		{"admin-removes-admin-with-remove", func(t *testing.T, g protocol.GroupID, p map[string]*peer) {
			// An admin cannot remove another admin (causal rules, whatever clock it signs):
			// refused locally; b's concurrent removal of c goes through.
			if err := p["a"].c.RemoveMembers(context.Background(), g, p["b"].id); !errors.Is(err, protocol.ErrNotAdmin) {
				t.Fatalf("admin removing admin: %v", err)
			}
			must(t, p["b"].c.RemoveMembers(context.Background(), g, p["c"].id))
		}, []string{"a", "b", "d", "e"}, []string{"c"}, nil},
		{"leave-add", func(t *testing.T, g protocol.GroupID, p map[string]*peer) {
			must(t, p["b"].c.Leave(context.Background(), g))
			must(t, p["a"].c.AddMembers(context.Background(), g, p["f"].id))
		}, []string{"a", "c", "d", "e", "f"}, []string{"b"}, []string{"f"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := newEpochNet(t, memory.Config{Seed: int64(200 + i)}, 0)
			p := map[string]*peer{}
			var all []*peer
			for _, n := range []string{"a", "b", "c", "d", "e", "f", "h"} {
				var q *peer
				if n == "a" || n == "b" {
					q = tn.addPersistent(n)
				} else if n == "f" && os.Getenv("EPOCH_DEBUG") != "" {
					q = tn.addAt(n, ":memory:", protocol.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("peer", n)))
				} else {
					q = tn.add(n)
				}
				p[n] = q
				all = append(all, q)
			}
			tn.connect(all...)
			ctx := context.Background()
			var initial []string
			for _, n := range []string{"b", "c", "d", "e"} {
				initial = append(initial, p[n].id)
			}
			g, err := p["a"].c.CreateGroup(ctx, "g", "", initial...)
			must(t, err)
			tn.settle()
			must(t, p["a"].c.AddAdmins(ctx, g, p["b"].id))
			tn.settle()
			p["a"].pause()
			p["b"].pause()
			tc.run(t, g, p)
			p["a"].restart()
			p["b"].restart()
			var members []*peer
			for _, n := range tc.want {
				members = append(members, p[n])
			}
			want := make([]string, len(tc.want))
			for i, n := range tc.want {
				want[i] = p[n].id
			}
			tn.waitFor("same membership and epoch", func() bool {
				var ep epoch.ID
				for i, q := range members {
					info, err := q.c.Group(ctx, g)
					if err != nil || info.Status != protocol.GroupActive || len(info.Members) != len(want) {
						return false
					}
					for _, m := range want {
						if !contains(info.Members, m) {
							return false
						}
					}
					_, _, cur := protocol.EpochInfo(q.c, g)
					if cur == (epoch.ID{}) || (i > 0 && cur != ep) {
						return false
					}
					ep = cur
				}
				return true
			}, func() string {
				out := ""
				for _, q := range members {
					info, _ := q.c.Group(ctx, g)
					_, f, cur := protocol.EpochInfo(q.c, g)
					out += fmt.Sprintf("%s: %d members, frontier %d, epoch %x; ", q.name, len(info.Members), len(f), cur[:4])
				}
				return out
			})
			var texts []string
			for _, q := range members {
				text := "final from " + q.name
				mustSend(t, q, g, text)
				texts = append(texts, text)
			}
			waitTexts(t, tn, g, texts, members...)
			for _, n := range tc.gone {
				got := p[n].texts(g)
				for _, text := range texts {
					if got[text] != 0 {
						t.Errorf("%s (departed) read %q", n, text)
					}
				}
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestEpochsCost measures the engine's key schedule v2 costs on the memory transport
// (n = 50 accounts × 1 installation; CHORUS_COST_MEMBERS overrides) and asserts the
// structural ones: a removal is one publish, no speaker's later message grows, a group
// message is one publish.
func TestEpochsCost(t *testing.T) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CHORUS_COST_MEMBERS")); err == nil && v >= 4 {
		n = v
	}
	if testing.Short() {
		n = 10
	}
	tn := newEpochNet(t, memory.Config{Seed: 9}, n+1)
	tn.connect(tn.peers...)
	ctx := context.Background()
	admin, newcomer := tn.peers[0], tn.peers[n]
	members := tn.peers[1:n]
	before := tn.net.Stats()
	g, err := admin.c.CreateGroup(ctx, "cost", "", ids(members...)...)
	must(t, err)
	create := tn.net.Stats()
	tn.settle()
	text := strings.Repeat("x", 100)
	for i := range protocol.HistoryLength { // steady state: every message names 5 history entries
		mustSend(t, members[i%len(members)], g, fmt.Sprint("warm-up ", i))
		tn.settle(members[i%len(members)])
	}
	tn.settle()
	pubs, msgBytes := sendCost(t, tn, members[0], g, text)
	if pubs != 1 || msgBytes > 400 {
		t.Fatalf("group message with 100 B of text: %d publishes, %d bytes (want 1, ≤ 400)", pubs, msgBytes)
	}
	tn.settle()
	// Removal: one publish (event and key block); nobody's next message grows.
	victim := members[len(members)-1]
	b0 := tn.net.Stats()
	start := time.Now()
	must(t, admin.c.RemoveMembers(ctx, g, victim.id))
	removeTime := time.Since(start)
	b1 := tn.net.Stats()
	if p := b1.Publishes - b0.Publishes; p != 1 {
		t.Fatalf("removal: %d publishes", p)
	}
	tn.settle()
	for _, p := range members[:3] {
		pubs, b := sendCost(t, tn, p, g, text)
		if pubs != 1 || b != msgBytes {
			t.Fatalf("%s: first message after the removal: %d publishes, %d bytes (ordinary %d)", p.name, pubs, b, msgBytes)
		}
	}
	tn.settle()
	if victim.texts(g)[text] > 1 {
		t.Fatal("removed member read a message sent after its removal")
	}
	// Add: one publish (event and key block) and one Welcome per new installation.
	a0 := tn.net.Stats()
	must(t, admin.c.AddMembers(ctx, g, newcomer.id))
	a1 := tn.net.Stats()
	tn.settle()
	// Rekey.
	r0 := tn.net.Stats()
	start = time.Now()
	must(t, members[1].c.Rekey(ctx, g))
	rekeyTime := time.Since(start)
	r1 := tn.net.Stats()
	tn.settle()
	_, _, want := protocol.EpochInfo(admin.c, g)
	for _, p := range append([]*peer{admin, newcomer}, members[:len(members)-1]...) {
		if _, _, got := protocol.EpochInfo(p.c, g); got != want {
			t.Fatalf("%s not on the rekey's epoch", p.name)
		}
	}
	t.Logf("v2 engine, %d members x 1: creation %d publishes / %d B; group message with 100 B text %d B; "+
		"removal %d publish / %d B (wall %v incl. store); later messages +0 B; add %d publishes / %d B; "+
		"rekey %d publish / %d B (wall %v incl. store)",
		n, create.Publishes-before.Publishes, create.Bytes-before.Bytes, msgBytes,
		b1.Publishes-b0.Publishes, b1.Bytes-b0.Bytes, removeTime.Round(time.Microsecond),
		a1.Publishes-a0.Publishes, a1.Bytes-a0.Bytes, r1.Publishes-r0.Publishes, r1.Bytes-r0.Bytes, rekeyTime.Round(time.Microsecond))
}

// TestSecKeyBlockAmplification (key schedule v2): a member publishes maximum-size key
// blocks whose every slot carries the victim's hint (tampered copies of a genuine slot):
// the victim tries at most one slot per block and still reads the group. (A member may
// rekey: a rekey whose slot for us does not open leaves our frontier without a seed, which
// our next send heals with a rekey of ours; live epochs keep the others readable.)
func TestSecKeyBlockAmplification(t *testing.T) {
	tn := newEpochNet(t, memory.Config{Seed: 47}, 3)
	a, mallory, victim := tn.peers[0], tn.peers[1], tn.peers[2]
	tn.connect(a, mallory, victim)
	ctx := context.Background()
	g, err := a.c.CreateGroup(ctx, "g", "", mallory.id, victim.id)
	must(t, err)
	tn.settle()
	mustSend(t, mallory, g, "hello") // sessions both ways
	mustSend(t, victim, g, "hi")
	waitTexts(t, tn, g, []string{"hello", "hi"}, a, mallory, victim)
	info, _ := a.c.Group(ctx, g)
	const blocks = 20
	tries := protocol.SlotTries(victim.c)
	for range blocks {
		payload := protocol.ForgedKeyBlock(mallory.c, victim.c, g, protocol.MaxFrame)
		protocol.Inject(victim.c, info.Topic, payload)
	}
	if n := protocol.SlotTries(victim.c) - tries; n > blocks {
		t.Errorf("%d slots tried for %d forged blocks, want at most one each", n, blocks)
	}
	mustSend(t, a, g, "still fine")
	waitTexts(t, tn, g, []string{"still fine"}, victim)
	mustSend(t, victim, g, "victim speaks") // heals its frontier with a rekey first
	waitTexts(t, tn, g, []string{"victim speaks"}, a, mallory)
}

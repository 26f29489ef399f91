package protocol_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestReview8LeaverTakesOverEpoch (review 8): a member that leaves and keeps its
// database (a malicious client: here x's store is copied before its leave and put back
// after, and x reads nothing more) still holds the epoch it left; the heal that follows
// its leave is sealed under that epoch (spec: "What a departed installation reads":
// healing rekeys' frames), so x reads the heal's event id H. x then authors an ordinary
// rekey RX, with prev = {H} and a seed of its choosing in a slot to every member. The
// authority rule refused a departed author's rekey only when its prev named the author's
// own removal (a leave is a MEMBER_REMOVED of itself; H is a rekey): members applied RX,
// which superseded H, so their frontier was {RX} and their current epoch one x computed
// alone. Since auth9 a rekey names its author's membership heads and the rule looks at
// its causal past: H's author had applied x's leave, so every member refuses RX (the test
// asserts frontier and epoch unchanged, RX not applied, no heal). Before review 8's fix the gap RX left
// made members heal before an ordinary message but not before a key event, so an admin's
// add authored while the designated installation was away was sealed under x's epoch and
// x read it. Now a frontier event by a departed author counts as an epoch a departed
// installation may compute (departedMayCompute), so everything is sent after a heal: the
// test asserts that x opens none of the members' later publishes (an add, a text) but
// heals' key blocks.
func TestReview8LeaverTakesOverEpoch(t *testing.T) {
	rec := &pubRecorder{}
	tn := newEpochNet(t, memory.Config{Seed: 802, Tap: rec.tap}, 0)
	ms := []*peer{tn.add("m0"), tn.add("m1"), tn.add("m2")}
	x, d := tn.addPersistent("x"), tn.add("d")
	tn.connect(append(ms, x, d)...)
	ctx := context.Background()
	// The designated installation (smallest id) will be away; the admin is another member.
	slices.SortFunc(ms, func(p, q *peer) int {
		a, b := installationOf(t, p), installationOf(t, q)
		return bytes.Compare(a[:], b[:])
	})
	des, admin, other := ms[0], ms[1], ms[2]
	g := joinedGroup(t, tn, "leaver", admin, des, other, x)
	info, err := admin.c.Group(ctx, g)
	must(t, err)

	// x keeps its database (and so its epochs) as they are before its leave.
	kept := protocol.LiveEpochsForTest(x.c, g)
	x.stop()
	backup := copyStore(t, x.path, t.TempDir())
	x.start(false)
	rec.start()
	must(t, x.c.Leave(ctx, g))
	tn.settle(admin, des, other) // members apply the leave; the designated one heals (H)
	waitSameEpoch(tn, g, admin, des, other)
	if info, err := admin.c.Group(ctx, g); err != nil || slices.Contains(info.Members, x.id) {
		t.Fatalf("precondition: x still a member after its leave (%v)", err)
	}
	_, fH, eH := protocol.EpochInfo(admin.c, g)
	var heal epoch.ID
	leavePubs := rec.stop()
	for _, env := range leavePubs {
		if f := protocol.OpenFrameForTest(kept, g, env.Topic, env.Payload); env.Topic == info.Topic && f.Block != nil && f.Block.Kind == epoch.KindRekey {
			heal = f.Block.Event
		}
	}
	if len(fH) != 1 || fH[0] != heal {
		t.Fatalf("precondition: x does not read the heal's id from its frame (read %x, members' frontier %x)", heal[:4], fH)
	}

	// x comes back with its old database, reading nothing, and rekeys after H.
	x.stop()
	stale, _ := filepath.Glob(x.path + "*")
	for _, f := range stale {
		must(t, os.Remove(f))
	}
	copyStore(t, backup, filepath.Dir(x.path))
	tn.net.SetOffline(x.name, true)
	x.start(false)
	x.pause()
	tn.net.SetOffline(x.name, false)
	protocol.SetRekeyPrevHookForTest(x.c, func(epoch.Frontier) epoch.Frontier { return epoch.Frontier{heal} })
	des.pause() // the designated installation is away
	before := rekeysOf(admin, other)
	must(t, x.c.Rekey(ctx, g))
	tn.settle(admin, other)
	_, fa, ea := protocol.EpochInfo(admin.c, g)
	_, fx, ex := protocol.EpochInfo(x.c, g)
	t.Logf("after x's rekey: admin frontier %x epoch %x (was %x); x frontier %x epoch %x", fa, ea[:4], eH[:4], fx, ex[:4])
	if len(fx) != 1 || fx[0] == heal || ex == eH {
		t.Fatalf("precondition: x did not rekey after the heal (x's frontier %x)", fx)
	}
	// Authority (spec "Authority"): x's rekey names the heal H, whose author had applied
	// x's leave (H's membership heads), so x's departure is in the rekey's causal past:
	// every member refuses it, their frontier stays {H}, and it costs them no heal.
	for _, p := range []*peer{admin, other} {
		if protocol.AppliedKeyEventForTest(p.c, g, fx[0]) {
			t.Errorf("%s applied the rekey x authored after its leave", p.name)
		}
		if _, f, e := protocol.EpochInfo(p.c, g); !slices.Equal(f, fH) || e != eH {
			t.Errorf("%s: frontier %x epoch %x after x's rekey, want the heal's %x %x", p.name, f, e[:4], fH, eH[:4])
		}
	}
	if n := rekeysOf(admin, other) - before; n != 0 {
		t.Errorf("x's rekey after its leave cost the members %d rekeys, want none", n)
	}

	xs := protocol.LiveEpochsForTest(x.c, g)
	rec.start()
	must(t, admin.c.AddMembers(ctx, g, d.id))
	tn.settle(admin, other)
	mustSend(t, other, g, "after x's rekey")
	waitTexts(t, tn, g, []string{"after x's rekey"}, admin)
	for _, env := range rec.stop()[len(leavePubs):] { // the recorder keeps what it recorded before
		if env.Topic != info.Topic {
			continue
		}
		if f := protocol.OpenFrameForTest(xs, g, env.Topic, env.Payload); f.Opened && (f.Block == nil || f.Block.Kind != epoch.KindRekey) {
			t.Errorf("the installation that left opens the admin's later publish (key block %v, message type %#x, %d membership events, %d bytes)",
				f.Block != nil, f.Type, len(f.Events), len(f.Body))
		}
	}
}

// copyStore copies the sqlite files of the store at path (the database and its -wal and
// -shm files, those present) into dir and returns the copy's path.
func copyStore(t *testing.T, path, dir string) string {
	t.Helper()
	files, err := filepath.Glob(path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no store at %s (%v)", path, err)
	}
	base := filepath.Base(path)
	for _, f := range files {
		b, err := os.ReadFile(f)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, base+f[len(path):]), b, 0o600))
	}
	return filepath.Join(dir, base)
}
